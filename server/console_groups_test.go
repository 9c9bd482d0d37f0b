package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/storage/sqlstore"
)

// TestConsoleGroups: the Groups page lists the account's groups with the
// licenses they give and their direct member counts, searched by name and
// by license, in pages; a group's page shows its licenses, nested groups,
// direct members (worded from what they are: "1 user and 1 group", "2
// users") with their licenses, those waiting for a named seat said so
// with their place, apart from those in force, and the members (nested
// ones included) waiting for a named seat with their place; an admin with the products privilege
// changes a license there (CSRF checked, audited, members waiting at
// once), a reader without it sees no form and is refused the write; the
// user page links to the group's page; another account's groups never
// appear and their ids are not found.
func TestConsoleGroups(t *testing.T) {
	onConsole(t, func(t *testing.T, store *sqlstore.Store, h *harness, acct licensing.Account, scim string) {
		ctx := context.Background()
		if err := store.SetPlan(ctx, licensing.Plan{AccountID: acct.ID, ProductID: rs5, NamedSeats: 1, ConcurrentSeats: 2}); err != nil {
			t.Fatal(err)
		}
		consoleAdmin(t, store, acct.ID, "reader@example.com", licensing.PrivRead)
		consoleAdmin(t, store, acct.ID, "granter@example.com", licensing.PrivProducts)
		ann := plainUser(t, store, acct.ID, "ann")
		bob := plainUser(t, store, acct.ID, "bob")
		cat := plainUser(t, store, acct.ID, "cat")
		inner := scimGroup(t, h, scim, "Night <shift>", "", bob.ID, cat.ID)
		outer := scimGroup(t, h, scim, "Support Tier 2", `{"serviceDesk":"concurrent"}`, ann.ID, inner)
		scimGroup(t, h, scim, "Sales", `{"remoteSupportV5":"concurrent"}`)
		other, otherSCIM := h.account(t)
		theirs := scimGroup(t, h, otherSCIM, "Support Theirs", `{"remoteSupportV5":"named"}`, plainUser(t, store, other.ID, "victim").ID)

		reader := newBrowser(t, h.base)
		reader.signIn(acct.Name, "reader@example.com", "secret-reader@example.com")
		status, page := reader.get("/console/groups")
		if status != http.StatusOK || !strings.Contains(page, `<a href="/console/groups" aria-current="page">Groups</a>`) ||
			!strings.Contains(page, "Night &lt;shift&gt;") || !strings.Contains(page, "Service Desk - Concurrent") ||
			strings.Contains(page, "Theirs") {
			t.Fatalf("groups page: %d\n%s", status, page)
		}
		// Support Tier 2 has two direct members: ann and Night <shift>.
		if !strings.Contains(page, `<a href="/console/groups/`+outer+`">Support Tier 2</a></td>
      <td data-label="Licenses given">Service Desk - Concurrent</td>
      <td data-label="Direct members">2</td>`) {
			t.Errorf("Support Tier 2's row lacks its license or member count:\n%s", page)
		}
		for _, c := range []struct{ query, want, not string }{
			{"q=SUPPORT", "Support Tier 2", "Sales"},
			{"q=night", "Night &lt;shift&gt;", "Support Tier 2"},
			{"license=" + rs5, "Sales", "Support Tier 2"},
			{"license=" + rs5 + ":named", "No group matches this search.", "Sales"},
			{"q=Theirs", "No group matches this search.", "Support Theirs"},
		} {
			status, page := reader.get("/console/groups?" + c.query)
			if status != http.StatusOK || !strings.Contains(page, c.want) || strings.Contains(page, ">"+c.not+"</a>") {
				t.Errorf("groups ?%s: %d, want %q and not %q in\n%s", c.query, status, c.want, c.not, page)
			}
		}
		if status, _ := reader.get("/console/groups?license=nope"); status != http.StatusBadRequest {
			t.Errorf("groups ?license=nope: %d, want 400", status)
		}
		if status, _ := reader.get("/console/groups?cursor=junk"); status != http.StatusBadRequest {
			t.Errorf("groups ?cursor=junk: %d, want 400", status)
		}

		// The reader sees the group, but no form.
		status, page = reader.get("/console/groups/" + outer)
		if status != http.StatusOK || !strings.Contains(page, `<a href="/console/groups/`+inner+`">Night &lt;shift&gt;</a>`) ||
			!strings.Contains(page, `<a href="/console/users/`+ann.ID+`">ann</a>`) || strings.Contains(page, `>bob</a>`) ||
			!strings.Contains(page, "<p>1 user and 1 group.") || !strings.Contains(page, "No member waits for a named seat.") ||
			strings.Contains(page, `<form class="license"`) {
			t.Fatalf("group page as a reader: %d\n%s", status, page)
		}
		form := url.Values{"license": {"named"}}
		if status, _ := reader.post("/console/groups/"+outer+"/products/"+rs5, form, page); status != http.StatusForbidden {
			t.Errorf("a reader posting a group license: %d, want 403", status)
		}

		granter := newBrowser(t, h.base)
		granter.signIn(acct.Name, "granter@example.com", "secret-granter@example.com")
		status, page = granter.get("/console/groups/" + outer)
		if status != http.StatusOK || !strings.Contains(page, `action="/console/groups/`+outer+`/products/`+rs5+`"`) {
			t.Fatalf("group page as a granter: %d\n%s", status, page)
		}
		// Without the CSRF token nothing changes.
		if status, _ := granter.do("POST", "/console/groups/"+outer+"/products/"+rs5, url.Values{"license": {"named"}}); status != http.StatusForbidden {
			t.Errorf("a POST without CSRF: %d, want 403", status)
		}
		if g, _ := store.Group(ctx, acct.ID, outer); g.Assignments.Of(rs5) != licensing.LicenseNone {
			t.Fatalf("the group gives %s after refused writes", g.Assignments.Of(rs5))
		}
		for _, bad := range []string{"gold", ""} {
			if status, _ := granter.post("/console/groups/"+outer+"/products/"+rs5, url.Values{"license": {bad}}, page); status != http.StatusBadRequest {
				t.Errorf("license %q: %d, want 400", bad, status)
			}
		}
		status, page = granter.post("/console/groups/"+outer+"/products/"+rs5, url.Values{"license": {"named"}}, page)
		if status != http.StatusOK || granter.last != "/console/groups/"+outer+"?done=licenses" ||
			!strings.Contains(page, "The group&#39;s licenses are changed.") || !strings.Contains(page, `<option value="named" selected>Named</option>`) {
			t.Fatalf("after granting named: %d %s\n%s", status, granter.last, page)
		}
		// One named seat: one of the three got it, two wait, in line,
		// those of Night <shift> said to be members through it.
		waiting := page[strings.Index(page, "<h2>Waiting for a named seat</h2>"):strings.Index(page, "<h2>Nested groups</h2>")]
		if !strings.Contains(waiting, `<td data-label="Place in line">1st</td>`) || !strings.Contains(waiting, `<td data-label="Place in line">2nd</td>`) ||
			strings.Count(waiting, "<tr>") != 3 || !strings.Contains(waiting, `through <a href="/console/groups/`+inner+`">Night &lt;shift&gt;</a>`) {
			t.Errorf("the members waiting:\n%s", waiting)
		}
		// A direct member's licenses in force come first, then one
		// waiting for the seat, said so with its place (not in force);
		// Night <shift>'s direct members are users only, worded so.
		cell := func(u licensing.User) string {
			got, err := store.User(ctx, acct.ID, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range got.Licenses {
				if l.ProductID == rs5 && l.Status == licensing.LicensePending {
					return `<td data-label="Licenses">Service Desk - Concurrent (through a group)<br><span class="pending">Remote Support v5 - Named: waiting for a named seat (` +
						map[int]string{1: "1st", 2: "2nd"}[l.Place] + ` in line)</span></td>`
				}
			}
			return `<td data-label="Licenses">Remote Support v5 - Named (through a group)<br>Service Desk - Concurrent (through a group)</td>`
		}
		if want := cell(ann); !strings.Contains(page, want) || strings.Contains(page, "in force") {
			t.Errorf("ann's licenses on the group page, want %s, nothing said in force:\n%s", want, page)
		}
		status, page = granter.get("/console/groups/" + inner)
		if status != http.StatusOK || !strings.Contains(page, "<p>2 users.") {
			t.Errorf("Night <shift>'s page: %d, want its 2 users counted as such\n%s", status, page)
		}
		for _, u := range []licensing.User{bob, cat} {
			if want := cell(u); !strings.Contains(page, want) {
				t.Errorf("%s's licenses on Night <shift>'s page, want %s:\n%s", u.UserName, want, page)
			}
		}
		if g, _ := store.Group(ctx, acct.ID, outer); g.Assignments.Of(rs5) != licensing.LicenseNamed || g.Assignments.Of("service-desk") != licensing.LicenseConcurrent {
			t.Errorf("the group gives %v, want rs5 named and service desk kept", g.Assignments)
		}
		if entries, err := store.AuditLog(ctx, acct.ID, licensing.AuditQuery{Action: "group.licenses", Limit: 10}); err != nil || len(entries.Items) != 1 ||
			entries.Items[0].Detail != "Support Tier 2: remote-support-v5: none -> named" {
			t.Errorf("audit of the console write: %+v %v", entries.Items, err)
		}

		// The user page links to the group's page.
		if status, page := reader.get("/console/users/" + bob.ID); status != http.StatusOK ||
			!strings.Contains(page, `through <a href="/console/groups/`+outer+`">Support Tier 2</a>`) {
			t.Errorf("bob's page does not link to the group's page: %d\n%s", status, page)
		}

		for _, path := range []string{"/console/groups/" + theirs, "/console/groups/nope", "/console/groups/%00"} {
			if status, page := granter.get(path); status != http.StatusNotFound || strings.Contains(page, "victim") || strings.Contains(page, "Theirs") {
				t.Errorf("GET %s: %d, want 404", path, status)
			}
		}
		_, page = granter.get("/console/groups/" + outer)
		if status, _ := granter.post("/console/groups/"+theirs+"/products/"+rs5, url.Values{"license": {"none"}}, page); status != http.StatusNotFound {
			t.Errorf("POST another account's group: %d, want 404", status)
		}
		if g, _ := store.Group(ctx, other.ID, theirs); g.Assignments.Of(rs5) != licensing.LicenseNamed || g.Version != 1 {
			t.Errorf("another account's group changed: %+v", g)
		}
	})
}
