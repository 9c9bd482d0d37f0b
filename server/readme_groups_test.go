package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
)

// TestREADMEGroupLicensing replays, against a fresh server on each
// backend, the requests of the README's sections "Okta: group push with
// per-group licensing" and "Entra: group assignment" ({ann}, {bob} and
// {group} standing for the ids), and checks what those sections say the
// admin sees through the admin API after each step.
func TestREADMEGroupLicensing(t *testing.T) {
	okta := readmeRequests(t, "## Okta: group push with per-group licensing", "## Entra: group assignment")
	entra := readmeRequests(t, "## Entra: group assignment", "## Okta: entitlements with Identity Governance")
	if len(okta) != 5 || len(entra) != 5 {
		t.Fatalf("README requests: %d for Okta, %d for Entra, want 5 and 5", len(okta), len(entra))
	}
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			store := b.Open(t)
			h := newHarness(t, store)
			ctx := context.Background()
			for _, side := range []struct {
				name  string
				reqs  []readmeRequest
				plans []licensing.Plan
				after []string // the licenses of ann and bob after each request, as seen by the admin API
			}{
				{"okta", okta, []licensing.Plan{{ProductID: rs5, NamedSeats: 1, ConcurrentSeats: 5}}, []string{
					" | ", " | ",
					"remote-support-v5/named/active/group | ",
					"remote-support-v5/named/active/group | remote-support-v5/named/pending1/group",
					" | remote-support-v5/named/active/group",
				}},
				{"entra", entra, []licensing.Plan{{ProductID: rs5, NamedSeats: 5, ConcurrentSeats: 5}, {ProductID: "service-desk", NamedSeats: 5, ConcurrentSeats: 5}}, []string{
					" | ",
					"remote-support-v5/concurrent/active/group | remote-support-v5/concurrent/active/group",
					"remote-support-v5/concurrent/active/group service-desk/concurrent/active/group | remote-support-v5/concurrent/active/group service-desk/concurrent/active/group",
					" | remote-support-v5/concurrent/active/group service-desk/concurrent/active/group",
					" | service-desk/concurrent/active/group",
				}},
			} {
				t.Run(side.name, func(t *testing.T) {
					acct, bearer := h.account(t)
					for _, p := range side.plans {
						p.AccountID = acct.ID
						if err := store.SetPlan(ctx, p); err != nil {
							t.Fatal(err)
						}
					}
					ann := agentUser(t, store, acct.ID, "ann@example.com", true, nil)
					bob := agentUser(t, store, acct.ID, "bob@example.com", true, nil)
					read := h.adminToken(t, acct.ID, licensing.PrivRead)
					group := ""
					seen := func(u licensing.User) string {
						status, body := h.admin(t, read, "GET", "/users/"+u.ID, "")
						if status != http.StatusOK {
							t.Fatalf("GET /users/%s: %d %v", u.UserName, status, body)
						}
						if len(body["products"].(map[string]any)) != 0 {
							t.Errorf("%s holds direct products %v: group writes must not make any", u.UserName, body["products"])
						}
						var out []string
						for _, l := range body["licenses"].([]any) {
							l := l.(map[string]any)
							status := l["status"].(string)
							if status == "pending" {
								status += jsonString(l["place"])
							}
							src := jsonString(l["sources"])
							if src == `["`+group+`"]` {
								src = "group"
							}
							out = append(out, l["product"].(string)+"/"+l["license"].(string)+"/"+status+"/"+src)
						}
						return strings.Join(out, " ")
					}
					for i, r := range side.reqs {
						path := strings.NewReplacer("{group}", group).Replace(r.path)
						body := strings.NewReplacer("{ann}", ann.ID, "{bob}", bob.ID).Replace(r.body)
						status, raw, answer := scimCall(t, h, bearer, r.method, path, body)
						if status >= 300 {
							t.Fatalf("%s %s: %d %s", r.method, path, status, raw)
						}
						if r.method == http.MethodPost {
							group, _ = answer["id"].(string)
						}
						if got := seen(ann) + " | " + seen(bob); got != side.after[i] {
							t.Errorf("after %s %s: ann | bob hold %q, want %q", r.method, r.path, got, side.after[i])
						}
					}
				})
			}
		})
	}
}
