package server_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
)

// productUsage renders a product answer's usage as named/concurrent
// numbers: "assigned/total occupied/total waiting".
func productUsage(p map[string]any) string {
	return adminJSON(p["named"]) + " " + adminJSON(p["concurrent"])
}

// TestAdminProducts checks the catalog with the account's usage (zero
// for products without a plan), the numbers after agents take seats and
// one waits, and plan changes: lowering named seats below those assigned
// is refused with the numbers and changes nothing, lowering concurrent
// seats below those occupied ends nobody.
func TestAdminProducts(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			store := b.Open(t)
			h := newHarness(t, store)
			acct, _ := h.account(t)
			other, _ := h.account(t)
			ctx := context.Background()
			billing := h.adminToken(t, acct.ID, licensing.PrivBilling)
			reader := h.adminToken(t, acct.ID, licensing.PrivRead)

			list := adminItems(adminWant(t, h, reader, http.StatusOK, "", "GET", "/products?limit=1", ""))
			if len(list) != len(licensing.DefaultCatalog().Products) || list[0]["id"] != rs5 || list[0]["name"] != "Remote Support v5" ||
				productUsage(list[0]) != `{"assigned":0,"pending":0,"throughGroups":0,"total":0} {"occupied":0,"total":0,"waiting":0}` {
				t.Fatalf("catalog without plans: %v", list)
			}

			p := adminWant(t, h, billing, http.StatusOK, "", "PUT", "/products/"+rs5+"/plan", `{"namedSeats":2,"concurrentSeats":2}`)
			if productUsage(p) != `{"assigned":0,"pending":0,"throughGroups":0,"total":2} {"occupied":0,"total":2,"waiting":0}` {
				t.Fatalf("plan set: %v", p)
			}
			agentUser(t, store, acct.ID, "ann", true, licensing.Assignments{rs5: licensing.LicenseConcurrent})
			agentUser(t, store, acct.ID, "bob", true, licensing.Assignments{rs5: licensing.LicenseConcurrent})
			cyd := agentUser(t, store, acct.ID, "cyd", true, licensing.Assignments{rs5: licensing.LicenseConcurrent})
			agentUser(t, store, acct.ID, "dan", true, licensing.Assignments{rs5: licensing.LicenseNamed})
			for _, name := range []string{"ann", "bob"} {
				agent, _ := signIn(t, h, acct.Name, name)
				if status, s := agentCall(t, h, "POST", "/sessions", agent, `{"product":"remote-support-v5","platform":"windows"}`); status != http.StatusCreated {
					t.Fatalf("%s's session: %d %v", name, status, s)
				}
			}
			now := time.Now().UTC()
			if _, err := store.JoinQueue(ctx, acct.ID, rs5, cyd.ID, now, now.Add(time.Hour), 0); err != nil {
				t.Fatal(err)
			}
			const busy = `{"assigned":1,"pending":0,"throughGroups":0,"total":2} {"occupied":2,"total":2,"waiting":1}`
			if p := adminWant(t, h, reader, http.StatusOK, "", "GET", "/products/"+rs5, ""); productUsage(p) != busy {
				t.Errorf("usage with two seats taken and one waiting: %v", p)
			}
			list = adminItems(adminWant(t, h, reader, http.StatusOK, "", "GET", "/products", ""))
			if productUsage(list[0]) != busy || list[2]["id"] != "service-desk" ||
				productUsage(list[2]) != `{"assigned":0,"pending":0,"throughGroups":0,"total":0} {"occupied":0,"total":0,"waiting":0}` {
				t.Errorf("catalog with usage: %v", list)
			}
			if p := adminWant(t, h, h.adminToken(t, other.ID, licensing.PrivRead), http.StatusOK, "", "GET", "/products/"+rs5, ""); productUsage(p) != `{"assigned":0,"pending":0,"throughGroups":0,"total":0} {"occupied":0,"total":0,"waiting":0}` {
				t.Errorf("another account sees %v", p)
			}

			// Named seats cannot go below the one assigned; nothing changes.
			m := adminWant(t, h, billing, http.StatusConflict, "plan_below_assigned", "PUT", "/products/"+rs5+"/plan", `{"namedSeats":0,"concurrentSeats":5}`)
			if want := "Cannot lower the named licenses of Remote Support v5 to 0: 1 are assigned. Unassign 1 first."; m["detail"] != want {
				t.Errorf("refused plan: %q, want %q", m["detail"], want)
			}
			if p := adminWant(t, h, reader, http.StatusOK, "", "GET", "/products/"+rs5, ""); productUsage(p) != busy {
				t.Errorf("usage after the refused plan: %v", p)
			}
			// Concurrent seats may go below those occupied: nobody is ended.
			p = adminWant(t, h, billing, http.StatusOK, "", "PUT", "/products/"+rs5+"/plan", `{"namedSeats":1,"concurrentSeats":1}`)
			if productUsage(p) != `{"assigned":1,"pending":0,"throughGroups":0,"total":1} {"occupied":2,"total":1,"waiting":1}` {
				t.Errorf("plan below occupancy: %v", p)
			}
			if open, err := store.OpenSessions(ctx, acct.ID, rs5); err != nil || len(open) != 2 {
				t.Errorf("open sessions after lowering the plan: %d %v", len(open), err)
			}

			trail := auditTrail(t, store, acct.ID, licensing.AuditQuery{Action: "plan.change", TargetType: "plan", TargetID: rs5})
			if want := []string{"plan.change named 1, concurrent 1", "plan.change named 2, concurrent 2"}; !slices.Equal(trail, want) {
				t.Errorf("audit: %q, want %q", trail, want)
			}

			for _, tc := range []struct {
				token, method, path, body string
				status                    int
				code                      string
			}{
				{billing, "PUT", "/products/" + rs5 + "/plan", `{"namedSeats":1}`, http.StatusBadRequest, "invalid_request"},
				{billing, "PUT", "/products/" + rs5 + "/plan", `{"namedSeats":-1,"concurrentSeats":1}`, http.StatusBadRequest, "invalid_request"},
				{billing, "PUT", "/products/" + rs5 + "/plan", `{"namedSeats":1.5,"concurrentSeats":1}`, http.StatusBadRequest, "invalid_request"},
				{billing, "PUT", "/products/" + rs5 + "/plan", `{"namedSeats":"1","concurrentSeats":1}`, http.StatusBadRequest, "invalid_request"},
				{billing, "PUT", "/products/" + rs5 + "/plan", `{"namedSeats":1e12,"concurrentSeats":1}`, http.StatusBadRequest, "invalid_request"},
				{billing, "PUT", "/products/" + rs5 + "/plan", `{"namedSeats":1,"concurrentSeats":3000000000}`, http.StatusBadRequest, "invalid_request"},
				{billing, "PUT", "/products/" + rs5 + "/plan", `{"namedSeats":1,"concurrentSeats":1,"seats":1}`, http.StatusBadRequest, "invalid_request"},
				{billing, "PUT", "/products/" + rs5 + "/plan", `{"namedSeats":1,`, http.StatusBadRequest, "invalid_request"},
				{billing, "PUT", "/products/nope/plan", `{"namedSeats":1,"concurrentSeats":1}`, http.StatusNotFound, "unknown_product"},
				{reader, "GET", "/products/nope", "", http.StatusNotFound, "unknown_product"},
				{reader, "GET", "/products?limit=0", "", http.StatusBadRequest, "invalid_request"},
				{reader, "PUT", "/products/" + rs5 + "/plan", `{"namedSeats":9,"concurrentSeats":9}`, http.StatusForbidden, "forbidden"},
			} {
				adminWant(t, h, tc.token, tc.status, tc.code, tc.method, tc.path, tc.body)
			}
		})
	}
}
