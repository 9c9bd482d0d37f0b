package server_test

import (
	"context"
	"fmt"
	"path"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/storage/sqlstore"
)

// focus is the element that has the keyboard's focus, as a test sees it.
type focus struct {
	Tag     string `json:"tag"`
	ID      string `json:"id"`
	Text    string `json:"text"`
	Outline string `json:"outline"`
	Width   string `json:"width"`
	// InDialog tells that it is inside an open dialog.
	InDialog bool `json:"inDialog"`
}

func (f focus) String() string { return fmt.Sprintf("<%s id=%q> %q", f.Tag, f.ID, f.Text) }

// focused returns the focused element.
func (c *chrome) focused() focus {
	c.t.Helper()
	return value(c, "read the focus", chromedp.Evaluate[focus](`(() => {
		const e = document.activeElement, s = getComputedStyle(e);
		return {tag: e.tagName.toLowerCase(), id: e.id, text: ((e.matches("input, select, textarea") ? e.value : e.textContent) || "").trim().slice(0, 80),
			outline: s.outlineStyle, width: s.outlineWidth, inDialog: !!e.closest("dialog[open]")};
	})()`))
}

// press presses the keys, one after the other.
func (c *chrome) press(what, keys string, mods ...chromedp.Modifier) {
	c.t.Helper()
	c.run(what, chromedp.KeyEvent(keys, chromedp.KeyModifiers(mods...)))
}

// tabTo presses Tab (Shift+Tab with back) until the focused element e
// satisfies the JavaScript condition, at most max times. Every element
// the focus lands on must be visibly marked: an outline that is not none.
func (c *chrome) tabTo(cond string, back bool, max int) focus {
	c.t.Helper()
	var mods []chromedp.Modifier
	if back {
		mods = append(mods, chromedp.ModifierShift)
	}
	for range max {
		c.press("Tab to "+cond, kb.Tab, mods...)
		f := c.focused()
		if f.Tag != "body" && f.Tag != "main" && (f.Outline == "none" || f.Width == "0px") {
			c.t.Errorf("the focused %v is not marked: outline %s %s", f, f.Outline, f.Width)
		}
		if value(c, "check the focus", chromedp.Evaluate[bool](`((e) => `+cond+`)(document.activeElement)`)) {
			return f
		}
	}
	c.t.Fatalf("%d presses of Tab did not reach %s (at %v)", max, cond, c.focused())
	return focus{}
}

// TestConsoleKeyboardInChromium proves the console keyboard-operable in
// headless Chromium, on each backend, with key presses only (Tab,
// Shift+Tab, Enter, Space, arrows, Escape; no mouse, no script clicks):
// the shared sessions page opened signed out comes back after sign-in;
// the skip link; the navigation; the users list filtered to "Remote
// Support v5 - Concurrent"; a user's page; on Shared sessions two sessions
// selected with Space (the focus staying put while the list updates by
// itself), End session, the dialog keeping the focus inside, Escape
// closing it and returning the focus to End session, then confirming
// with the keyboard and seeing the result. Every focused element is
// visibly marked.
func TestConsoleKeyboardInChromium(t *testing.T) {
	chromiumPath(t)
	dir := screenshotDir(t)
	onConsole(t, func(t *testing.T, store *sqlstore.Store, h *harness, acct licensing.Account, _ string) {
		setPlan(t, store, licensing.Plan{AccountID: acct.ID, ProductID: rs5, NamedSeats: 5, ConcurrentSeats: 5})
		consoleAdmin(t, store, acct.ID, "ann@example.com", licensing.AllPrivileges...)
		ids := createAgents(t, h, acct.ID, []string{"Ada Moreau", "Ben Okafor", "Chloe Lindqvist", "Dev Patel", "Eun-ji Park"},
			func(i int) licensing.LicenseType {
				if i == 4 {
					return licensing.LicenseNamed
				}
				return licensing.LicenseConcurrent
			})
		for i := range 3 {
			startShared(t, h, acct.Name, fmt.Sprintf("agent%d@example.com", i))
		}
		c := newChrome(t, h.base, dir, path.Base(t.Name()))
		is := func(id string) string { return fmt.Sprintf("e.id === %q", id) }

		// Signed out, the shared sessions page goes to sign-in, and back.
		want := "/console/sessions?product=" + rs5
		c.run("open shared sessions signed out", chromedp.Navigate(h.base+want), c.at("/console/signin"))
		c.tabTo(is("account"), false, 6)
		c.press("type the account", acct.Name) // tabbing into a field selects its text: typing replaces it
		c.tabTo(is("userName"), false, 1)
		c.press("type the user name", "ann@example.com")
		c.tabTo(is("password"), false, 1)
		c.press("type the password", "secret-ann@example.com")
		c.press("send the form", kb.Enter)
		c.run("back on shared sessions", until(fmt.Sprintf(`location.pathname + location.search === %q && document.readyState === "complete"`, want)))

		// The first Tab reaches the skip link, shown when focused.
		if f := c.tabTo(`e.classList.contains("skip")`, false, 1); f.Text != "Skip to content" {
			t.Errorf("the first Tab reached %v", f)
		}
		if top := value(c, "where the skip link is", chromedp.Evaluate[float64](`document.activeElement.getBoundingClientRect().top`)); top < 0 {
			t.Errorf("the focused skip link is off the screen (top %v)", top)
		}
		c.press("skip to content", kb.Enter)
		if f := c.focused(); f.Tag != "main" {
			t.Errorf("the skip link moved the focus to %v, want main", f)
		}

		// Back up into the navigation, to Users.
		c.tabTo(`e.matches('nav a[href="/console/users"]')`, true, 12)
		c.press("open Users", kb.Enter)
		c.run("users", c.at("/console/users"))
		c.tabTo(is("license"), false, 15)
		label := func() string {
			return value(c, "the product chosen", chromedp.Evaluate[string](`document.querySelector("#license").selectedOptions[0].textContent`))
		}
		for range 12 {
			if label() == "Remote Support v5 - Concurrent" {
				break
			}
			c.press("next product choice", kb.ArrowDown)
		}
		if got := label(); got != "Remote Support v5 - Concurrent" {
			t.Fatalf("the arrows did not reach Remote Support v5 - Concurrent: %q", got)
		}
		c.tabTo(`e.matches("form.filters button")`, false, 4)
		c.press("filter", kb.Enter)
		c.run("filtered", until(`location.search.includes("license=`+rs5+`%3Aconcurrent") && document.readyState === "complete"`))
		if n := value(c, "count rows", chromedp.Evaluate[int](`document.querySelectorAll("table.users tbody tr").length`)); n != 4 {
			t.Errorf("Remote Support v5 - Concurrent lists %d users, want 4", n)
		}
		c.tabTo(`e.textContent === "agent0@example.com"`, false, 20)
		c.press("open Ada", kb.Enter)
		c.run("Ada's page", c.at("/console/users/"+ids["Ada"]))
		if got := c.text("main h1"); got != "agent0@example.com" {
			t.Errorf("Ada's page is titled %q", got)
		}

		// Shared sessions: two selected with Space.
		c.tabTo(`e.matches('nav a[href="/console/sessions"]')`, false, 8)
		c.press("open Shared sessions", kb.Enter)
		c.run("shared sessions", c.at("/console/sessions"), until(`document.querySelectorAll("#seats tbody tr").length === 3`))
		box := func(name string) string { return "seat-" + rs5 + ":" + ids[name] }
		checked := func() string {
			return value(c, "read the checked", chromedp.Evaluate[string](`[...document.querySelectorAll('#seats input[name="id"]:checked')].map((b) => b.id).join(" ")`))
		}
		c.tabTo(is(box("Ada")), false, 15)
		c.press("select Ada", " ")
		// The list updates by itself; the focus and the selection stay.
		startShared(t, h, acct.Name, "agent3@example.com")
		c.run("Dev appears", until(`document.querySelectorAll("#seats tbody tr").length === 4`))
		if f := c.focused(); f.ID != box("Ada") {
			t.Errorf("after the list updated the focus is on %v, want Ada's checkbox", f)
		}
		c.tabTo(is(box("Ben")), false, 3)
		c.press("select Ben", " ")
		if got := checked(); got != box("Ada")+" "+box("Ben") {
			t.Fatalf("checked: %q, want Ada's and Ben's", got)
		}

		// End session: the dialog holds the focus; Escape gives it back.
		c.tabTo(is("end-button"), false, 8)
		c.press("End session", kb.Enter)
		c.run("the dialog opens", until(`document.querySelector("#end-dialog").open`))
		if f := c.focused(); f.ID != "end-cancel" || !f.InDialog {
			t.Errorf("the dialog opened with the focus on %v, want Cancel", f)
		}
		if got := c.text("#end-dialog"); !strings.Contains(got, "2 shared sessions of Remote Support v5 will end, those of:") ||
			!strings.Contains(got, "Ada Moreau") || !strings.Contains(got, "Ben Okafor") || strings.Contains(got, "Chloe") || strings.Contains(got, "Dev") {
			t.Errorf("the dialog says %q", got)
		}
		for _, back := range []bool{false, true} {
			for range 5 {
				if f := c.tabTo("true", back, 1); !f.InDialog {
					t.Fatalf("Tab (back %v) left the open dialog for %v", back, f)
				}
			}
		}
		c.press("Escape", kb.Escape)
		c.run("the dialog closes", until(`!document.querySelector("#end-dialog").open`))
		if f := c.focused(); f.ID != "end-button" {
			t.Errorf("after Escape the focus is on %v, want End session", f)
		}
		if got := checked(); got != box("Ada")+" "+box("Ben") {
			t.Errorf("Escape changed the selection: %q", got)
		}
		c.press("End session again", kb.Enter)
		c.run("the dialog opens again", until(`document.querySelector("#end-dialog").open`))
		if f := c.tabTo(is("end-confirm"), true, 2); f.Text != "End 2 sessions" {
			t.Errorf("the dialog's confirmation reads %q", f.Text)
		}
		c.noOverflow("the dialog at 1280 px")
		c.shot("19-sessions-dialog")
		c.press("confirm", kb.Enter)
		c.run("the answer", c.at("/console/sessions/end"), chromedp.WaitVisible(chromedp.CSS(".notice .results")))
		if got := c.text("main .notice"); !strings.Contains(got, "2 seats freed.") || !strings.Contains(got, "Ada Moreau: Ended 1 session") ||
			!strings.Contains(got, "Ben Okafor: Ended 1 session") {
			t.Errorf("the answer says %q", got)
		}
		if got := c.text("#occupied"); got != "2 of 5 shared seats occupied" {
			t.Errorf("after ending two the count says %q", got)
		}
	})
}

// TestConsoleNoScriptInChromium proves that ending shared sessions works
// in Chromium with JavaScript disabled: End session goes to the
// server-rendered confirmation naming the agents, whose button ends them.
func TestConsoleNoScriptInChromium(t *testing.T) {
	chromiumPath(t)
	dir := screenshotDir(t)
	onConsole(t, func(t *testing.T, store *sqlstore.Store, h *harness, acct licensing.Account, _ string) {
		setPlan(t, store, licensing.Plan{AccountID: acct.ID, ProductID: rs5, ConcurrentSeats: 5})
		consoleAdmin(t, store, acct.ID, "ann@example.com", licensing.AllPrivileges...)
		ids := createAgents(t, h, acct.ID, []string{"Ada Moreau", "Ben Okafor", "Chloe Lindqvist"},
			func(int) licensing.LicenseType { return licensing.LicenseConcurrent })
		for i := range 3 {
			startShared(t, h, acct.Name, fmt.Sprintf("agent%d@example.com", i))
		}
		c := newChrome(t, h.base, dir, path.Base(t.Name()))
		c.run("disable JavaScript", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
			return err
		}))
		c.signIn(acct.Name, "ann@example.com", "secret-ann@example.com")
		c.run("open shared sessions", chromedp.Navigate(h.base+"/console/sessions"), c.at("/console/sessions"))
		if got := c.text("#seats tbody time"); !strings.HasSuffix(got, " UTC") {
			t.Errorf("without JavaScript a time shows %q, want UTC", got)
		}
		if hidden := value(c, "the select-all box", chromedp.Evaluate[bool](`document.querySelector("#select-all").hidden`)); !hidden {
			t.Errorf("without JavaScript the select-all box, which needs it, is shown")
		}
		c.run("select Ada and Ben, End session",
			chromedp.Click(chromedp.CSS(`#seat-`+rs5+`\:`+ids["Ada"])),
			chromedp.Click(chromedp.CSS(`#seat-`+rs5+`\:`+ids["Ben"])),
			chromedp.Click(chromedp.CSS("button.end")),
			c.at("/console/sessions/end"))
		if got := c.text("main h1"); got != "End shared sessions?" {
			t.Fatalf("End session without JavaScript showed %q", got)
		}
		if got := c.text("main form"); !strings.Contains(got, "2 shared sessions of Remote Support v5 will end, those of:") ||
			!strings.Contains(got, "Ada Moreau (ada@example.com)") || !strings.Contains(got, "Ben Okafor (ben@example.com)") || strings.Contains(got, "Chloe") {
			t.Errorf("the confirmation says %q", got)
		}
		c.noOverflow("the confirmation at 1280 px")
		c.shot("18-sessions-confirm-nojs")
		c.run("confirm", chromedp.Click(chromedp.CSS("main form button")), c.at("/console/sessions/end"), chromedp.WaitVisible(chromedp.CSS(".notice .results")))
		if got := c.text("main .notice"); !strings.Contains(got, "2 seats freed.") {
			t.Errorf("the answer says %q", got)
		}
		if got := c.text("#occupied"); got != "1 of 5 shared seats occupied" {
			t.Errorf("after ending two the count says %q", got)
		}
		c.run("narrow window", chromedp.EmulateViewport(390, 844), chromedp.Navigate(h.base+"/console/sessions"), c.at("/console/sessions"))
		c.run("select Chloe, End session", chromedp.Click(chromedp.CSS(`#seat-`+rs5+`\:`+ids["Chloe"])), chromedp.Click(chromedp.CSS("button.end")),
			c.at("/console/sessions/end"))
		c.noOverflow("the confirmation at 390 px")
		c.shot("24-sessions-confirm-nojs-390px")
	})
}
