package server_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
)

// chromiumPath returns Debian's Chromium. Without it the browser tests
// skip, saying so; under CI=true they fail (.ci/run installs it).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("CI=true but chromium is not installed: the console's browser tests must run (apt-get install -y chromium; .ci/run does)")
	}
	t.Skip("chromium is not installed: skipping the console's browser tests (apt-get install chromium to run them)")
	return ""
}

// screenshotDir is where the browser tests write their screenshots:
// $SCIMD_SCREENSHOTS, or a temporary folder.
func screenshotDir(t *testing.T) string {
	if d := os.Getenv("SCIMD_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// chrome is a headless Chromium tab driven by a test.
type chrome struct {
	t    *testing.T
	ctx  context.Context
	base string
	dir  string
	// prefix names the screenshots of one run (the backend).
	prefix string
}

func newChrome(t *testing.T, base, dir, prefix string) *chrome {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox, // containers and root: Chromium's sandbox needs namespaces they lack
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	// The first run starts the browser, which lives as long as ctx: no
	// timeout on it, only on each step after it.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return &chrome{t: t, ctx: ctx, base: base, dir: dir, prefix: prefix}
}

// stepTimeout bounds each step of a test in the browser.
const stepTimeout = 30 * time.Second

// run runs the actions, failing the test (with what) if one fails.
func (c *chrome) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		c.t.Fatalf("%s: %v", what, err)
	}
}

// value runs the action and returns its value, failing the test if it
// fails.
func value[T any](c *chrome, what string, a chromedp.Action[T]) T {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		c.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// at waits until the tab shows the path, its page loaded.
func (c *chrome) at(path string) chromedp.Action[chromedp.Void] {
	return until(fmt.Sprintf(`location.pathname === %q && document.readyState === "complete"`, path))
}

// until waits until the JavaScript condition holds, across the
// navigations that interrupt an evaluation (a form sent, a redirect).
func until(cond string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for {
			ok, err := chromedp.Evaluate[bool](cond)(ctx, t)
			if err == nil && ok {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("waiting for %s: %w (last: %v)", cond, ctx.Err(), err)
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
}

// text returns the text of the first visible element the CSS selector
// finds.
func (c *chrome) text(sel string) string {
	c.t.Helper()
	return value(c, "text of "+sel, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
}

// shot writes a screenshot of the whole page as <prefix>-<name>.png.
func (c *chrome) shot(name string) {
	c.t.Helper()
	c.save(name, chromedp.FullScreenshot(100))
}

// shotWindow writes a screenshot of the window only (a modal dialog's
// backdrop covers the window, not the whole page).
func (c *chrome) shotWindow(name string) {
	c.t.Helper()
	c.save(name, chromedp.CaptureScreenshot())
}

func (c *chrome) save(name string, a chromedp.Action[[]byte]) {
	c.t.Helper()
	png := value(c, "screenshot "+name, a)
	if err := os.WriteFile(filepath.Join(c.dir, c.prefix+"-"+name+".png"), png, 0o644); err != nil {
		c.t.Fatal(err)
	}
}

// signIn fills the sign-in form and sends it, from a fresh form.
func (c *chrome) signIn(account, userName, pw string) {
	c.t.Helper()
	c.run("sign in as "+userName,
		chromedp.Navigate(c.base+"/console/signin"), c.at("/console/signin"),
		chromedp.SetValue(chromedp.CSS("#account"), account),
		chromedp.SetValue(chromedp.CSS("#userName"), userName),
		chromedp.SetValue(chromedp.CSS("#password"), pw),
		chromedp.Click(chromedp.CSS("form.card button")),
		until(`document.readyState === "complete" && !document.querySelector("#password")?.value`),
	)
}

// noOverflow fails unless the page fits the window's width.
func (c *chrome) noOverflow(what string) {
	c.t.Helper()
	widths := value(c, "measure "+what, chromedp.Evaluate[[]int](`[document.documentElement.scrollWidth, window.innerWidth]`))
	if len(widths) != 2 || widths[0] > widths[1] {
		c.t.Errorf("%s overflows horizontally: scrollWidth and innerWidth %v", what, widths)
	}
}

// TestConsoleInChromium drives the console in headless Chromium against
// a real scimd, on each backend: a wrong password refused and then
// throttled, sign-in, the users list filtered to "Service Desk -
// Concurrent", the products page, a plan change, a SCIM token made on the
// Connect page, a POST without
// its CSRF token refused with nothing changed, a deactivated admin thrown
// out, sign-out, and no horizontal overflow at 390 px. It writes a
// screenshot of each page.
func TestConsoleInChromium(t *testing.T) {
	chromiumPath(t)
	dir := screenshotDir(t)
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			store := b.Open(t)
			h := consoleHarness(t, store, licensing.SystemClock{}, licensing.SignInPolicy{UserFailures: 2, FirstDelay: time.Hour})
			acct, scimBearer := h.account(t)
			ctx := context.Background()
			for _, p := range []licensing.Plan{
				{AccountID: acct.ID, ProductID: rs5, NamedSeats: 10, ConcurrentSeats: 10},
				{AccountID: acct.ID, ProductID: "remote-support-v4", NamedSeats: 5, ConcurrentSeats: 2},
				{AccountID: acct.ID, ProductID: "service-desk", NamedSeats: 0, ConcurrentSeats: 2},
			} {
				if err := store.SetPlan(ctx, p); err != nil {
					t.Fatal(err)
				}
			}
			ann := consoleAdmin(t, store, acct.ID, "ann@example.com", licensing.AllPrivileges...)
			consoleAdmin(t, store, acct.ID, "eve@example.com", licensing.PrivRead)
			admTok := h.adminToken(t, acct.ID, licensing.PrivUsers, licensing.PrivProducts)
			names := []string{"Ada Moreau", "Ben Okafor", "Chloe Lindqvist", "Dev Patel", "Eun-ji Park", "Farid Haddad", "Grace Ito"}
			var agentIDs []string
			for i, name := range names {
				given, family, _ := strings.Cut(name, " ")
				products := `{"` + rs5 + `":"named"}`
				if i < 5 {
					products = `{"` + rs5 + `":"named","service-desk":"concurrent"}`
				}
				body := fmt.Sprintf(`{"userName":"agent%d@example.com","name":{"givenName":%q,"familyName":%q},"email":"%s@example.com","password":"secret-agent%d@example.com","products":%s}`,
					i, given, family, strings.ToLower(given), i, products)
				status, answer := h.admin(t, admTok, "POST", "/users", body)
				if status != http.StatusCreated {
					t.Fatalf("create agent %d: %d %v", i, status, answer)
				}
				agentIDs = append(agentIDs, answer["id"].(string))
			}
			// Two agents take the two shared seats of Service Desk.
			for i := range 2 {
				bearer, _ := signIn(t, h, acct.Name, fmt.Sprintf("agent%d@example.com", i))
				if status, answer := agentCall(t, h, "POST", "/sessions", bearer, `{"product":"service-desk","platform":"windows"}`); status != http.StatusCreated {
					t.Fatalf("agent %d starts a session: %d %v", i, status, answer)
				}
			}
			c := newChrome(t, h.base, dir, b.Name)

			c.run("open the console", chromedp.Navigate(h.base+"/console"), c.at("/console/signin"))
			c.shot("01-signin")

			c.signIn(acct.Name, "ann@example.com", "not her password")
			if got := c.text(".error"); !strings.Contains(got, "The account, user name or password is wrong.") {
				t.Fatalf("wrong password answered %q", got)
			}
			c.shot("02-signin-refused")
			for range 4 { // two free failures, the third blocks, the fourth is refused unchecked
				c.signIn(acct.Name, "eve@example.com", "a guess")
			}
			if got := c.text(".error"); !strings.Contains(got, "Too many failed sign-ins") {
				t.Fatalf("the fourth failure in a row answered %q, want the throttle", got)
			}
			c.signIn(acct.Name, "eve@example.com", "secret-eve@example.com")
			if got := c.text(".error"); !strings.Contains(got, "Too many failed sign-ins") {
				t.Fatalf("a throttled user signed in with the right password: %q", got)
			}
			c.shot("03-signin-throttled")

			c.signIn(acct.Name, "ann@example.com", "secret-ann@example.com")
			c.run("land on the users page", c.at("/console/users"))
			c.run("filter Service Desk - Concurrent",
				chromedp.SetValue(chromedp.CSS("#license"), "service-desk:concurrent"),
				chromedp.Click(chromedp.CSS("form.filters button")),
				until(`location.search.includes("license=service-desk") && document.readyState === "complete"`))
			if n := value(c, "count rows", chromedp.Evaluate[int](`document.querySelectorAll("table.users tbody tr").length`)); n != 5 {
				t.Errorf("Service Desk - Concurrent lists %d users, want 5", n)
			}
			if got := c.text("table.users tbody tr"); !strings.Contains(got, "Ada Moreau") || !strings.Contains(got, "ada@example.com") ||
				!strings.Contains(got, "Service Desk - Concurrent") || !strings.Contains(got, "Remote Support v5 - Named") {
				t.Errorf("a listed user shows %q", got)
			}
			c.noOverflow("the users page at 1280 px")
			c.shot("04-users-filtered")

			c.run("open the products page", chromedp.Click(chromedp.CSS(`nav a[href="/console/products"]`)), c.at("/console/products"))
			if got := c.text("main h1"); got != "Products and plan" {
				t.Fatalf("after sign-in the page says %q", got)
			}
			if got := c.text("main .product"); !strings.Contains(got, "7 of 10 assigned") {
				t.Errorf("Remote Support v5 shows %q", got)
			}
			if got := c.text("main .product:last-child"); !strings.Contains(got, "2 of 2 occupied, 0 waiting") || !strings.Contains(got, "None in the plan") {
				t.Errorf("Service Desk shows %q", got)
			}
			c.noOverflow("the products page at 1280 px")
			c.shot("05-products")

			// A plan change through the form.
			c.run("change the plan",
				chromedp.SetValue(chromedp.CSS("#named-"+rs5), "12"),
				chromedp.Click(chromedp.CSS(`form[action="/console/products/`+rs5+`/plan"] button`)),
				c.at("/console/products"), chromedp.WaitVisible(chromedp.CSS(".notice")))
			if got := c.text("main .product"); !strings.Contains(got, "7 of 12 assigned") {
				t.Errorf("after the plan change Remote Support v5 shows %q", got)
			}
			c.shot("06-plan-changed")

			// The same form without its CSRF token: 403, nothing changed.
			c.run("post without a CSRF token",
				chromedp.Evaluate[chromedp.Void](`(() => { const f = document.querySelector('form[action="/console/products/`+rs5+`/plan"]');
					f.querySelector('input[name=csrf]').remove(); f.querySelector('input[name=namedSeats]').value = "40"; f.submit(); })()`),
				c.at("/console/products/"+rs5+"/plan"))
			if got := c.text("main h1"); got != "Forbidden" {
				t.Errorf("a POST without its CSRF token showed %q", got)
			}
			if us, err := store.Usage(ctx, acct.ID); err != nil || us[0].ProductID != rs5 && us[1].ProductID != rs5 {
				t.Fatalf("usage: %v %v", us, err)
			} else {
				for _, u := range us {
					if u.ProductID == rs5 && u.NamedSeats != 12 {
						t.Errorf("a POST without its CSRF token changed the plan: %+v", u)
					}
				}
			}
			c.shot("07-csrf-refused")

			// Connect an identity provider: a SCIM token, shown once.
			c.run("make a SCIM token", chromedp.Click(chromedp.CSS(`nav a[href="/console/connect"]`)), c.at("/console/connect"),
				chromedp.SetValue(chromedp.CSS("#name"), "entra"), chromedp.Click(chromedp.CSS(`form[action="/console/connect/token"] button`)),
				c.at("/console/connect/token"), chromedp.WaitVisible(chromedp.CSS("#token")))
			if tok := value(c, "read the token", chromedp.Evaluate[string](`document.querySelector("#token").value`)); !strings.HasPrefix(tok, "scimd_") {
				t.Errorf("the SCIM token shown is %q", tok)
			}
			c.noOverflow("the connect page at 1280 px")
			c.shot("08-connect-token")

			// Licensed through a group: Tier 2 gives Remote Support v4
			// named (5 seats) and Service Desk concurrent; the sixth and
			// seventh agents to join wait for a named seat, in line.
			var members []string
			for _, id := range agentIDs[:5] {
				members = append(members, `{"value":"`+id+`"}`)
			}
			status, raw, group := scimCall(t, h, scimBearer, "POST", "/Groups", `{`+groupSchema+`,"displayName":"Tier 2","members":[`+strings.Join(members, ",")+`],
				"urn:ietf:params:scim:schemas:extension:licensing:2.0:Group":{"remoteSupportV4":"named","serviceDesk":"concurrent"}}`)
			if status != http.StatusCreated {
				t.Fatalf("SCIM POST /Groups: %d %s", status, raw)
			}
			for _, id := range agentIDs[5:] {
				if status, raw, _ := scimCall(t, h, scimBearer, "PATCH", "/Groups/"+group["id"].(string), `{`+patchSchema+`,
					"Operations":[{"op":"add","path":"members","value":[{"value":"`+id+`"}]}]}`); status != http.StatusOK {
					t.Fatalf("SCIM PATCH add member: %d %s", status, raw)
				}
			}
			c.run("open Grace Ito's page", chromedp.Navigate(h.base+"/console/users/"+agentIDs[6]), c.at("/console/users/"+agentIDs[6]))
			if got := c.text("table.licenses"); !strings.Contains(got, "Named: waiting for a named seat (2nd in line), through Tier 2") ||
				!strings.Contains(got, "Concurrent, through Tier 2") || !strings.Contains(got, "Named, direct") {
				t.Errorf("Grace Ito's licenses in force show %q", got)
			}
			c.run("follow the group's link", chromedp.Click(chromedp.CSS(`table.licenses a[href^="/console/groups/"]`)), c.at("/console/groups/"+group["id"].(string)),
				chromedp.Click(chromedp.CSS(`main a[href^="/console/users?group="]`)), c.at("/console/users"))
			if got := c.text("main .notice"); !strings.Contains(got, "Members of the group Tier 2") {
				t.Errorf("the group's link shows %q", got)
			}
			if n := value(c, "count members", chromedp.Evaluate[int](`document.querySelectorAll("table.users tbody tr").length`)); n != 7 {
				t.Errorf("Tier 2 lists %d members, want 7", n)
			}
			c.run("back to Grace Ito's page", chromedp.Navigate(h.base+"/console/users/"+agentIDs[6]), c.at("/console/users/"+agentIDs[6]))
			c.noOverflow("the user page with inherited licenses at 1280 px")
			c.shot("26-user-inherited")
			c.run("products with group licenses", chromedp.Navigate(h.base+"/console/products"), c.at("/console/products"))
			if got := c.text("main .product:nth-child(2)"); !strings.Contains(got, "5 of 5 assigned") || !strings.Contains(got, "5 through groups, 2 waiting for a named seat") {
				t.Errorf("Remote Support v4 shows %q", got)
			}
			c.shot("27-products-groups")

			// A phone: 390 px wide, no horizontal overflow.
			c.run("narrow window", chromedp.EmulateViewport(390, 844), chromedp.Navigate(h.base+"/console/products"), c.at("/console/products"))
			c.noOverflow("the products page at 390 px")
			c.shot("09-products-390px")
			c.run("users at 390 px", chromedp.Navigate(h.base+"/console/users?license=service-desk:concurrent"), c.at("/console/users"))
			c.noOverflow("the users page at 390 px")
			c.shot("10-users-390px")

			// Deactivated over the admin API, the admin is thrown out.
			if status, answer := h.admin(t, admTok, "PATCH", "/users/"+ann.ID, `{"active":false}`); status != http.StatusOK {
				t.Fatalf("deactivate: %d %v", status, answer)
			}
			c.run("reload as a deactivated admin", chromedp.Reload(), c.at("/console/signin"))
			if got := c.text(".notice"); !strings.Contains(got, "Your session ended") {
				t.Errorf("a deactivated admin was shown %q", got)
			}
			c.noOverflow("the sign-in page at 390 px")
			c.shot("11-thrown-out-390px")
			if status, answer := h.admin(t, admTok, "PATCH", "/users/"+ann.ID, `{"active":true}`); status != http.StatusOK {
				t.Fatalf("reactivate: %d %v", status, answer)
			}

			// Sign-out.
			c.run("wide again", chromedp.EmulateViewport(1280, 900))
			c.signIn(acct.Name, "ann@example.com", "secret-ann@example.com")
			c.run("sign out", c.at("/console/users"), chromedp.Click(chromedp.CSS("form.signout button")), c.at("/console/signin"))
			if got := c.text(".notice"); got != "You signed out." {
				t.Errorf("sign-out said %q", got)
			}
			c.run("the console after sign-out", chromedp.Navigate(h.base+"/console/products"), c.at("/console/signin"))
			c.shot("12-signed-out")
		})
	}
}
