package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/console"
	"github.com/scimd/scimd/internal/password"
	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/server"
	"github.com/scimd/scimd/storage/sqlstore"
)

// consoleHarness serves the store with the console mounted, on the
// clock (the console's sessions and throttle follow it) with the sign-in
// policy; edit changes the server's options further.
func consoleHarness(t testing.TB, store *sqlstore.Store, clock licensing.Clock, policy licensing.SignInPolicy, edit ...func(*server.Options)) *harness {
	t.Helper()
	passwords := password.NewPool(password.PoolOptions{})
	if policy.AddressFailures == 0 {
		policy.AddressFailures = harnessSignIn.AddressFailures
	}
	return newHarness(t, store, append([]func(*server.Options){func(o *server.Options) {
		o.Console = console.New(console.Options{Store: store, Clock: clock, Catalog: licensing.DefaultCatalog(),
			Verify: passwords.Verifier(password.LaneSignIn), HashPassword: passwords.Hash, SignIn: policy})
	}}, edit...)...)
}

// browser is an HTTP client with cookies that follows redirects itself,
// so that tests see each answer's headers.
type browser struct {
	t    testing.TB
	base string
	c    *http.Client
	// last is the path of the last page reached and header its headers.
	last   string
	header http.Header
}

func newBrowser(t testing.TB, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// do sends the request (a form when form is not nil) and follows
// redirects, returning the status and body of the last answer.
func (b *browser) do(method, path string, form url.Values) (int, string) {
	b.t.Helper()
	for range 5 {
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, b.base+path, body)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := b.c.Do(req)
		if err != nil {
			b.t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		b.header = resp.Header
		if resp.StatusCode >= 500 {
			b.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
		}
		if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
			b.last = path
			return resp.StatusCode, string(raw)
		}
		path, method, form = resp.Header.Get("Location"), "GET", nil
	}
	b.t.Fatalf("%s: too many redirects", path)
	return 0, ""
}

func (b *browser) get(path string) (int, string) { b.t.Helper(); return b.do("GET", path, nil) }

// post posts the form, adding the CSRF token of the page page (if not "").
func (b *browser) post(path string, form url.Values, page string) (int, string) {
	b.t.Helper()
	if page != "" {
		form.Set("csrf", csrfOf(b.t, page))
	}
	return b.do("POST", path, form)
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrfOf returns the CSRF token the forms of the page carry.
func csrfOf(t testing.TB, page string) string {
	t.Helper()
	m := csrfInput.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token in the page:\n%s", page)
	}
	return m[1]
}

// signInConsole signs in through the form and returns the page reached.
func (b *browser) signIn(account, userName, pw string) (int, string) {
	b.t.Helper()
	_, page := b.get("/console/signin")
	return b.post("/console/signin", url.Values{"account": {account}, "userName": {userName}, "password": {pw}}, page)
}

// consoleAdmin stores a user with the password secret-<userName> holding
// the console privileges.
func consoleAdmin(t *testing.T, store licensing.Store, accountID, userName string, privs ...licensing.Privilege) licensing.User {
	t.Helper()
	u := agentUser(t, store, accountID, userName, true, nil)
	if _, err := store.SetConsolePrivileges(context.Background(), accountID, u.ID, privs); err != nil {
		t.Fatal(err)
	}
	return u
}

// TestConsoleSignIn proves the sign-in and the session: one answer to
// every wrong sign-in, the cookie's attributes, the products page, a POST
// without its CSRF token refused with nothing changed, audited writes,
// sign-out, and sessions ended by deactivation and by idleness.
func TestConsoleSignIn(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			store := b.Open(t)
			clock := testenv.NewClock(time.Now())
			h := consoleHarness(t, store, clock, licensing.SignInPolicy{})
			acct, _ := h.account(t)
			ctx := context.Background()
			if err := store.SetPlan(ctx, licensing.Plan{AccountID: acct.ID, ProductID: rs5, NamedSeats: 5, ConcurrentSeats: 3}); err != nil {
				t.Fatal(err)
			}
			ann := consoleAdmin(t, store, acct.ID, "ann@example.com", licensing.AllPrivileges...)
			agentUser(t, store, acct.ID, "bob@example.com", true, licensing.Assignments{rs5: licensing.LicenseNamed})
			agentUser(t, store, acct.ID, "cleo@example.com", true, licensing.Assignments{rs5: licensing.LicenseNamed})

			br := newBrowser(t, h.base)
			if status, page := br.get("/console"); status != http.StatusOK || !strings.HasPrefix(br.last, "/console/signin") || !strings.Contains(page, `<form class="card" method="post" action="/console/signin">`) {
				t.Fatalf("GET /console signed out: %d at %s", status, br.last)
			}
			for _, wrong := range [][2]string{
				{"ann@example.com", "not her password"},
				{"nobody@example.com", "secret-nobody@example.com"},
				{"bob@example.com", "secret-bob@example.com"}, // right password, no console privileges
			} {
				status, page := br.signIn(acct.Name, wrong[0], wrong[1])
				if status != http.StatusOK || !strings.Contains(page, "The account, user name or password is wrong.") || !strings.HasPrefix(br.last, "/console/signin") {
					t.Errorf("sign-in as %s with %q: %d at %s", wrong[0], wrong[1], status, br.last)
				}
			}
			// Without its token the form is refused, whatever it holds.
			if status, _ := br.post("/console/signin", url.Values{"account": {acct.Name}, "userName": {"ann@example.com"}, "password": {"secret-ann@example.com"}}, ""); status != http.StatusForbidden {
				t.Errorf("sign-in without a CSRF token: %d, want 403", status)
			}

			_, form := br.get("/console/signin")
			status, _, _ := sendForm(t, h.base+"/console/signin", br, url.Values{"csrf": {csrfOf(t, form)}, "account": {acct.Name}, "userName": {"ann@example.com"}, "password": {"secret-ann@example.com"}})
			cookie := br.header.Get("Set-Cookie")
			if status != http.StatusSeeOther || !strings.Contains(cookie, "scimd_console=") || !strings.Contains(cookie, "HttpOnly") ||
				!strings.Contains(cookie, "SameSite=Lax") || strings.Contains(cookie, "Secure") || !strings.Contains(cookie, "Path=/console") {
				t.Fatalf("sign-in: %d, Set-Cookie %q", status, cookie)
			}
			if br.get("/console"); br.last != "/console/users" {
				t.Fatalf("the console's home for every privilege is %s, want the users", br.last)
			}
			status, page := br.get("/console/products")
			if status != http.StatusOK || br.last != "/console/products" || !strings.Contains(page, "Remote Support v5") ||
				!strings.Contains(page, "2 of 5 assigned") || !strings.Contains(page, "0 of 3 occupied, 0 waiting") || !strings.Contains(page, "ann@example.com") {
				t.Fatalf("products page: %d at %s:\n%s", status, br.last, page)
			}
			if br.header.Get("Cache-Control") != "no-store" || br.header.Get("X-Frame-Options") != "DENY" ||
				!strings.Contains(br.header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
				t.Errorf("console page headers: %v", br.header)
			}

			// A plan change without its token changes nothing.
			plan := func() licensing.Usage {
				t.Helper()
				us, err := store.Usage(ctx, acct.ID)
				if err != nil || len(us) != 1 {
					t.Fatalf("usage: %v %v", us, err)
				}
				return us[0]
			}
			if status, _ := br.post("/console/products/"+rs5+"/plan", url.Values{"namedSeats": {"9"}, "concurrentSeats": {"9"}}, ""); status != http.StatusForbidden || plan().NamedSeats != 5 {
				t.Errorf("plan change without a CSRF token: %d, plan %+v", status, plan())
			}
			if status, _ := br.post("/console/products/"+rs5+"/plan", url.Values{"namedSeats": {"9"}, "concurrentSeats": {"9"}, "csrf": {"forged"}}, ""); status != http.StatusForbidden || plan().NamedSeats != 5 {
				t.Errorf("plan change with a forged CSRF token: %d, plan %+v", status, plan())
			}
			status, page = br.post("/console/products/"+rs5+"/plan", url.Values{"namedSeats": {"1"}, "concurrentSeats": {"4"}}, page)
			if status != http.StatusConflict || !strings.Contains(page, "Cannot lower the named licenses of Remote Support v5 to 1: 2 are assigned.") || plan().NamedSeats != 5 {
				t.Errorf("plan below assigned: %d, plan %+v", status, plan())
			}
			status, page = br.post("/console/products/"+rs5+"/plan", url.Values{"namedSeats": {"6"}, "concurrentSeats": {"4"}}, page)
			if status != http.StatusOK || !strings.Contains(page, "2 of 6 assigned") || !strings.Contains(page, "0 of 4 occupied") || plan().ConcurrentSeats != 4 {
				t.Errorf("plan change: %d, plan %+v", status, plan())
			}
			entries, err := store.AuditLog(ctx, acct.ID, licensing.AuditQuery{Action: "plan.change", Limit: 5})
			if err != nil || len(entries.Items) != 1 || entries.Items[0].ActorScope != licensing.ActorConsole ||
				entries.Items[0].ActorName != "ann@example.com" || entries.Items[0].ActorID != "console:"+ann.ID {
				t.Errorf("audit of the console's plan change: %+v, %v", entries.Items, err)
			}

			// Used within the idle time the session lives; idle past it, it ends.
			clock.Advance(20 * time.Minute)
			if br.get("/console/products"); br.last != "/console/products" {
				t.Fatalf("session ended after 20 minutes of use")
			}
			clock.Advance(licensing.ConsoleIdle)
			if _, page := br.get("/console/products"); !strings.HasPrefix(br.last, "/console/signin") || !strings.Contains(page, "Your session ended") {
				t.Fatalf("an idle session was not ended: at %s", br.last)
			}

			// Deactivating the person over the admin API throws them out.
			br.signIn(acct.Name, "ann@example.com", "secret-ann@example.com")
			if br.last != "/console/users" {
				t.Fatalf("second sign-in landed at %s", br.last)
			}
			admTok := h.adminToken(t, acct.ID, licensing.PrivUsers)
			if status, answer := h.admin(t, admTok, "PATCH", "/users/"+ann.ID, `{"active":false}`); status != http.StatusOK {
				t.Fatalf("deactivate: %d %v", status, answer)
			}
			if br.get("/console/products"); !strings.HasPrefix(br.last, "/console/signin") {
				t.Fatalf("a deactivated admin still sees %s", br.last)
			}
			if status, answer := h.admin(t, admTok, "PATCH", "/users/"+ann.ID, `{"active":true}`); status != http.StatusOK {
				t.Fatalf("reactivate: %d %v", status, answer)
			}

			// Sign-out ends the session.
			_, page = br.signIn(acct.Name, "ann@example.com", "secret-ann@example.com")
			if _, page = br.post("/console/signout", url.Values{}, page); !strings.HasPrefix(br.last, "/console/signin") || !strings.Contains(page, "You signed out.") {
				t.Fatalf("sign-out landed at %s", br.last)
			}
			if br.get("/console/products"); !strings.HasPrefix(br.last, "/console/signin") {
				t.Fatalf("after sign-out the console still opens")
			}
		})
	}
}

// sendForm posts the form with the browser's cookies without following
// the redirect, leaving the answer's headers in b.header.
func sendForm(t testing.TB, u string, b *browser, form url.Values) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	b.header = resp.Header
	return resp.StatusCode, resp.Header, string(raw)
}

// TestConsolePrivilegesOpenPages proves that the navigation bar shows
// only the pages the person's privileges open, that a direct URL to a
// closed page (or form) answers a 403 page, and that revoking privileges
// ends the person's sessions at once.
func TestConsolePrivilegesOpenPages(t *testing.T) {
	store := testenv.SQLite(t)
	h := consoleHarness(t, store, licensing.SystemClock{}, licensing.SignInPolicy{})
	acct, _ := h.account(t)
	consoleAdmin(t, store, acct.ID, "tess@example.com", licensing.PrivTokens)
	reader := consoleAdmin(t, store, acct.ID, "rita@example.com", licensing.PrivRead)

	tess := newBrowser(t, h.base)
	if status, page := tess.signIn(acct.Name, "tess@example.com", "secret-tess@example.com"); status != http.StatusOK || tess.last != "/console/connect" ||
		strings.Contains(page, `href="/console/products"`) || strings.Contains(page, `href="/console/users"`) || !strings.Contains(page, "Sign out") {
		t.Errorf("tokens only, at %s: %d\n%s", tess.last, status, page)
	}
	if status, page := tess.get("/console/products"); status != http.StatusForbidden || !strings.Contains(page, "needs one of these privileges") {
		t.Errorf("tokens only, products page: %d", status)
	}

	rita := newBrowser(t, h.base)
	rita.signIn(acct.Name, "rita@example.com", "secret-rita@example.com")
	status, page := rita.get("/console/products")
	if status != http.StatusOK || !strings.Contains(page, `href="/console/products" aria-current="page"`) || !strings.Contains(page, `href="/console/users"`) || strings.Contains(page, "Change plan") {
		t.Errorf("read only: %d at %s", status, rita.last)
	}
	if status, _ := rita.post("/console/products/"+rs5+"/plan", url.Values{"namedSeats": {"1"}, "concurrentSeats": {"1"}}, page); status != http.StatusForbidden {
		t.Errorf("read only, plan change: %d, want 403", status)
	}
	if status, _ := rita.get("/console/nowhere"); status != http.StatusNotFound {
		t.Errorf("unknown console page: %d", status)
	}

	admTok := h.adminToken(t, acct.ID, licensing.PrivUsers, licensing.PrivRead)
	if status, answer := h.admin(t, admTok, "PUT", "/users/"+reader.ID+"/privileges", `{"privileges":["read","users"]}`); status != http.StatusOK {
		t.Fatalf("grant: %d %v", status, answer)
	}
	if rita.get("/console/products"); rita.last != "/console/products" {
		t.Fatalf("a grant ended the session")
	}
	if status, answer := h.admin(t, admTok, "PUT", "/users/"+reader.ID+"/privileges", `{"privileges":["users"]}`); status != http.StatusOK {
		t.Fatalf("revoke: %d %v", status, answer)
	}
	if rita.get("/console/products"); !strings.HasPrefix(rita.last, "/console/signin") {
		t.Fatalf("revoking read left the session open at %s", rita.last)
	}
	if status, answer := h.admin(t, admTok, "PUT", "/users/"+reader.ID+"/privileges", `{"privileges":["users","billing"]}`); status != http.StatusForbidden {
		t.Errorf("granting billing without holding it: %d %v", status, answer)
	}
}

// TestConsoleThrottle proves that failed console sign-ins are throttled:
// once blocked, even the right password is refused, with Retry-After.
func TestConsoleThrottle(t *testing.T) {
	store := testenv.SQLite(t)
	h := consoleHarness(t, store, licensing.SystemClock{}, licensing.SignInPolicy{UserFailures: 2, FirstDelay: time.Hour})
	acct, _ := h.account(t)
	consoleAdmin(t, store, acct.ID, "ann@example.com", licensing.PrivRead)
	br := newBrowser(t, h.base)
	for i := range 3 {
		if status, page := br.signIn(acct.Name, "ann@example.com", "guess"); status != http.StatusOK || !strings.Contains(page, "password is wrong") {
			t.Fatalf("failure %d: %d", i+1, status)
		}
	}
	status, page := br.signIn(acct.Name, "ann@example.com", "secret-ann@example.com")
	if status != http.StatusTooManyRequests || !strings.Contains(page, "Too many failed sign-ins") || br.header.Get("Retry-After") == "" {
		t.Fatalf("blocked sign-in: %d, Retry-After %q", status, br.header.Get("Retry-After"))
	}
	if br.get("/console/products"); !strings.HasPrefix(br.last, "/console/signin") {
		t.Fatalf("a blocked sign-in opened the console")
	}
}

// TestConsoleSecureCookie proves that the session cookie is Secure when
// the console is reached over HTTPS (here: the configured base URL).
func TestConsoleSecureCookie(t *testing.T) {
	store := testenv.SQLite(t)
	h := consoleHarness(t, store, licensing.SystemClock{}, licensing.SignInPolicy{}, func(o *server.Options) {
		o.Edge.BaseURL = "https://console.example.com"
	})
	acct, _ := h.account(t)
	consoleAdmin(t, store, acct.ID, "ann@example.com", licensing.PrivRead)
	br := newBrowser(t, h.base)
	_, form := br.get("/console/signin")
	if c := br.header.Get("Set-Cookie"); !strings.Contains(c, "scimd_console_form=") || !strings.Contains(c, "Secure") || !strings.Contains(c, "SameSite=Strict") {
		t.Errorf("form cookie over HTTPS: %q", c)
	}
	// The jar keeps Secure cookies for https only: send the form's by hand.
	req, _ := http.NewRequest("POST", h.base+"/console/signin", strings.NewReader(url.Values{"csrf": {csrfOf(t, form)}, "account": {acct.Name},
		"userName": {"ann@example.com"}, "password": {"secret-ann@example.com"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: "scimd_console_form", Value: csrfOf(t, form)})
	resp, err := br.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if c := resp.Header.Get("Set-Cookie"); resp.StatusCode != http.StatusSeeOther || !strings.Contains(c, "scimd_console=") || !strings.Contains(c, "Secure") {
		t.Errorf("sign-in over HTTPS: %d, Set-Cookie %q", resp.StatusCode, c)
	}
}

// TestConsolePasswordLink proves the one-time link: it shows a form,
// refuses two different passwords, sets the password once, and the
// person then signs in with it.
func TestConsolePasswordLink(t *testing.T) {
	onConsole(t, func(t *testing.T, store *sqlstore.Store, h *harness, acct licensing.Account, _ string) {
		admTok := h.adminToken(t, acct.ID, licensing.AllPrivileges...)
		_, carl := h.admin(t, admTok, "POST", "/users", `{"userName":"carl@example.com"}`)
		status, grant := h.admin(t, admTok, "PUT", "/users/"+carl["id"].(string)+"/privileges", `{"privileges":["read"]}`)
		link, _ := grant["passwordLink"].(string)
		if status != http.StatusOK || !strings.HasPrefix(link, h.base+"/console/password?token=") {
			t.Fatalf("grant: %d %v", status, grant)
		}
		path := strings.TrimPrefix(link, h.base)
		br := newBrowser(t, h.base)
		status, page := br.get(path)
		if status != http.StatusOK || !strings.Contains(page, "Choose a password") {
			t.Fatalf("link page: %d", status)
		}
		token := regexp.MustCompile(`name="token" value="([^"]+)"`).FindStringSubmatch(page)[1]
		if status, page := br.post("/console/password", url.Values{"token": {token}, "password": {"a long new password"}, "repeat": {"another one entirely"}}, page); status != http.StatusBadRequest || !strings.Contains(page, "differ") {
			t.Errorf("two passwords: %d", status)
		}
		if status, _ := br.post("/console/password", url.Values{"token": {token}, "password": {"a long new password"}, "repeat": {"a long new password"}}, ""); status != http.StatusForbidden {
			t.Errorf("without CSRF: %d, want 403", status)
		}
		status, page = br.post("/console/password", url.Values{"token": {token}, "password": {"a long new password"}, "repeat": {"a long new password"}}, page)
		landing := "/console/signin?" + url.Values{"account": {acct.Name}, "password": {"set"}, "userName": {"carl@example.com"}}.Encode()
		if status != http.StatusOK || br.last != landing ||
			!strings.Contains(page, "Your password is set") || !strings.Contains(page, `value="carl@example.com"`) {
			t.Fatalf("password set: %d at %s", status, br.last)
		}
		if status, _ := br.get(path); status != http.StatusNotFound {
			t.Errorf("a used link: %d, want 404", status)
		}
		if br.signIn(acct.Name, "carl@example.com", "a long new password"); br.last != "/console/users" {
			t.Fatalf("sign-in with the chosen password landed at %s", br.last)
		}
	})
}

// TestConsoleSCIMEndsSessions proves that an identity provider ends a
// console user's sessions at once: Okta's deactivation (a path-less
// PATCH of active) and a SCIM DELETE, each on a person signed in.
func TestConsoleSCIMEndsSessions(t *testing.T) {
	onConsole(t, func(t *testing.T, store *sqlstore.Store, h *harness, acct licensing.Account, scimBearer string) {
		for _, end := range []struct {
			name, method, body string
		}{
			{"okta deactivation", "PATCH", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`},
			{"delete", "DELETE", ""},
		} {
			u := consoleAdmin(t, store, acct.ID, "ann-"+strings.ReplaceAll(end.name, " ", "-")+"@example.com", licensing.PrivRead)
			br := newBrowser(t, h.base)
			if br.signIn(acct.Name, u.UserName, "secret-"+u.UserName); br.last != "/console/users" {
				t.Fatalf("%s: sign-in landed at %s", end.name, br.last)
			}
			if status, raw, _ := scimCall(t, h, scimBearer, end.method, "/Users/"+u.ID, end.body); status >= 300 {
				t.Fatalf("%s: SCIM %s answered %d %s", end.name, end.method, status, raw)
			}
			if br.get("/console/products"); !strings.HasPrefix(br.last, "/console/signin") {
				t.Errorf("after the %s over SCIM the console still opens %s", end.name, br.last)
			}
		}
	})
}

// TestConsoleUsers proves the users list: filtered by product and license
// type as the vendor words it, by status and by text, cursor-paged, with
// advice when empty.
func TestConsoleUsers(t *testing.T) {
	onConsole(t, func(t *testing.T, store *sqlstore.Store, h *harness, acct licensing.Account, _ string) {
		ctx := context.Background()
		consoleAdmin(t, store, acct.ID, "admin@example.com", licensing.PrivRead)
		br := newBrowser(t, h.base)
		br.signIn(acct.Name, "admin@example.com", "secret-admin@example.com")
		if _, page := br.get("/console/users?q=nobody"); !strings.Contains(page, "No user matches these filters.") {
			t.Errorf("an empty search does not say so:\n%s", page)
		}
		if err := store.SetPlan(ctx, licensing.Plan{AccountID: acct.ID, ProductID: rs5, NamedSeats: 100}); err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC()
		for i := range 60 {
			a := licensing.Assignments{rs5: licensing.LicenseConcurrent}
			if i%3 == 0 {
				a[rs5] = licensing.LicenseNamed
			}
			u := licensing.User{AccountID: acct.ID, ID: licensing.NewID(), UserName: fmt.Sprintf("agent%02d@example.com", i), Active: i%10 != 9,
				Doc:     []byte(fmt.Sprintf(`{"name":{"givenName":"Agent","familyName":"No%02d"},"emails":[{"value":"agent%02d@mail.example.com","primary":true}]}`, i, i)),
				Created: now, LastModified: now, Version: 1, Assignments: a}
			if err := store.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		status, page := br.get("/console/users?license=" + rs5 + ":concurrent")
		rows := strings.Count(page, "<td data-label=\"User name\">")
		// The filter is by license in force, which the 4 inactive ones lack.
		if status != http.StatusOK || rows != 36 || !strings.Contains(page, `<option value="`+rs5+`:concurrent" selected>Remote Support v5 - Concurrent</option>`) ||
			!strings.Contains(page, "Agent No01") || !strings.Contains(page, "agent01@mail.example.com") || strings.Contains(page, "agent00@") {
			t.Errorf("Remote Support v5 - Concurrent: %d, %d rows", status, rows)
		}
		// Inactive users hold no license in force: filtered as inactive,
		// the product's users are those still assigned it (19, 29, 49, 59).
		if _, page := br.get("/console/users?license=" + rs5 + ":concurrent&active=false"); strings.Count(page, "Inactive</span>") != 4 ||
			strings.Count(page, "Remote Support v5 - Concurrent (assigned, not in force while inactive)") != 4 || strings.Contains(page, "agent09@") {
			t.Errorf("inactive concurrent agents: want agents 19, 29, 49 and 59, assigned but not in force\n%s", page)
		}
		if _, page := br.get("/console/users?active=false"); strings.Count(page, "Inactive</span>") != 6 {
			t.Errorf("inactive agents: want 6 (9, 19, ..., 59)\n%s", page)
		}
		if _, page := br.get("/console/users?q=no4"); strings.Count(page, "<td data-label=\"User name\">") != 10 {
			t.Errorf("search no4: want agents 40 to 49")
		}
		// All 61 users: a page of 50, then one of 11 through its link.
		_, page = br.get("/console/users")
		next := regexp.MustCompile(`<a class="next" href="([^"]+)"`).FindStringSubmatch(page)
		if strings.Count(page, "<td data-label=\"User name\">") != 50 || next == nil {
			t.Fatalf("first page: %d rows, next %v", strings.Count(page, "<td data-label=\"User name\">"), next)
		}
		link := strings.ReplaceAll(next[1], "&amp;", "&")
		if _, page = br.get(link); strings.Count(page, "<td data-label=\"User name\">") != 11 || strings.Contains(page, `class="next"`) {
			t.Errorf("second page: %d rows", strings.Count(page, "<td data-label=\"User name\">"))
		}
		if status, _ := br.get("/console/users?cursor=forged"); status != http.StatusBadRequest {
			t.Errorf("a forged cursor: %d, want 400", status)
		}
		if status, _ := br.get("/console/users?license=no-such-product:named"); status != http.StatusBadRequest {
			t.Errorf("an unknown product: %d, want 400", status)
		}
	})
}

// onConsole runs the test on each backend, on a server with the console
// (system clock, default sign-in policy) and a fresh account with its
// SCIM token.
func onConsole(t *testing.T, test func(t *testing.T, store *sqlstore.Store, h *harness, acct licensing.Account, scimBearer string)) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			store := b.Open(t)
			h := consoleHarness(t, store, licensing.SystemClock{}, licensing.SignInPolicy{})
			acct, bearer := h.account(t)
			test(t, store, h, acct, bearer)
		})
	}
}

// TestConsoleConnect proves the Connect page: it shows the SCIM base
// URL; making a SCIM token takes users and products besides tokens, a
// CSRF token, and shows the token once, which then works over SCIM; the
// token's creation is audited with the person as actor.
func TestConsoleConnect(t *testing.T) {
	onConsole(t, func(t *testing.T, store *sqlstore.Store, h *harness, acct licensing.Account, _ string) {
		ctx := context.Background()
		consoleAdmin(t, store, acct.ID, "tess@example.com", licensing.PrivTokens)
		olga := consoleAdmin(t, store, acct.ID, "olga@example.com", licensing.PrivTokens, licensing.PrivUsers, licensing.PrivProducts)
		tokens := func() int {
			t.Helper()
			page, err := store.Tokens(ctx, acct.ID, licensing.TokenQuery{Scope: licensing.ScopeSCIM, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			return len(page.Items)
		}
		before := tokens()

		tess := newBrowser(t, h.base)
		tess.signIn(acct.Name, "tess@example.com", "secret-tess@example.com")
		status, page := tess.get("/console/connect")
		if status != http.StatusOK || !strings.Contains(page, h.base+"/scim/v2") {
			t.Fatalf("connect page: %d\n%s", status, page)
		}
		if status, page := tess.post("/console/connect/token", url.Values{"name": {"okta"}}, page); status != http.StatusForbidden ||
			!strings.Contains(page, "products,users, which you do not hold") || tokens() != before {
			t.Errorf("a SCIM token by tokens alone: %d, %d tokens", status, tokens())
		}

		olgaB := newBrowser(t, h.base)
		olgaB.signIn(acct.Name, "olga@example.com", "secret-olga@example.com")
		_, page = olgaB.get("/console/connect")
		if status, _ := olgaB.post("/console/connect/token", url.Values{"name": {"okta"}}, ""); status != http.StatusForbidden || tokens() != before {
			t.Errorf("a SCIM token without CSRF: %d, %d tokens", status, tokens())
		}
		status, page = olgaB.post("/console/connect/token", url.Values{"name": {"okta"}}, page)
		bearer := regexp.MustCompile(`id="token" class="copy" value="(scimd_[^"]+)"`).FindStringSubmatch(page)
		if status != http.StatusOK || bearer == nil || tokens() != before+1 {
			t.Fatalf("make a SCIM token: %d, %d tokens\n%s", status, tokens(), page)
		}
		if status, raw, _ := scimCall(t, h, bearer[1], "GET", "/Users?startIndex=1&count=2", ""); status != http.StatusOK {
			t.Errorf("the console's SCIM token answered %d %s", status, raw)
		}
		entries, err := store.AuditLog(ctx, acct.ID, licensing.AuditQuery{Action: "token.create", Limit: 5})
		if err != nil || len(entries.Items) != 1 || entries.Items[0].ActorID != "console:"+olga.ID || entries.Items[0].ActorScope != licensing.ActorConsole {
			t.Errorf("audit of the token: %+v %v", entries.Items, err)
		}
	})
}
