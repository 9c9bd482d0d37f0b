package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/storage/sqlstore"
)

// TestConsoleGroupLicenses: the user page shows the licenses in force with
// their source (direct, or the group named and linked to its members) and
// the place in line of a license waiting for a named seat; the Users list
// filters by license in force and by waiting, saying inherited licenses as
// such and waiting ones with their place in line; Products and plan counts the named seats taken through groups and
// the users waiting; another account's group is not found.
func TestConsoleGroupLicenses(t *testing.T) {
	onConsole(t, func(t *testing.T, store *sqlstore.Store, h *harness, acct licensing.Account, scim string) {
		ctx := context.Background()
		if err := store.SetPlan(ctx, licensing.Plan{AccountID: acct.ID, ProductID: rs5, NamedSeats: 1, ConcurrentSeats: 2}); err != nil {
			t.Fatal(err)
		}
		consoleAdmin(t, store, acct.ID, "admin@example.com", licensing.PrivRead)
		ann := agentUser(t, store, acct.ID, "ann", true, nil)
		bob := agentUser(t, store, acct.ID, "bob", true, nil)
		cat := agentUser(t, store, acct.ID, "cat", true, licensing.Assignments{rs5: licensing.LicenseConcurrent})
		tier2 := licensedGroup(t, h, scim, "Tier <2>", "named", ann, bob, cat)
		other, otherSCIM := h.account(t)
		theirs := licensedGroup(t, h, otherSCIM, "Theirs", "concurrent", agentUser(t, store, other.ID, "victim", true, nil))

		br := newBrowser(t, h.base)
		br.signIn(acct.Name, "admin@example.com", "secret-admin@example.com")
		link := `through <a href="/console/groups/` + tier2 + `">Tier &lt;2&gt;</a>`
		for _, c := range []struct {
			u    licensing.User
			want []string
		}{
			{ann, []string{"Named,\n        " + link}},
			{bob, []string{`<span class="pending">Named: waiting for a named seat (1st in line)</span>,` + "\n        " + link}},
			// cat's direct concurrent wins over the group's named.
			{cat, []string{"Concurrent,\n        direct"}},
		} {
			status, page := br.get("/console/users/" + c.u.ID)
			for _, w := range c.want {
				if status != http.StatusOK || !strings.Contains(page, w) {
					t.Errorf("user page of %s: %d, want %q in\n%s", c.u.UserName, status, w, page)
				}
			}
		}

		for _, c := range []struct{ query, want, not string }{
			{"license=" + rs5 + ":named", "Remote Support v5 - Named (through a group)", "bob"},
			{"license=pending", `<span class="pending">Remote Support v5 - Named: waiting for a named seat (1st in line)</span>`, "ann"},
			{"group=" + tier2, "Members of the group Tier &lt;2&gt;", "admin@example.com"},
		} {
			status, page := br.get("/console/users?" + c.query)
			if status != http.StatusOK || !strings.Contains(page, c.want) || strings.Contains(page, `<td data-label="User name">`+c.not) {
				t.Errorf("users ?%s: %d, want %q and not %s in\n%s", c.query, status, c.want, c.not, page)
			}
		}
		for _, q := range []string{"group=" + theirs, "group=nope", "group=%00"} {
			if status, page := br.get("/console/users?" + q); status != http.StatusNotFound || strings.Contains(page, "victim") {
				t.Errorf("users ?%s: %d, want 404", q, status)
			}
		}
		if status, page := br.get("/console/products"); status != http.StatusOK || !strings.Contains(page, "1 through groups, 1 waiting for a named seat") {
			t.Errorf("products page: %d, want 1 through groups and 1 waiting\n%s", status, page)
		}
	})
}
