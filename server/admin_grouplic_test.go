package server_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
)

// licensedGroup makes, through SCIM, a group giving rs5 as license to the
// members (added one PATCH each, in that order: their join order) and
// returns its id.
func licensedGroup(t *testing.T, h *harness, bearer, name, license string, members ...licensing.User) string {
	t.Helper()
	status, raw, g := scimCall(t, h, bearer, "POST", "/Groups", `{`+groupSchema+`,"displayName":"`+name+`",
		"urn:ietf:params:scim:schemas:extension:licensing:2.0:Group":{"remoteSupportV5":"`+license+`"}}`)
	if status != http.StatusCreated {
		t.Fatalf("POST /Groups %s: %d %s", name, status, raw)
	}
	id := g["id"].(string)
	for _, m := range members {
		status, raw, _ := scimCall(t, h, bearer, "PATCH", "/Groups/"+id, `{`+patchSchema+`,
			"Operations":[{"op":"add","path":"members","value":[{"value":"`+m.ID+`"}]}]}`)
		if status != http.StatusOK {
			t.Fatalf("PATCH /Groups/%s add %s: %d %s", id, m.UserName, status, raw)
		}
	}
	return id
}

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
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			store := b.Open(t)
			h := newHarness(t, store)
			ctx := context.Background()
			acct, scim := h.account(t)
			other, otherSCIM := h.account(t)
			for _, id := range []string{acct.ID, other.ID} {
				if err := store.SetPlan(ctx, licensing.Plan{AccountID: id, ProductID: rs5, NamedSeats: 2, ConcurrentSeats: 5}); err != nil {
					t.Fatal(err)
				}
			}
			ann := agentUser(t, store, acct.ID, "ann", true, nil)
			bob := agentUser(t, store, acct.ID, "bob", true, nil)
			cat := agentUser(t, store, acct.ID, "cat", true, nil)
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
}
