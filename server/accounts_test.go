package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
)

// do sends a SCIM request with the bearer token and returns status and
// decoded body.
func do(t *testing.T, method, url, bearer, body string) (int, map[string]any) {
	t.Helper()
	status, _, raw := send(t, method, url, bearer, "application/scim+json", body)
	return status, decodeObject(t, method+" "+url, raw)
}

// TestNothingCrossesAccounts checks that one account's token can neither
// read, change, delete, find nor reference another account's resources,
// and that revoked tokens stop working.
func TestNothingCrossesAccounts(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			h := newHarness(t, b.Open(t))
			_, tokA := h.account(t)
			acctB, tokB := h.account(t)

			status, user := do(t, "POST", h.url+"/Users", tokA, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"shared@example.com","externalId":"ext-1"}`)
			if status != http.StatusCreated {
				t.Fatalf("create in A: %d %v", status, user)
			}
			uid := user["id"].(string)
			status, group := do(t, "POST", h.url+"/Groups", tokA, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Team"}`)
			if status != http.StatusCreated {
				t.Fatalf("create group in A: %d %v", status, group)
			}
			gid := group["id"].(string)

			patch := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`
			put := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"stolen@example.com"}`
			for _, c := range []struct{ method, path, body string }{
				{"GET", "/Users/" + uid, ""},
				{"PUT", "/Users/" + uid, put},
				{"PATCH", "/Users/" + uid, patch},
				{"DELETE", "/Users/" + uid, ""},
				{"GET", "/Groups/" + gid, ""},
				{"PATCH", "/Groups/" + gid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"displayName":"Mine"}}]}`},
				{"DELETE", "/Groups/" + gid, ""},
			} {
				if status, body := do(t, c.method, h.url+c.path, tokB, c.body); status != http.StatusNotFound {
					t.Errorf("B %s %s = %d %v, want 404", c.method, c.path, status, body)
				}
			}
			for _, q := range []string{`id eq "` + uid + `"`, `userName eq "shared@example.com"`, `externalId eq "ext-1"`} {
				status, list := do(t, "GET", h.url+"/Users?filter="+urlQuery(q), tokB, "")
				if status != http.StatusOK || list["totalResults"] != float64(0) {
					t.Errorf("B filter %s = %d %v, want an empty list", q, status, list)
				}
			}
			// B may use the same userName: uniqueness is per account.
			if status, body := do(t, "POST", h.url+"/Users", tokB, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"shared@example.com"}`); status != http.StatusCreated {
				t.Errorf("B create same userName = %d %v, want 201", status, body)
			}
			// B cannot make A's user a member of its group.
			status, body := do(t, "POST", h.url+"/Groups", tokB, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"B team","members":[{"value":"`+uid+`"}]}`)
			if status != http.StatusBadRequest {
				t.Errorf("B group with A's member = %d %v, want 400", status, body)
			}
			// A's resources are untouched.
			if status, body := do(t, "GET", h.url+"/Users/"+uid, tokA, ""); status != http.StatusOK || body["userName"] != "shared@example.com" || body["active"] != true {
				t.Errorf("A's user after B's attempts: %d %v", status, body)
			}

			// A revoked token stops working at once.
			page, err := h.store.Tokens(context.Background(), acctB.ID, licensing.TokenQuery{Limit: 10})
			tokens := page.Items
			if err != nil || len(tokens) != 1 {
				t.Fatalf("tokens of B: %v %v", tokens, err)
			}
			if err := h.store.RevokeToken(context.Background(), acctB.ID, tokens[0].ID, licensing.SystemClock{}.Now()); err != nil {
				t.Fatal(err)
			}
			if status, _ := do(t, "GET", h.url+"/Users", tokB, ""); status != http.StatusUnauthorized {
				t.Errorf("revoked token answered %d, want 401", status)
			}
		})
	}
}

func urlQuery(s string) string {
	r := strings.NewReplacer(" ", "%20", `"`, "%22", "@", "%40")
	return r.Replace(s)
}
