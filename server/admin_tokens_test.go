package server_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
)

// createToken makes a token through the admin API and returns the answer,
// failing the test unless it is 201.
func createToken(t *testing.T, h *harness, bearer, body string) map[string]any {
	t.Helper()
	status, answer := h.admin(t, bearer, "POST", "/tokens", body)
	if status != http.StatusCreated {
		t.Fatalf("POST /tokens %s: %d %v", body, status, answer)
	}
	return answer
}

// TestAdminTokens proves that tokens made through the API work in their
// scope, are shown without hash or secret (the secret once, at creation),
// are listed by creation with a scope filter and cursor paging, and that
// making and revoking them is recorded in the audit log.
func TestAdminTokens(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			store := b.Open(t)
			h := newHarness(t, store)
			acct, scimBearer := h.account(t)
			_, otherBearer := h.account(t)
			boss := h.adminToken(t, acct.ID, licensing.AllPrivileges...)
			bossToken := tokenOf(t, store, boss)
			first, other := tokenOf(t, store, scimBearer), tokenOf(t, store, otherBearer)

			made := createToken(t, h, boss, `{"name":"reporting","scope":"admin","privileges":["read","sessions","read"]}`)
			bearer, _ := made["token"].(string)
			id, _ := made["id"].(string)
			if tid, ok := licensing.TokenID(bearer); !ok || tid != id {
				t.Fatalf("answer %v: token is not the bearer string of id %s", made, id)
			}
			if made["name"] != "reporting" || made["scope"] != "admin" || fmt.Sprint(made["privileges"]) != "[read sessions]" || made["createdAt"] == nil {
				t.Errorf("made %v", made)
			}
			for _, k := range []string{"hash", "secret", "revokedAt", "expiresAt", "userId"} {
				if _, ok := made[k]; ok {
					t.Errorf("answer has %q: %v", k, made)
				}
			}
			if status, _ := h.admin(t, bearer, "GET", "/audit", ""); status != http.StatusOK {
				t.Errorf("the new read token reading the audit log: %d", status)
			}
			if status, _ := h.admin(t, bearer, "POST", "/tokens", `{"name":"x","scope":"scim"}`); status != http.StatusForbidden {
				t.Errorf("the new token without tokens privilege making a token: %d, want 403", status)
			}
			scimMade := createToken(t, h, boss, `{"name":"okta","scope":"scim"}`)
			if status, _, _ := scimCall(t, h, scimMade["token"].(string), "GET", "/Users", ""); status != http.StatusOK {
				t.Errorf("SCIM token made through the API: GET /Users %d", status)
			}
			if fmt.Sprint(scimMade["privileges"]) != "[]" {
				t.Errorf("SCIM token privileges %v, want []", scimMade["privileges"])
			}

			// The list: every token of the account by creation, never a
			// secret; the scope filter; pages of one walk them all once.
			status, body := h.admin(t, boss, "GET", "/tokens", "")
			if status != http.StatusOK {
				t.Fatalf("GET /tokens: %d %v", status, body)
			}
			items, next := listItems(t, body)
			var ids []string
			for _, it := range items {
				ids = append(ids, it["id"].(string))
				if _, ok := it["token"]; ok {
					t.Errorf("list shows a secret: %v", it)
				}
				if _, ok := it["hash"]; ok {
					t.Errorf("list shows a hash: %v", it)
				}
			}
			scimID := scimMade["id"].(string)
			if want := []string{first.ID, bossToken.ID, id, scimID}; next != "" || !slices.Equal(ids, want) || slices.Contains(ids, other.ID) {
				t.Errorf("GET /tokens: ids %v (next %q), want %v", ids, next, want)
			}
			status, body = h.admin(t, bearer, "GET", "/tokens?scope=admin", "")
			if items, _ := listItems(t, body); status != http.StatusOK || len(items) != 2 || items[0]["id"] != bossToken.ID || items[1]["id"] != id {
				t.Errorf("GET /tokens?scope=admin with a read token: %d %v", status, body)
			}
			var walked []string
			for _, it := range walkPages(t, h, boss, "/tokens?limit=1") {
				walked = append(walked, it["id"].(string))
			}
			if !slices.Equal(walked, ids) {
				t.Errorf("pages of one walked %v, want %v", walked, ids)
			}
			for _, q := range []string{"scope=root", "cursor=%25%25", "cursor=e30", "limit=0"} {
				if status, body := h.admin(t, boss, "GET", "/tokens?"+q, ""); status != http.StatusBadRequest || body["code"] != "invalid_request" {
					t.Errorf("GET /tokens?%s: %d %v, want 400", q, status, body)
				}
			}

			// Revocation: 204, the token is refused at once, revoking again
			// changes nothing, and both writes are in the audit log.
			if status, body := h.admin(t, boss, "DELETE", "/tokens/"+id, ""); status != http.StatusNoContent {
				t.Fatalf("DELETE /tokens/%s: %d %v", id, status, body)
			}
			if status, body := h.admin(t, bearer, "GET", "/audit", ""); status != http.StatusUnauthorized || body["code"] != "unauthenticated" {
				t.Errorf("revoked token: %d %v, want 401", status, body)
			}
			if status, _ := h.admin(t, boss, "DELETE", "/tokens/"+id, ""); status != http.StatusNoContent {
				t.Errorf("revoking again: %d, want 204", status)
			}
			status, body = h.admin(t, boss, "GET", "/tokens?scope=admin", "")
			if items, _ := listItems(t, body); len(items) != 2 || items[1]["revokedAt"] == nil || items[0]["revokedAt"] != nil {
				t.Errorf("after revocation: %v", items)
			}
			entries, _ := auditPage(t, h, boss, "targetType=token&actor="+bossToken.ID)
			want := []string{
				`token.revoke ` + id + ` "reporting", scope admin, privileges read,sessions`,
				`token.create ` + scimID + ` "okta", scope scim`,
				`token.create ` + id + ` "reporting", scope admin, privileges read,sessions`,
			}
			var got []string
			for _, e := range entries {
				target := e["target"].(map[string]any)
				got = append(got, fmt.Sprint(e["action"], " ", target["id"], " ", e["detail"]))
				if actor := e["actor"].(map[string]any); actor["id"] != bossToken.ID || actor["name"] != bossToken.Name || actor["scope"] != "admin" {
					t.Errorf("actor %v, want the admin token %s", actor, bossToken.ID)
				}
				if strings.Contains(fmt.Sprint(e), "scimd_") {
					t.Errorf("audit entry shows a secret: %v", e)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("audit of tokens:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}

			// A token may revoke itself; it is refused afterwards.
			self := h.adminToken(t, acct.ID, licensing.PrivTokens)
			selfID, _ := licensing.TokenID(self)
			if status, _ := h.admin(t, self, "DELETE", "/tokens/"+selfID, ""); status != http.StatusNoContent {
				t.Errorf("revoking itself: %d, want 204", status)
			}
			if status, _ := h.admin(t, self, "GET", "/tokens", ""); status != http.StatusUnauthorized {
				t.Errorf("a token that revoked itself: %d, want 401", status)
			}
		})
	}
}

// TestAdminTokenAgent proves that an agent token made through the API
// signs in as its user at the agent API, until it is revoked, and that it
// needs a user of the account.
func TestAdminTokenAgent(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			store := b.Open(t)
			h := newHarness(t, store)
			acct, _ := h.account(t)
			other, _ := h.account(t)
			boss := h.adminToken(t, acct.ID, licensing.PrivTokens, licensing.PrivSessions)
			ann := agentUser(t, store, acct.ID, "ann", true, nil)
			stranger := agentUser(t, store, other.ID, "sam", true, nil)

			// An agent token can take a shared seat: making one needs the
			// sessions privilege too.
			tokensOnly := h.adminToken(t, acct.ID, licensing.PrivTokens)
			if status, body := h.admin(t, tokensOnly, "POST", "/tokens", `{"name":"x","scope":"agent","userId":"`+ann.ID+`"}`); status != http.StatusForbidden || body["code"] != "forbidden" {
				t.Errorf("agent token made with the tokens privilege alone: %d %v, want 403", status, body)
			}
			before := time.Now()
			made := createToken(t, h, boss, `{"name":"ann's kiosk","scope":"agent","userId":"`+ann.ID+`"}`)
			if made["userId"] != ann.ID || made["scope"] != "agent" {
				t.Errorf("agent token %v", made)
			}
			if exp, err := time.Parse(time.RFC3339Nano, fmt.Sprint(made["expiresAt"])); err != nil || exp.Before(before.Add(agentTokenTTL)) || exp.After(time.Now().Add(agentTokenTTL)) {
				t.Errorf("agent token expires at %v, want %s from now", made["expiresAt"], agentTokenTTL)
			}
			status, body := agentCall(t, h, "POST", "/signin", made["token"].(string), "")
			user, _ := body["user"].(map[string]any)
			if status != http.StatusOK || user["id"] != ann.ID || body["token"] == nil {
				t.Fatalf("sign in with the agent token: %d %v", status, body)
			}
			if status, body := h.admin(t, boss, "DELETE", "/tokens/"+made["id"].(string), ""); status != http.StatusNoContent {
				t.Fatalf("revoke: %d %v", status, body)
			}
			if status, body := agentCall(t, h, "POST", "/signin", made["token"].(string), ""); status != http.StatusUnauthorized {
				t.Errorf("sign in with the revoked agent token: %d %v, want 401", status, body)
			}

			for _, uid := range []string{stranger.ID, "00000000-0000-4000-8000-000000000000", "no-such-user"} {
				status, body := h.admin(t, boss, "POST", "/tokens", `{"name":"x","scope":"agent","userId":"`+uid+`"}`)
				if status != http.StatusNotFound || body["code"] != "not_found" {
					t.Errorf("agent token for user %s: %d %v, want 404", uid, status, body)
				}
			}
			// The account's agent tokens: the one made here, revoked, and
			// the sign-in token it got; none for the refused users.
			status, body = h.admin(t, boss, "GET", "/tokens?scope=agent", "")
			items, _ := listItems(t, body)
			if status != http.StatusOK || len(items) != 2 || items[0]["id"] != made["id"] || items[0]["revokedAt"] == nil ||
				items[1]["userId"] != ann.ID || items[1]["expiresAt"] == nil {
				t.Errorf("agent tokens: %d %v", status, items)
			}
		})
	}
}

// TestAdminTokenEscalation proves that a token cannot make a token that
// may do more than itself: an admin token gets at most the maker's
// privileges, a SCIM token needs users and products.
func TestAdminTokenEscalation(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			store := b.Open(t)
			h := newHarness(t, store)
			acct, _ := h.account(t)
			tokensOnly := h.adminToken(t, acct.ID, licensing.PrivTokens)
			manager := h.adminToken(t, acct.ID, licensing.PrivTokens, licensing.PrivRead, licensing.PrivUsers)
			for _, c := range []struct {
				bearer, body, missing string
			}{
				{tokensOnly, `{"name":"x","scope":"admin","privileges":["read"]}`, "read"},
				{tokensOnly, `{"name":"x","scope":"admin","privileges":["all"]}`, "billing,products,read,sessions,users"},
				{tokensOnly, `{"name":"x","scope":"scim"}`, "products,users"},
				{manager, `{"name":"x","scope":"admin","privileges":["read","billing","users"]}`, "billing"},
				{manager, `{"name":"x","scope":"scim"}`, "products"},
			} {
				status, body := h.admin(t, c.bearer, "POST", "/tokens", c.body)
				if status != http.StatusForbidden || body["code"] != "forbidden" || !strings.Contains(fmt.Sprint(body["detail"]), "lacks "+c.missing+".") {
					t.Errorf("POST /tokens %s: %d %v, want 403 naming %s", c.body, status, body, c.missing)
				}
			}
			createToken(t, h, tokensOnly, `{"name":"peer","scope":"admin","privileges":["tokens"]}`)
			createToken(t, h, manager, `{"name":"helpdesk","scope":"admin","privileges":["users","read"]}`)
			all := h.adminToken(t, acct.ID, licensing.AllPrivileges...)
			made := createToken(t, h, all, `{"name":"root","scope":"admin","privileges":["all"]}`)
			if fmt.Sprint(made["privileges"]) != "[billing products read sessions tokens users]" {
				t.Errorf("privileges all: %v", made["privileges"])
			}
			status, body := h.admin(t, all, "GET", "/tokens?scope=admin", "")
			if items, _ := listItems(t, body); status != http.StatusOK || len(items) != 6 {
				t.Errorf("admin tokens: %d, %d items, want the 3 made here and the 3 made through the API", status, len(items))
			}
		})
	}
}

// TestAdminTokenRefusals proves that bad bodies answer 400 and another
// account's tokens 404, changing nothing.
func TestAdminTokenRefusals(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			store := b.Open(t)
			h := newHarness(t, store)
			acct, _ := h.account(t)
			other, otherSCIM := h.account(t)
			all := h.adminToken(t, acct.ID, licensing.AllPrivileges...)
			ann := agentUser(t, store, acct.ID, "ann", true, nil)
			for _, body := range []string{
				``, `[]`, `{`, `{"name":"x","scope":"scim"}{}`,
				`{"scope":"scim"}`, `{"name":"  ","scope":"scim"}`, `{"name":"a\u0000b","scope":"scim"}`,
				`{"name":"` + strings.Repeat("n", 201) + `","scope":"scim"}`,
				`{"name":"x"}`, `{"name":"x","scope":"root"}`, `{"name":"x","scope":"SCIM"}`,
				`{"name":"x","scope":"admin"}`, `{"name":"x","scope":"admin","privileges":[]}`, `{"name":"x","scope":"admin","privileges":["root"]}`,
				`{"name":"x","scope":"scim","privileges":["read"]}`, `{"name":"x","scope":"agent","userId":"` + ann.ID + `","privileges":["read"]}`,
				`{"name":"x","scope":"agent"}`, `{"name":"x","scope":"scim","userId":"` + ann.ID + `"}`, `{"name":"x","scope":"admin","privileges":["read"],"userId":"` + ann.ID + `"}`,
				`{"name":"x","scope":"scim","secret":"mine"}`, `{"name":1,"scope":"scim"}`, `{"name":"x","scope":"admin","privileges":"read"}`,
			} {
				status, answer := h.admin(t, all, "POST", "/tokens", body)
				if status != http.StatusBadRequest || answer["code"] != "invalid_request" || answer["detail"] == "" {
					t.Errorf("POST /tokens %s: %d %v, want 400 invalid_request", body, status, answer)
				}
			}
			status, body := h.admin(t, all, "GET", "/tokens", "")
			if items, _ := listItems(t, body); status != http.StatusOK || len(items) != 2 {
				t.Errorf("after refused bodies the account has %d tokens, want its 2", len(items))
			}
			if entries, _ := auditPage(t, h, all, "actor="+mustTokenID(t, all)); len(entries) != 0 {
				t.Errorf("refused writes were recorded: %v", auditActions(entries))
			}

			otherID, _ := licensing.TokenID(otherSCIM)
			for _, id := range []string{otherID, "ffffffffffffffff", "not-a-token", "%00"} {
				if status, body := h.admin(t, all, "DELETE", "/tokens/"+id, ""); status != http.StatusNotFound || body["code"] != "not_found" {
					t.Errorf("DELETE /tokens/%s: %d %v, want 404", id, status, body)
				}
			}
			if tok, err := store.Token(context.Background(), otherID); err != nil || tok.RevokedAt != nil {
				t.Errorf("the other account's token after the refused revocation: %+v %v", tok, err)
			}
			if status, _, _ := scimCall(t, h, otherSCIM, "GET", "/Users", ""); status != http.StatusOK {
				t.Errorf("the other account's SCIM token: %d, want 200", status)
			}
			if entries, _ := auditPage(t, h, h.adminToken(t, other.ID, licensing.PrivRead), "actor="+mustTokenID(t, all)); len(entries) != 0 {
				t.Errorf("the other account's log: %v", auditActions(entries))
			}
		})
	}
}
