package server_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/storage/sqlstore"
)

var nextInput = regexp.MustCompile(`name="next" value="([^"]*)"`)

// TestConsoleReturnsAfterSignIn proves that a page opened signed out
// comes back after sign-in, its query kept (also when the session had
// ended), and that only paths of this console are returned to: every
// other next, plain or percent-encoded, lands on the console's home.
func TestConsoleReturnsAfterSignIn(t *testing.T) {
	onConsole(t, func(t *testing.T, store *sqlstore.Store, h *harness, acct licensing.Account, _ string) {
		ann := consoleAdmin(t, store, acct.ID, "ann@example.com", licensing.AllPrivileges...)
		apiTok := h.adminToken(t, acct.ID, licensing.PrivUsers)
		want := "/console/sessions?product=" + rs5 + "&cursor="
		br := newBrowser(t, h.base)
		status, page := br.get(want)
		if status != http.StatusOK || br.last != "/console/signin?next="+url.QueryEscape(want) {
			t.Fatalf("signed out, %s went to %d %s", want, status, br.last)
		}
		if m := nextInput.FindStringSubmatch(page); m == nil || html.UnescapeString(m[1]) != want {
			t.Fatalf("the sign-in form carries next %v, want %q", m, want)
		}
		// The form's own fields, as a browser sends them.
		form := url.Values{"account": {acct.Name}, "userName": {ann.UserName}, "password": {"secret-" + ann.UserName},
			"next": {html.UnescapeString(nextInput.FindStringSubmatch(page)[1])}}
		if status, page := br.post("/console/signin", form, page); status != http.StatusOK || br.last != want || !strings.Contains(page, "<h1>Shared sessions</h1>") {
			t.Errorf("after sign-in: %d at %s, want %s", status, br.last, want)
		}
		// A session that ended meanwhile says so and comes back too.
		for _, active := range []string{"false", "true"} {
			if status, answer := h.admin(t, apiTok, "PATCH", "/users/"+ann.ID, `{"active":`+active+`}`); status != http.StatusOK {
				t.Fatalf("PATCH active %s: %d %v", active, status, answer)
			}
		}
		audit := "/console/audit?action=user.update"
		if _, page := br.get(audit); br.last != "/console/signin?ended=1&next="+url.QueryEscape(audit) || !strings.Contains(page, "Your session ended") {
			t.Fatalf("an ended session on %s went to %s", audit, br.last)
		}
		if _, page = br.signIn(acct.Name, ann.UserName, "secret-"+ann.UserName); br.last != "/console/users" {
			t.Fatalf("a sign-in without next landed at %s", br.last)
		}
		// The event stream is no page to return to.
		if status, _ := br.post("/console/signout", url.Values{}, page); status != http.StatusOK {
			t.Fatalf("sign-out: %d", status)
		}
		if br.get("/console/sessions/events?product=" + rs5); br.last != "/console/signin" {
			t.Errorf("the event stream signed out went to %s", br.last)
		}

		for _, next := range []string{
			"//evil.example", "https://evil.example", "https://evil.example/console/users", `/\evil`, `/console\..\x`,
			"/console/../x", "/console/./users", "/console//evil.example", "/console/..%2fx", "/console/%2e%2e/x",
			"%2F%2Fevil.example", "/%2F%2Fevil.example", "/console%2F..%2F..%2Fevil", "/console/%2F%2Fevil.example",
			"/%5Cevil", "/console/%5C%5Cevil.example", "/consolex", "/console@evil.example", "javascript:alert(1)",
			"/console/users\r\nLocation: https://evil.example", "/console/users%0d%0aX: y", "https:/console/users",
			"\\\\evil.example", " /console/users", "/console/users\x00",
		} {
			_, page := br.get("/console/signin?next=" + url.QueryEscape(next))
			if m := nextInput.FindStringSubmatch(page); m != nil {
				t.Errorf("next %q: the form carries %q", next, m[1])
			}
			// Sent in the form as it is, not as the page gave it.
			status, header, _ := sendForm(t, h.base+"/console/signin", br, url.Values{"csrf": {csrfOf(t, page)}, "account": {acct.Name},
				"userName": {ann.UserName}, "password": {"secret-" + ann.UserName}, "next": {next}})
			if status != http.StatusSeeOther || header.Get("Location") != "/console" {
				t.Errorf("next %q: sign-in answered %d to %q, want the console's home", next, status, header.Get("Location"))
			}
		}
		for _, next := range []string{"/console/users/" + ann.ID, "/console/users?license=" + rs5 + "%3Aconcurrent&q=a+b", "/console/", "/console/usage.csv?product=" + rs5} {
			_, page := br.get("/console/signin?next=" + url.QueryEscape(next))
			status, header, _ := sendForm(t, h.base+"/console/signin", br, url.Values{"csrf": {csrfOf(t, page)}, "account": {acct.Name},
				"userName": {ann.UserName}, "password": {"secret-" + ann.UserName}, "next": {next}})
			if status != http.StatusSeeOther || header.Get("Location") != next {
				t.Errorf("next %q: sign-in answered %d to %q", next, status, header.Get("Location"))
			}
		}
	})
}
