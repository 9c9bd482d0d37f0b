package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/scimd/scimd/internal/password"
	"github.com/scimd/scimd/internal/testenv"
)

// scimCall sends a SCIM request with the bearer and returns the status,
// the raw body and the decoded one.
func scimCall(t *testing.T, h *harness, bearer, method, path, body string) (int, string, map[string]any) {
	t.Helper()
	status, _, raw := send(t, method, h.url+path, bearer, "application/scim+json", body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return status, string(raw), m
}

// TestSCIMPassword checks that the password an identity provider sets is
// kept as an argon2id hash for the agent sign-in, never returned, kept by
// writes without one, and that repeating it changes nothing.
func TestSCIMPassword(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			store := b.Open(t)
			h := newHarness(t, store)
			acct, bearer := h.account(t)
			ctx := context.Background()
			hashOf := func(id string) string {
				t.Helper()
				u, err := store.User(ctx, acct.ID, id)
				if err != nil {
					t.Fatal(err)
				}
				return u.PasswordHash
			}
			noSecret := func(step, raw string) {
				t.Helper()
				for _, s := range []string{"placeholder-1", "n3w-Secret", "argon2id", "password"} {
					if strings.Contains(raw, s) {
						t.Errorf("%s: the answer contains %q: %s", step, s, raw)
					}
				}
			}

			status, raw, user := scimCall(t, h, bearer, "POST", "/Users",
				`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"pw@okta.local","password":"placeholder-1"}`)
			if status != http.StatusCreated {
				t.Fatalf("POST: %d %s", status, raw)
			}
			noSecret("POST", raw)
			id, _ := user["id"].(string)
			first := hashOf(id)
			if !strings.HasPrefix(first, "$argon2id$") || !password.Verify(first, "placeholder-1") {
				t.Fatalf("stored hash %q does not verify the password", first)
			}

			status, raw, _ = scimCall(t, h, bearer, "GET", "/Users/"+id+"?attributes=password", "")
			if status != http.StatusOK {
				t.Fatalf("GET: %d %s", status, raw)
			}
			noSecret("GET", raw)

			// Okta's PUT repeating the user and its placeholder changes nothing.
			status, raw, put := scimCall(t, h, bearer, "PUT", "/Users/"+id,
				`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"pw@okta.local","password":"placeholder-1"}`)
			if status != http.StatusOK {
				t.Fatalf("PUT: %d %s", status, raw)
			}
			noSecret("PUT", raw)
			if v := put["meta"].(map[string]any)["version"]; v != `W/"1"` {
				t.Errorf("a PUT repeating the password moved the version to %v", v)
			}
			if got := hashOf(id); got != first {
				t.Errorf("a PUT repeating the password rehashed it")
			}

			// A PUT without a password keeps the stored hash.
			status, raw, _ = scimCall(t, h, bearer, "PUT", "/Users/"+id,
				`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"pw@okta.local","displayName":"PW"}`)
			if status != http.StatusOK {
				t.Fatalf("PUT without password: %d %s", status, raw)
			}
			if got := hashOf(id); got != first {
				t.Errorf("a PUT without a password changed the hash")
			}

			// A PATCH setting only a new password is a change.
			status, raw, patched := scimCall(t, h, bearer, "PATCH", "/Users/"+id,
				`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"password","value":"n3w-Secret"}]}`)
			if status != http.StatusOK {
				t.Fatalf("PATCH password: %d %s", status, raw)
			}
			noSecret("PATCH", raw)
			if v := patched["meta"].(map[string]any)["version"]; v != `W/"3"` {
				t.Errorf("a PATCH of the password left the version at %v", v)
			}
			second := hashOf(id)
			if second == first || !password.Verify(second, "n3w-Secret") || password.Verify(second, "placeholder-1") {
				t.Errorf("after the PATCH the hash does not verify the new password only")
			}

			// A PATCH of another attribute keeps it.
			status, raw, _ = scimCall(t, h, bearer, "PATCH", "/Users/"+id,
				`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`)
			if status != http.StatusOK {
				t.Fatalf("PATCH active: %d %s", status, raw)
			}
			if got := hashOf(id); got != second {
				t.Errorf("a PATCH without a password changed the hash")
			}

			// The password cannot be filtered on.
			status, raw, _ = scimCall(t, h, bearer, "GET", `/Users?filter=password%20eq%20%22n3w-Secret%22`, "")
			if status != http.StatusBadRequest {
				t.Errorf("filter by password: %d %s", status, raw)
			}
		})
	}
}
