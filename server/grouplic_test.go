package server_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
)

// TestGroupLicenseAgentSessions: an agent licensed only through a group
// signs in with the product, starts a session, and when the identity
// provider removes them from the group the session ends in that same
// request: the agent's next call answers 410, and a new session is
// refused.
func TestGroupLicenseAgentSessions(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			store := b.Open(t)
			h := newHarness(t, store)
			acct, bearer := h.account(t)
			if err := store.SetPlan(context.Background(), licensing.Plan{AccountID: acct.ID, ProductID: rs5, ConcurrentSeats: 2}); err != nil {
				t.Fatal(err)
			}
			ann := agentUser(t, store, acct.ID, "ann", true, nil)
			status, raw, g := scimCall(t, h, bearer, "POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],
				"displayName":"Tier 1","members":[{"value":"`+ann.ID+`"}],
				"urn:ietf:params:scim:schemas:extension:licensing:2.0:Group":{"remoteSupportV5":"concurrent"}}`)
			if status != http.StatusCreated {
				t.Fatalf("POST /Groups: %d %s", status, raw)
			}
			gid := g["id"].(string)

			token, body := signIn(t, h, acct.Name, "ann")
			products, _ := body["products"].([]any)
			if len(products) != 1 || products[0].(map[string]any)["license"] != "concurrent" {
				t.Fatalf("sign-in products %v, want remote-support-v5 as concurrent (inherited)", products)
			}
			status, sess := agentCall(t, h, "POST", "/sessions", token, `{"product":"remote-support-v5","platform":"windows"}`)
			if status != http.StatusCreated {
				t.Fatalf("start a session: %d %v", status, sess)
			}
			id := sess["id"].(string)

			status, raw, _ = scimCall(t, h, bearer, "PATCH", "/Groups/"+gid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
				"Operations":[{"op":"Remove","path":"members","value":[{"value":"`+ann.ID+`"}]}]}`)
			if status != http.StatusOK {
				t.Fatalf("PATCH remove member: %d %s", status, raw)
			}
			status, e := agentCall(t, h, "POST", "/sessions/"+id+"/heartbeat", token, "")
			if status != http.StatusGone || e["code"] != "session_ended" ||
				e["detail"] != "This session ended because your license for its product was removed." {
				t.Errorf("heartbeat after leaving the licensing group: %d %v, want 410 session_ended (deprovisioned)", status, e)
			}
			if status, e := agentCall(t, h, "POST", "/sessions", token, `{"product":"remote-support-v5","platform":"windows"}`); status != http.StatusForbidden {
				t.Errorf("new session without the license: %d %v, want 403", status, e)
			}
			usage, err := store.Usage(context.Background(), acct.ID)
			if err != nil || len(usage) != 1 || usage[0].ConcurrentOccupied != 0 {
				t.Errorf("usage %+v (%v): the seat should be free", usage, err)
			}
		})
	}
}
