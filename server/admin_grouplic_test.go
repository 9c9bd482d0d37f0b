package server_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/scimd/scimd/licensing"
)

// listedNames lists, sorted, the userNames of GET /users?query, failing
// the test unless it answered 200.
func listedNames(t *testing.T, h *harness, bearer, query string) []string {
	t.Helper()
	status, body := h.admin(t, bearer, "GET", "/users?"+query, "")
	if status != http.StatusOK {
		t.Fatalf("GET /users?%s: %d %v", query, status, body)
	}
	names := userNames(body)
	slices.Sort(names)
	return names
}

// TestAdminUserLicensesInForce: the admin API shows each user's licenses
// in force and pending with their sources and place in line, lists users
// by license in force (direct or inherited), by direct assignment
// (source=direct) and by pending license, and counts per product the
// named seats taken through groups and the users waiting, never counting
// or listing another account's users.
func TestAdminUserLicensesInForce(t *testing.T) {
	onGroups(t, 2, func(t *testing.T, f groupFixture) {
		store, h, acct, scim, other, otherSCIM := f.store, f.h, f.acct, f.scim, f.other, f.otherSCIM
		agents := f.agents(t, "ann", "bob", "cat")
		ann, bob, cat := agents[0], agents[1], agents[2]
		dan := agentUser(t, store, acct.ID, "dan", true, licensing.Assignments{rs5: licensing.LicenseNamed})
		eve := agentUser(t, store, acct.ID, "eve", false, licensing.Assignments{rs5: licensing.LicenseConcurrent})
		tier2 := licensedGroup(t, h, scim, "Tier 2", "named", ann, bob, cat)
		tier1 := licensedGroup(t, h, scim, "Tier 1", "concurrent", cat)
		// The other account has a pending user of its own.
		o1 := agentUser(t, store, other.ID, "o1", true, nil)
		o2 := agentUser(t, store, other.ID, "o2", true, nil)
		o3 := agentUser(t, store, other.ID, "o3", true, nil)
		licensedGroup(t, h, otherSCIM, "Other", "named", o1, o2, o3)

		read := h.adminToken(t, acct.ID, licensing.PrivRead)
		licenses := func(u licensing.User) string {
			status, body := h.admin(t, read, "GET", "/users/"+u.ID, "")
			if status != http.StatusOK {
				t.Fatalf("GET /users/%s: %d %v", u.UserName, status, body)
			}
			var out []string
			for _, l := range body["licenses"].([]any) {
				l := l.(map[string]any)
				s := l["product"].(string) + "/" + l["license"].(string) + "/" + l["status"].(string)
				if l["status"] == "pending" {
					s += "/" + l["reason"].(string) + "/" + jsonString(l["place"])
				}
				out = append(out, s+"/"+strings.Join(strings.Fields(strings.Trim(jsonString(l["sources"]), "[]")), ""))
			}
			return strings.Join(out, " ")
		}
		q := func(s string) string { return `"` + s + `"` }
		for _, c := range []struct {
			u    licensing.User
			want string
		}{
			// dan holds a direct named seat, ann the second through Tier 2.
			{ann, "remote-support-v5/named/active/" + q(tier2)},
			{bob, "remote-support-v5/named/pending/named_seats_exhausted/1/" + q(tier2)},
			{cat, "remote-support-v5/named/pending/named_seats_exhausted/2/" + q(tier2) + " remote-support-v5/concurrent/active/" + q(tier1)},
			{dan, "remote-support-v5/named/active/" + q("direct")},
			{eve, ""},
		} {
			if got := licenses(c.u); got != c.want {
				t.Errorf("licenses of %s: %s, want %s", c.u.UserName, got, c.want)
			}
		}
		if status, body := h.admin(t, read, "GET", "/users/"+ann.ID, ""); status != http.StatusOK || len(body["products"].(map[string]any)) != 0 {
			t.Errorf("ann's products (direct) %v, want none: the inherited license is not direct", body["products"])
		}

		for _, c := range []struct{ query, want string }{
			{"product=" + rs5, "ann cat dan"},
			{"product=" + rs5 + "&license=named", "ann dan"},
			{"product=" + rs5 + "&license=concurrent", "cat"},
			{"product=" + rs5 + "&license=none", "bob eve"},
			{"product=" + rs5 + "&source=direct", "dan eve"},
			{"product=" + rs5 + "&license=concurrent&source=direct", "eve"},
			{"product=" + rs5 + "&license=none&source=direct", "ann bob cat"},
			{"license=pending", "bob cat"},
			{"product=" + rs5 + "&license=pending", "bob cat"},
			{"product=service-desk&license=pending", ""},
			{"license=pending&active=true&q=b", "bob"},
		} {
			if got := strings.Join(listedNames(t, h, read, c.query), " "); got != c.want {
				t.Errorf("GET /users?%s: %q, want %q", c.query, got, c.want)
			}
		}
		// Pages of the pending list are sealed cursors like the others.
		status, body := h.admin(t, read, "GET", "/users?license=pending&limit=1", "")
		if next, _ := body["nextCursor"].(string); status != http.StatusOK || next == "" {
			t.Fatalf("first page of pending users: %d %v", status, body)
		} else if got := listedNames(t, h, read, "license=pending&limit=1&cursor="+next); len(got) != 1 || got[0] != "cat" {
			t.Errorf("second page of pending users: %v, want cat", got)
		}

		for _, c := range []struct{ query, code string }{
			{"license=pending&source=direct", "invalid_request"},
			{"product=" + rs5 + "&source=group", "invalid_request"},
			{"source=direct", "invalid_request"},
			{"license=named", "invalid_request"},
			{"product=" + rs5 + "&license=waiting", "invalid_request"},
			{"product=nope&license=pending", "unknown_product"},
		} {
			status, body := h.admin(t, read, "GET", "/users?"+c.query, "")
			if status == http.StatusOK || body["code"] != c.code {
				t.Errorf("GET /users?%s: %d %v, want code %s", c.query, status, body, c.code)
			}
		}

		status, body = h.admin(t, read, "GET", "/products/"+rs5, "")
		named, _ := body["named"].(map[string]any)
		if status != http.StatusOK || named["assigned"] != 2.0 || named["throughGroups"] != 1.0 || named["pending"] != 2.0 || named["total"] != 2.0 {
			t.Errorf("GET /products/%s: %d %v, want 2 of 2 assigned, 1 through groups, 2 pending", rs5, status, body)
		}
		// A plan that grows seats bob, first in line; cat is then first.
		if status, body := h.admin(t, h.adminToken(t, acct.ID, licensing.PrivBilling), "PUT", "/products/"+rs5+"/plan",
			`{"namedSeats":3,"concurrentSeats":5}`); status != http.StatusOK || body["named"].(map[string]any)["pending"] != 1.0 ||
			body["named"].(map[string]any)["throughGroups"] != 2.0 {
			t.Errorf("plan of 3 named seats: %d %v, want 2 through groups, 1 pending", status, body)
		}
		if got := licenses(cat); !strings.HasPrefix(got, "remote-support-v5/named/pending/named_seats_exhausted/1/") {
			t.Errorf("cat after bob was seated: %s, want first in line", got)
		}
	})
}

// TestAdminGroupLicenses: the admin API lists the account's groups in
// sealed pages and shows one, with their licenses and member counts; a token
// with the products privilege sets a group's licenses (audited, the same
// licenses again changing nothing), the write never fails for lack of
// named seats and answers the members left waiting, in line; ending a
// license ends the members' sessions of it; another account's group is
// 404 for every route and stays unchanged.
func TestAdminGroupLicenses(t *testing.T) {
	onGroups(t, 1, func(t *testing.T, f groupFixture) {
		store, h, acct, scim, other, otherSCIM := f.store, f.h, f.acct, f.scim, f.other, f.otherSCIM
		agents := f.agents(t, "ann", "bob", "cat")
		ann, bob, cat := agents[0], agents[1], agents[2]
		tier1 := licensedGroup(t, h, scim, "Tier 1", "concurrent", ann, bob, cat)
		empty := licensedGroup(t, h, scim, "Empty", "none")
		victim := agentUser(t, store, other.ID, "victim", true, nil)
		otherGroup := licensedGroup(t, h, otherSCIM, "Theirs", "concurrent", victim)

		read := h.adminToken(t, acct.ID, licensing.PrivRead)
		products := h.adminToken(t, acct.ID, licensing.PrivProducts)
		users := h.adminToken(t, acct.ID, licensing.PrivUsers)

		status, body := h.admin(t, read, "GET", "/groups?limit=1", "")
		items, _ := body["items"].([]any)
		next, _ := body["nextCursor"].(string)
		if status != http.StatusOK || len(items) != 1 || next == "" || items[0].(map[string]any)["id"] != tier1 ||
			jsonString(items[0].(map[string]any)["licenses"]) != `{"remote-support-v5":"concurrent"}` || items[0].(map[string]any)["memberCount"] != 3.0 {
			t.Fatalf("first page of groups: %d %v", status, body)
		}
		status, body = h.admin(t, read, "GET", "/groups?limit=1&cursor="+next, "")
		items, _ = body["items"].([]any)
		if status != http.StatusOK || len(items) != 1 || items[0].(map[string]any)["id"] != empty || body["nextCursor"] != nil ||
			items[0].(map[string]any)["memberCount"] != 0.0 {
			t.Errorf("second page of groups: %d %v, want Empty alone, with no members", status, body)
		}
		// A cursor of the users list opens no page of groups.
		_, ubody := h.admin(t, read, "GET", "/users?limit=1", "")
		if status, body := h.admin(t, read, "GET", "/groups?cursor="+ubody["nextCursor"].(string), ""); status != http.StatusBadRequest {
			t.Errorf("a users cursor on /groups: %d %v, want 400", status, body)
		}
		if status, body := h.admin(t, read, "GET", "/groups/"+tier1, ""); status != http.StatusOK || body["memberCount"] != 3.0 ||
			body["displayName"] != "Tier 1" {
			t.Errorf("GET /groups/tier1: %d %v, want 3 members", status, body)
		}

		// bob's session on the concurrent license ends when the group
		// switches to named, whether he gets the seat or waits: his
		// license in force changes either way.
		token, _ := signIn(t, h, acct.Name, "bob")
		status, sess := agentCall(t, h, "POST", "/sessions", token, `{"product":"remote-support-v5","platform":"windows"}`)
		if status != http.StatusCreated {
			t.Fatalf("bob's session: %d %v", status, sess)
		}

		for _, tok := range []string{read, users} {
			if status, body := h.admin(t, tok, "PUT", "/groups/"+tier1+"/licenses", `{"remote-support-v5":"named"}`); status != http.StatusForbidden {
				t.Errorf("PUT licenses without products: %d %v, want 403", status, body)
			}
		}
		for _, bad := range []string{`{"remote-support-v5":"gold"}`, `{"nope":"named"}`, `["remote-support-v5"]`, `{"remote-support-v5":""}`, `null`} {
			if status, body := h.admin(t, products, "PUT", "/groups/"+tier1+"/licenses", bad); status != http.StatusBadRequest || body["code"] != "invalid_request" {
				t.Errorf("PUT licenses %s: %d %v, want 400 invalid_request", bad, status, body)
			}
		}
		_, before := h.admin(t, read, "GET", "/groups/"+tier1, "")
		version := before["version"].(float64)
		status, body = h.admin(t, products, "PUT", "/groups/"+tier1+"/licenses", `{"remote-support-v5":"named","service-desk":"none"}`)
		pending, _ := body["pending"].([]any)
		if status != http.StatusOK || body["pendingCount"] != 2.0 || len(pending) != 2 ||
			jsonString(body["licenses"]) != `{"remote-support-v5":"named"}` || body["version"] != version+1 {
			t.Fatalf("PUT licenses named with 1 seat: %d %v, want 2 pending, version %v", status, body, version+1)
		}
		// The members became eligible in one write: the first by id
		// gets the seat, the others wait in id order.
		line := []licensing.User{ann, bob, cat}
		slices.SortFunc(line, func(a, b licensing.User) int { return strings.Compare(a.ID, b.ID) })
		for i, want := range line[1:] {
			p := pending[i].(map[string]any)
			if p["id"] != want.ID || p["place"] != float64(i+1) || p["product"] != rs5 {
				t.Errorf("pending[%d] = %v, want %s at place %d", i, p, want.UserName, i+1)
			}
		}
		// bob's license in force changed (concurrent -> waiting): his
		// session ended in the write.
		if status, e := agentCall(t, h, "POST", "/sessions/"+sess["id"].(string)+"/heartbeat", token, ""); status != http.StatusGone {
			t.Errorf("bob's heartbeat after his license went: %d %v, want 410", status, e)
		}
		// The same licenses again change nothing.
		status, body = h.admin(t, products, "PUT", "/groups/"+tier1+"/licenses", `{"remote-support-v5":"named"}`)
		if status != http.StatusOK || body["version"] != version+1 || body["pendingCount"] != 2.0 {
			t.Errorf("PUT the same licenses: %d %v, want the version unchanged and still 2 pending", status, body)
		}
		entries, _ := auditPage(t, h, read, "action=group.licenses")
		if len(entries) != 1 || entries[0]["detail"] != "Tier 1: remote-support-v5: concurrent -> named" {
			t.Errorf("audit of group.licenses: %v, want one entry naming the change", entries)
		}
		// SCIM reads the group's licenses as the admin API set them.
		if status, raw, g := scimCall(t, h, scim, "GET", "/Groups/"+tier1, ""); status != http.StatusOK ||
			jsonString(g["urn:ietf:params:scim:schemas:extension:licensing:2.0:Group"].(map[string]any)["remoteSupportV5"]) != `"named"` {
			t.Errorf("SCIM GET of the group: %d %s", status, raw)
		}
		// Clearing the licenses frees ann's seat and leaves nobody waiting.
		if status, body := h.admin(t, products, "PUT", "/groups/"+tier1+"/licenses", `{}`); status != http.StatusOK ||
			body["pendingCount"] != 0.0 || jsonString(body["licenses"]) != `{}` {
			t.Errorf("PUT {}: %d %v", status, body)
		}
		if got := strings.Join(listedNames(t, h, read, "product="+rs5), " "); got != "" {
			t.Errorf("holders of %s after the group gave it up: %q", rs5, got)
		}

		all := h.adminToken(t, acct.ID, licensing.AllPrivileges...)
		for _, c := range []struct{ method, path, body string }{
			{"GET", "/groups/" + otherGroup, ""},
			{"PUT", "/groups/" + otherGroup + "/licenses", `{"remote-support-v5":"named"}`},
			{"GET", "/groups/nope", ""},
		} {
			if status, body := h.admin(t, all, c.method, c.path, c.body); status != http.StatusNotFound || body["code"] != "not_found" {
				t.Errorf("%s %s: %d %v, want 404", c.method, c.path, status, body)
			}
		}
		if status, body := h.admin(t, all, "GET", "/groups", ""); status != http.StatusOK || strings.Contains(jsonString(body), otherGroup) {
			t.Errorf("GET /groups shows another account's group: %v", body)
		}
		g, err := store.Group(t.Context(), other.ID, otherGroup)
		if err != nil || g.Version != 2 || g.Assignments.Of(rs5) != licensing.LicenseConcurrent {
			t.Errorf("the other account's group: %+v %v, want unchanged", g, err)
		}
	})
}
