package server_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/storage/sqlstore"
)

// TestConsoleUserPage proves the user page: reached from the users list;
// granting named licenses until the quota refuses in the form with its
// numbers; revoking; deactivating and reactivating; console privileges
// granted only as held, with a password link shown once to a user
// without a password; each write audited with the person as actor, each
// refused without the privilege or the CSRF token, and another account's
// user not found.
func TestConsoleUserPage(t *testing.T) {
	onConsole(t, func(t *testing.T, store *sqlstore.Store, h *harness, acct licensing.Account, _ string) {
		ctx := context.Background()
		if err := store.SetPlan(ctx, licensing.Plan{AccountID: acct.ID, ProductID: rs5, NamedSeats: 2, ConcurrentSeats: 1}); err != nil {
			t.Fatal(err)
		}
		pat := consoleAdmin(t, store, acct.ID, "pat@example.com", licensing.PrivUsers, licensing.PrivProducts, licensing.PrivRead)
		consoleAdmin(t, store, acct.ID, "rita@example.com", licensing.PrivRead)
		var agents []licensing.User
		for _, name := range []string{"ann", "bob", "cyd"} {
			agents = append(agents, agentUser(t, store, acct.ID, name, true, nil))
		}
		other, _ := h.account(t)
		stranger := agentUser(t, store, other.ID, "zed", true, nil)

		br := newBrowser(t, h.base)
		br.signIn(acct.Name, "pat@example.com", "secret-pat@example.com")
		if _, list := br.get("/console/users"); !strings.Contains(list, `<a href="/console/users/`+agents[0].ID+`">ann</a>`) {
			t.Errorf("the users list does not link the user page:\n%s", list)
		}
		for _, id := range []string{stranger.ID, "no-such-id", "%FF%00"} {
			if status, _ := br.get("/console/users/" + id); status != http.StatusNotFound {
				t.Errorf("user %s: %d, want 404", id, status)
			}
		}
		if status, _ := br.post("/console/users/%FF%00/privileges", url.Values{"privilege": {"read"}}, mustGet(t, br, "/console/users/"+agents[0].ID)); status != http.StatusNotFound {
			t.Errorf("privileges of user %%FF%%00: %d, want 404", status)
		}
		grant := func(u licensing.User, license string, csrf bool) (int, string) {
			t.Helper()
			_, page := br.get("/console/users/" + u.ID)
			if !csrf {
				page = ""
			}
			return br.post("/console/users/"+u.ID+"/products/"+rs5, url.Values{"license": {license}}, page)
		}
		if status, _ := grant(agents[0], "named", false); status != http.StatusForbidden {
			t.Errorf("grant without CSRF: %d", status)
		}
		if status, page := br.post("/console/users/"+stranger.ID+"/products/"+rs5, url.Values{"license": {"named"}}, mustGet(t, br, "/console/users/"+agents[0].ID)); status != http.StatusNotFound {
			t.Errorf("grant to another account's user: %d\n%s", status, page)
		}
		for _, u := range agents[:2] {
			if status, page := grant(u, "named", true); status != http.StatusOK || !strings.Contains(page, "The license is changed.") ||
				!strings.Contains(page, `<option value="named" selected>Named</option>`) {
				t.Fatalf("grant %s named: %d\n%s", u.UserName, status, page)
			}
		}
		// The refusal shows in the form, which keeps the license chosen
		// (not the one held), and says nothing was saved.
		refused := regexp.MustCompile(`<form class="license"[^>]*/products/` + rs5 + `">[^<]*<input[^>]*>\s*<label[^>]*>[^<]*</label>\s*` +
			`<select id="license-` + rs5 + `" name="license" aria-describedby="error-` + rs5 + `" aria-invalid="true">\s*` +
			`<option value="none">None</option>\s*<option value="named" selected>Named</option>\s*<option value="concurrent">Concurrent</option>[\s\S]*?` +
			`id="error-` + rs5 + `">No named license left for Remote Support v5: 2 of 2 assigned. Not saved: the license is still (\w+).</p>`)
		status, page := grant(agents[2], "named", true)
		if m := refused.FindStringSubmatch(page); status != http.StatusConflict || m == nil || m[1] != "None" {
			t.Errorf("the third named license: %d %v\n%s", status, m, page)
		}
		if status, page := grant(agents[2], "concurrent", true); status != http.StatusOK || !strings.Contains(page, `<option value="concurrent" selected>Concurrent</option>`) {
			t.Errorf("grant concurrent: %d", status)
		}
		if status, page := grant(agents[2], "named", true); status != http.StatusConflict || refused.FindStringSubmatch(page) == nil || refused.FindStringSubmatch(page)[1] != "Concurrent" {
			t.Errorf("a concurrent agent refused a named license: %d\n%s", status, page)
		}
		if status, _ := grant(agents[0], "", true); status != http.StatusOK {
			t.Errorf("revoke: %d", status)
		}
		if u, err := store.User(ctx, acct.ID, agents[0].ID); err != nil || u.Assignments.Of(rs5) != licensing.LicenseNone {
			t.Errorf("after the revoke ann holds %v (%v)", u.Assignments, err)
		}

		_, page = br.get("/console/users/" + agents[1].ID)
		if status, page := br.post("/console/users/"+agents[1].ID+"/active", url.Values{"active": {"false"}}, page); status != http.StatusOK ||
			!strings.Contains(page, `<span class="inactive">Inactive</span>`) || !strings.Contains(page, "Reactivate") {
			t.Errorf("deactivate: %d\n%s", status, page)
		}
		_, page = br.get("/console/users/" + agents[1].ID)
		if status, _ := br.post("/console/users/"+agents[1].ID+"/active", url.Values{"active": {"true"}}, page); status != http.StatusOK {
			t.Errorf("reactivate: %d", status)
		}

		// Privileges: only those held; a user without a password gets a link.
		nopw := licensing.User{AccountID: acct.ID, ID: licensing.NewID(), UserName: "newadmin", Active: true, Doc: []byte(`{}`), Version: 1}
		if err := store.CreateUser(ctx, nopw); err != nil {
			t.Fatal(err)
		}
		_, page = br.get("/console/users/" + nopw.ID)
		if !strings.Contains(page, `value="billing" disabled`) {
			t.Errorf("billing, which pat lacks, is not disabled:\n%s", page)
		}
		if status, _ := br.post("/console/users/"+nopw.ID+"/privileges", url.Values{"privilege": {"read", "billing"}}, page); status != http.StatusForbidden {
			t.Errorf("granting billing without holding it: %d", status)
		}
		status, page = br.post("/console/users/"+nopw.ID+"/privileges", url.Values{"privilege": {"read", "users"}}, page)
		if status != http.StatusOK || !strings.Contains(page, `id="link" class="copy" value="`+h.base+`/console/password?token=`) {
			t.Fatalf("grant read,users: %d\n%s", status, page)
		}
		if _, again := br.get("/console/users/" + nopw.ID); strings.Contains(again, "/console/password?token=") {
			t.Errorf("the password link is shown twice")
		}
		if privs, err := store.ConsolePrivileges(ctx, acct.ID, nopw.ID); err != nil || licensing.FormatPrivileges(privs) != "read,users" {
			t.Errorf("privileges now %v %v", privs, err)
		}

		rita := newBrowser(t, h.base)
		rita.signIn(acct.Name, "rita@example.com", "secret-rita@example.com")
		status, page = rita.get("/console/users/" + agents[2].ID)
		if status != http.StatusOK || strings.Contains(page, "<form class=\"license\"") || strings.Contains(page, "Deactivate") {
			t.Errorf("read only user page: %d\n%s", status, page)
		}
		if status, _ := rita.post("/console/users/"+agents[2].ID+"/products/"+rs5, url.Values{"license": {""}}, page); status != http.StatusForbidden {
			t.Errorf("read only, revoke: %d", status)
		}
		if status, _ := rita.post("/console/users/"+agents[2].ID+"/active", url.Values{"active": {"false"}}, page); status != http.StatusForbidden {
			t.Errorf("read only, deactivate: %d", status)
		}

		entries, err := store.AuditLog(ctx, acct.ID, licensing.AuditQuery{Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		actions := map[string]int{}
		for _, e := range entries.Items {
			if e.ActorID == "console:"+pat.ID {
				actions[e.Action]++
			}
		}
		if actions["product.grant"] != 3 || actions["product.revoke"] != 1 || actions["user.update"] != 2 || actions["user.privileges"] != 1 {
			t.Errorf("audited with pat as actor: %v", actions)
		}
	})
}

func mustGet(t *testing.T, b *browser, path string) string {
	t.Helper()
	status, page := b.get(path)
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d", path, status)
	}
	return page
}
