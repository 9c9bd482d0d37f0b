package server_test

import (
	"fmt"
	"net/http"
	"path"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/storage/sqlstore"
)

// createAgents makes, over the admin API, an agent of each name ("Given
// Family"): userName agent<i>@example.com, email <given>@example.com,
// password secret-<userName>, holding Remote Support v5 as license(i)
// says. It returns their ids by given name.
func createAgents(t *testing.T, h *harness, accountID string, names []string, license func(i int) licensing.LicenseType) map[string]string {
	t.Helper()
	tok := h.adminToken(t, accountID, licensing.PrivUsers, licensing.PrivProducts)
	ids := map[string]string{}
	for i, name := range names {
		given, family, _ := strings.Cut(name, " ")
		products := "{}"
		if l := license(i); l != licensing.LicenseNone {
			products = fmt.Sprintf(`{%q:%q}`, rs5, l)
		}
		body := fmt.Sprintf(`{"userName":"agent%d@example.com","name":{"givenName":%q,"familyName":%q},"email":"%s@example.com","password":"secret-agent%d@example.com","products":%s}`,
			i, given, family, strings.ToLower(given), i, products)
		status, answer := h.admin(t, tok, "POST", "/users", body)
		if status != http.StatusCreated {
			t.Fatalf("create %s: %d %v", name, status, answer)
		}
		ids[given] = answer["id"].(string)
	}
	return ids
}

// TestConsoleSessionsInChromium drives the shared sessions page and the
// user page in headless Chromium, on each backend: the page updates by
// itself as agents start sessions through the agent API; two selected,
// End session confirmed in the dialog, the result and the seats freed,
// the agents' next call answering 410; times in the browser's time zone;
// named licenses granted on the user page until the quota refuses in the
// form, keeping the license chosen; no horizontal overflow at 1280 and
// 390 px; the open page going to sign-in by itself when its admin is
// deactivated over SCIM.
func TestConsoleSessionsInChromium(t *testing.T) {
	chromiumPath(t)
	dir := screenshotDir(t)
	onConsole(t, func(t *testing.T, store *sqlstore.Store, h *harness, acct licensing.Account, scimBearer string) {
		setPlan(t, store, licensing.Plan{AccountID: acct.ID, ProductID: rs5, NamedSeats: 2, ConcurrentSeats: 5})
		ann := consoleAdmin(t, store, acct.ID, "ann@example.com", licensing.AllPrivileges...)
		ids := createAgents(t, h, acct.ID, []string{"Ada Moreau", "Ben Okafor", "Chloe Lindqvist", "Ida Berg", "Jon Sato", "Kai Nowak"},
			func(i int) licensing.LicenseType {
				if i >= 3 {
					return licensing.LicenseNone
				}
				return licensing.LicenseConcurrent
			})
		c := newChrome(t, h.base, dir, path.Base(t.Name()))
		c.signIn(acct.Name, "ann@example.com", "secret-ann@example.com")
		c.run("open shared sessions", chromedp.Navigate(h.base+"/console/sessions"), c.at("/console/sessions"))
		if got := c.text("#seats .notice"); !strings.Contains(got, "No agent occupies a shared seat of Remote Support v5 now.") {
			t.Errorf("the empty list says %q", got)
		}

		// Agents start sessions over the agent API: the page follows.
		bearers, sessions := map[string]string{}, map[string]string{}
		for i, name := range []string{"Ada", "Ben", "Chloe"} {
			bearers[name], sessions[name] = startShared(t, h, acct.Name, fmt.Sprintf("agent%d@example.com", i))
			c.run(name+" appears by itself", until(fmt.Sprintf(`document.querySelectorAll("#seats tbody tr").length === %d`, i+1)))
		}
		if got := c.text("#occupied"); got != "3 of 5 shared seats occupied" {
			t.Errorf("the count says %q", got)
		}
		if got := c.text("#seats tbody time"); strings.HasSuffix(got, "UTC") || got == "" {
			t.Errorf("a time is not shown in the browser's time zone: %q", got)
		}
		c.noOverflow("the shared sessions page at 1280 px")
		c.shot("13-sessions")

		c.run("select all", chromedp.Click(chromedp.CSS("#select-all")))
		if n := value(c, "count checked", chromedp.Evaluate[int](`document.querySelectorAll('#seats tbody input:checked').length`)); n != 3 {
			t.Errorf("select all checked %d of 3", n)
		}
		c.run("select none", chromedp.Click(chromedp.CSS("#select-all")))

		// Select two, End session, confirm in the dialog.
		c.run("select Ada and Ben and end their sessions",
			chromedp.Click(chromedp.CSS(`#seat-`+rs5+`\:`+ids["Ada"])),
			chromedp.Click(chromedp.CSS(`#seat-`+rs5+`\:`+ids["Ben"])),
			chromedp.Click(chromedp.CSS("button.end")), chromedp.WaitVisible(chromedp.CSS("#end-dialog")))
		if got := c.text("#end-dialog"); !strings.Contains(got, "2 shared sessions of Remote Support v5 will end, those of:") ||
			!strings.Contains(got, "Ada Moreau") || !strings.Contains(got, "Ben Okafor") || strings.Contains(got, "Chloe") {
			t.Errorf("the confirmation dialog says %q", got)
		}
		c.run("confirm", chromedp.Click(chromedp.CSS("#end-confirm")), c.at("/console/sessions/end"), chromedp.WaitVisible(chromedp.CSS(".notice .results")))
		if got := c.text("main .notice"); !strings.Contains(got, "2 seats freed.") || strings.Count(got, "Ended 1 session; the seat is free.") != 2 {
			t.Errorf("the answer says %q", got)
		}
		if got := c.text("#occupied"); got != "1 of 5 shared seats occupied" {
			t.Errorf("after ending two the count says %q", got)
		}
		c.shot("14-sessions-ended")
		for name, want := range map[string]int{"Ada": http.StatusGone, "Ben": http.StatusGone, "Chloe": http.StatusOK} {
			if status, answer := agentCall(t, h, "POST", "/sessions/"+sessions[name]+"/heartbeat", bearers[name], ""); status != want {
				t.Errorf("%s's next call: %d %v, want %d", name, status, answer, want)
			}
		}

		// The answer's page goes on updating by itself.
		startShared(t, h, acct.Name, "agent0@example.com")
		c.run("Ada's new session appears on the answer", until(`document.querySelectorAll("#seats tbody tr").length === 2`))

		// 26 minutes without input later, the page stops using the session.
		c.run("let 26 minutes pass", chromedp.Evaluate[chromedp.Void](`(() => { const now = Date.now(); Date.now = () => now + 26*60*1000; })()`))
		startShared(t, h, acct.Name, "agent1@example.com")
		c.run("live updates pause", until(`(document.querySelector("#seats .notice")?.textContent || "").includes("Live updates paused")`))
		if n := value(c, "count rows", chromedp.Evaluate[int](`document.querySelectorAll("#seats tbody tr").length`)); n != 2 {
			t.Errorf("a paused page shows %d rows, want the 2 it had", n)
		}

		// The user page: named licenses until the quota refuses.
		for _, name := range []string{"Ida", "Jon", "Kai"} {
			c.run("grant "+name+" a named license",
				chromedp.Navigate(h.base+"/console/users/"+ids[name]), c.at("/console/users/"+ids[name]),
				chromedp.SetValue(chromedp.CSS("#license-"+rs5), "named"),
				chromedp.Click(chromedp.CSS(`form[action$="/products/`+rs5+`"] button`)),
				until(`document.readyState === "complete" && !!document.querySelector(".notice, .error")`))
		}
		if got := c.text("#error-" + rs5); got != "No named license left for Remote Support v5: 2 of 2 assigned. Not saved: the license is still None." {
			t.Errorf("the third named license shows %q", got)
		}
		if got := value(c, "the license chosen", chromedp.Evaluate[string](`document.querySelector("#license-`+rs5+`").value`)); got != "named" {
			t.Errorf("after the refusal the form shows %q, want the named license the admin chose", got)
		}
		c.noOverflow("the user page at 1280 px")
		c.shot("15-user-named-quota")

		c.run("narrow window", chromedp.EmulateViewport(390, 844), chromedp.Navigate(h.base+"/console/sessions"), c.at("/console/sessions"),
			chromedp.WaitVisible(chromedp.CSS("#seats tbody tr")))
		c.noOverflow("the shared sessions page at 390 px")
		c.shot("16-sessions-390px")
		c.run("the dialog at 390 px", chromedp.Click(chromedp.CSS(`#seats tbody input[name="id"]`)), chromedp.Click(chromedp.CSS("button.end")),
			chromedp.WaitVisible(chromedp.CSS("#end-dialog")))
		if fits := value(c, "measure the dialog", chromedp.Evaluate[bool](`(() => { const r = document.querySelector("#end-dialog").getBoundingClientRect();
			return r.left >= 0 && r.right <= window.innerWidth; })()`)); !fits {
			t.Errorf("the dialog does not fit a 390 px window")
		}
		c.noOverflow("the shared sessions page with its dialog at 390 px")
		c.shotWindow("25-sessions-dialog-390px")
		c.run("cancel", chromedp.Click(chromedp.CSS("#end-cancel")), until(`!document.querySelector("#end-dialog").open`))
		c.run("user page at 390 px", chromedp.Navigate(h.base+"/console/users/"+ids["Ida"]), c.at("/console/users/"+ids["Ida"]))
		c.noOverflow("the user page at 390 px")
		c.shot("17-user-390px")

		// Deactivated over SCIM, the admin's open page goes to sign-in by
		// itself, to come back after it.
		c.run("open shared sessions", chromedp.Navigate(h.base+"/console/sessions?product="+rs5), c.at("/console/sessions"))
		if status, raw, _ := scimCall(t, h, scimBearer, "PATCH", "/Users/"+ann.ID,
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`); status != http.StatusOK {
			t.Fatalf("deactivate over SCIM: %d %s", status, raw)
		}
		// (Polled, as the page navigates by itself.)
		c.run("the page goes to sign-in, saying why", c.at("/console/signin"),
			until(`document.querySelector(".notice")?.textContent === "Your session ended. Sign in again."`))
		if next := value(c, "the page to come back to", chromedp.Evaluate[string](`document.querySelector('input[name="next"]').value`)); !strings.HasPrefix(next, "/console/sessions?") {
			t.Errorf("sign-in would return to %q, want the shared sessions page", next)
		}
	})
}
