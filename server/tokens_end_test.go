package server_test

import (
	"net/http"
	"testing"

	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
)

// TestAgentTokensEnd proves that an agent's tokens end: a sign-in token
// cannot sign in again to renew itself, and changing the user's password
// (over SCIM or the admin API) or deactivating the user revokes every
// token of theirs, sign-in tokens and admin-made agent tokens alike,
// while a write that repeats the stored password revokes nothing.
func TestAgentTokensEnd(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			store := b.Open(t)
			h := newHarness(t, store)
			acct, scimToken := h.account(t)
			ann := agentUser(t, store, acct.ID, "ann", true, nil)
			boss := h.adminToken(t, acct.ID, licensing.PrivTokens, licensing.PrivSessions, licensing.PrivUsers)
			works := func(bearer string) bool {
				t.Helper()
				status, body := agentCall(t, h, "GET", "/sessions", bearer, "")
				if status != http.StatusOK && status != http.StatusUnauthorized {
					t.Fatalf("GET /sessions: %d %v", status, body)
				}
				return status == http.StatusOK
			}
			signInWith := func(bearer string) (int, map[string]any) {
				t.Helper()
				return agentCall(t, h, "POST", "/signin", bearer, "")
			}
			signInAs := func(password string) string {
				t.Helper()
				status, body := agentCall(t, h, "POST", "/signin", "", `{"account":"`+acct.Name+`","userName":"ann","password":"`+password+`"}`)
				if status != http.StatusOK {
					t.Fatalf("sign in with %q: %d %v", password, status, body)
				}
				return body["token"].(string)
			}

			first := signInAs("secret-ann")
			if status, body := signInWith(first); status != http.StatusUnauthorized || body["code"] != "unauthenticated" {
				t.Errorf("a sign-in token signed in again: %d %v, want 401", status, body)
			}
			kiosk := createToken(t, h, boss, `{"name":"kiosk","scope":"agent","userId":"`+ann.ID+`"}`)["token"].(string)
			status, body := signInWith(kiosk)
			if status != http.StatusOK {
				t.Fatalf("an admin-made agent token cannot sign in: %d %v", status, body)
			}
			second := body["token"].(string)
			if !works(first) || !works(second) || !works(kiosk) {
				t.Fatal("fresh tokens refused")
			}

			// Okta sends the password it set again with every update: the
			// same password changes nothing.
			patch := func(op string) {
				t.Helper()
				status, body := do(t, "PATCH", h.url+"/Users/"+ann.ID, scimToken,
					`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[`+op+`]}`)
				if status != http.StatusOK {
					t.Fatalf("SCIM PATCH %s: %d %v", op, status, body)
				}
			}
			patch(`{"op":"replace","path":"password","value":"secret-ann"}`)
			if !works(first) || !works(second) || !works(kiosk) {
				t.Fatal("repeating the stored password revoked tokens")
			}
			patch(`{"op":"replace","path":"password","value":"Changed-1"}`)
			for name, tok := range map[string]string{"first sign-in": first, "second sign-in": second, "admin-made": kiosk} {
				if works(tok) {
					t.Errorf("the %s token still works after a SCIM password change", name)
				}
			}

			third := signInAs("Changed-1")
			adminWant(t, h, boss, http.StatusOK, "", "PATCH", "/users/"+ann.ID, `{"password":"Changed-2"}`)
			if works(third) {
				t.Error("a sign-in token still works after an admin API password change")
			}
			fourth := signInAs("Changed-2")
			patch(`{"op":"replace","value":{"active":false}}`)
			if works(fourth) {
				t.Error("a sign-in token still works after the user was deactivated")
			}
			if status, body := agentCall(t, h, "POST", "/signin", "", `{"account":"`+acct.Name+`","userName":"ann","password":"Changed-2"}`); status != http.StatusForbidden || body["code"] != "user_inactive" {
				t.Errorf("an inactive user signed in: %d %v", status, body)
			}
		})
	}
}
