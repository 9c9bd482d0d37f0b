package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/scimd/scimd/admin"
	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
)

// matrixBody is a well-formed body for each write route, so that a
// request with the privilege reaches the handler.
var matrixBody = map[string]string{
	"POST /users":                         `{"userName":"matrix-user"}`,
	"PATCH /users/:id":                    `{"displayName":"Matrix"}`,
	"PUT /users/:id/products/:product":    `{"license":"concurrent"}`,
	"PUT /users/:id/privileges":           `{"privileges":[]}`,
	"PUT /products/:product/plan":         `{"namedSeats":5,"concurrentSeats":5}`,
	"POST /sessions/end":                  `{"ids":["remote-support-v5:00000000-0000-4000-8000-000000000000"]}`,
	"POST /tokens":                        `{"name":"matrix","scope":"admin","privileges":["tokens"]}`,
	"DELETE /users/:id/products/:product": ``,
	"PUT /groups/:id/licenses":            `{"remote-support-v5":"concurrent"}`,
}

// matrixPath fills a route's parameters with ids that name nothing (the
// product one names a real product), so a privileged request gets past the
// privilege check and no further harm is done.
func matrixPath(path string) string {
	r := strings.NewReplacer(":product", rs5, ":id", "00000000-0000-4000-8000-000000000000")
	if strings.HasPrefix(path, "/sessions/:id") {
		return "/sessions/" + rs5 + ":00000000-0000-4000-8000-000000000000"
	}
	if strings.HasPrefix(path, "/tokens/:id") {
		return "/tokens/ffffffffffffffff"
	}
	return r.Replace(path)
}

// TestAdminPrivilegeMatrix proves that every endpoint of the admin API
// answers 403 to a token without one of its privileges and lets a token
// with one of them through, for every privilege, and that tokens of the
// other scopes get 401.
func TestAdminPrivilegeMatrix(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			h := newHarness(t, b.Open(t))
			acct, scimBearer := h.account(t)
			tokens := map[licensing.Privilege]string{}
			for _, p := range licensing.AllPrivileges {
				tokens[p] = h.adminToken(t, acct.ID, p)
			}
			routes := admin.New(admin.Options{}).Routes()
			if len(routes) < 15 {
				t.Fatalf("only %d admin routes: the matrix would prove little", len(routes))
			}
			for _, r := range routes {
				key := r.Method + " " + r.Path
				path := matrixPath(r.Path)
				body := matrixBody[key]
				if body == "" && (r.Method == "POST" || r.Method == "PUT" || r.Method == "PATCH") {
					t.Errorf("%s: no sample body in matrixBody", key)
				}
				for _, p := range licensing.AllPrivileges {
					status, answer := h.admin(t, tokens[p], r.Method, path, body)
					allowed := slices.Contains(r.Privileges, p)
					switch {
					case !allowed && (status != http.StatusForbidden || answer["code"] != "forbidden"):
						t.Errorf("%s with only %s: %d %v, want 403 forbidden", key, p, status, answer)
					case allowed && (status == http.StatusForbidden || status == http.StatusUnauthorized):
						t.Errorf("%s with %s (which it needs): %d %v", key, p, status, answer)
					}
				}
				if status, _ := h.admin(t, scimBearer, r.Method, path, body); status != http.StatusUnauthorized {
					t.Errorf("%s with a SCIM token: %d, want 401", key, status)
				}
				if status, _ := h.admin(t, "", r.Method, path, body); status != http.StatusUnauthorized {
					t.Errorf("%s without a token: %d, want 401", key, status)
				}
			}
		})
	}
}

// TestAdminCrossAccount proves that an admin token holding every
// privilege can neither see nor change another account's users, seats,
// sessions or tokens: each id of the other account answers 404 and the
// other account's objects are unchanged afterwards.
func TestAdminCrossAccount(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			store := b.Open(t)
			h := newHarness(t, store)
			ctx := context.Background()
			a, _ := h.account(t)
			other, _ := h.account(t)
			all := h.adminToken(t, a.ID, licensing.AllPrivileges...)
			if err := store.SetPlan(ctx, licensing.Plan{AccountID: other.ID, ProductID: rs5, NamedSeats: 2, ConcurrentSeats: 2}); err != nil {
				t.Fatal(err)
			}
			victim := agentUser(t, store, other.ID, "victim@other.example", true, licensing.Assignments{rs5: licensing.LicenseConcurrent})
			agentBearer, _ := signIn(t, h, other.Name, victim.UserName)
			if status, body := agentCall(t, h, "POST", "/sessions", agentBearer, `{"product":"`+rs5+`","platform":"windows"}`); status != http.StatusCreated {
				t.Fatalf("victim's session: %d %v", status, body)
			}
			otherToken, _, err := licensing.IssueToken(ctx, store, licensing.SystemClock{}, other.ID, "other okta", licensing.ScopeSCIM)
			if err != nil {
				t.Fatal(err)
			}
			shared := rs5 + ":" + victim.ID

			for _, c := range []struct{ method, path, body string }{
				{"GET", "/users/" + victim.ID, ""},
				{"PATCH", "/users/" + victim.ID, `{"displayName":"Mallory"}`},
				{"PUT", "/users/" + victim.ID + "/products/" + rs5, `{"license":"named"}`},
				{"DELETE", "/users/" + victim.ID + "/products/" + rs5, ""},
				{"DELETE", "/users/" + victim.ID, ""},
				{"DELETE", "/sessions/" + shared, ""},
				{"DELETE", "/tokens/" + otherToken.ID, ""},
			} {
				if status, body := h.admin(t, all, c.method, c.path, c.body); status != http.StatusNotFound {
					t.Errorf("%s %s of another account: %d %v, want 404", c.method, c.path, status, body)
				}
			}
			status, body := h.admin(t, all, "POST", "/sessions/end", `{"ids":["`+shared+`"]}`)
			results, _ := body["results"].([]any)
			if status != http.StatusOK || len(results) != 1 || results[0].(map[string]any)["ended"] != false {
				t.Errorf("POST /sessions/end of another account's seat: %d %v, want one result not ended", status, body)
			}
			for _, path := range []string{"/users?q=victim", "/users?product=" + rs5, "/sessions", "/tokens", "/audit"} {
				status, body := h.admin(t, all, "GET", path, "")
				items, _ := body["items"].([]any)
				if status != http.StatusOK {
					t.Errorf("GET %s: %d %v", path, status, body)
				}
				for _, it := range items {
					if s := strings.ToLower(jsonString(it)); strings.Contains(s, victim.ID) || strings.Contains(s, otherToken.ID) || strings.Contains(s, "victim@") {
						t.Errorf("GET %s shows another account's object: %v", path, it)
					}
				}
			}
			status, body = h.admin(t, all, "GET", "/products/"+rs5, "")
			if conc, _ := body["concurrent"].(map[string]any); status != http.StatusOK || conc["occupied"] != float64(0) {
				t.Errorf("GET /products/%s counts another account's seats: %d %v", rs5, status, body)
			}

			// The other account is as it was.
			u, err := store.User(ctx, other.ID, victim.ID)
			if err != nil || u.DisplayName == "Mallory" || u.Assignments.Of(rs5) != licensing.LicenseConcurrent {
				t.Errorf("the other account's user changed: %+v %v", u, err)
			}
			if open, err := store.OpenSessions(ctx, other.ID, rs5); err != nil || len(open) != 1 {
				t.Errorf("the other account's session: %d open (%v), want 1", len(open), err)
			}
			if tok, err := store.Token(ctx, otherToken.ID); err != nil || tok.RevokedAt != nil {
				t.Errorf("the other account's token was revoked: %+v %v", tok, err)
			}
		})
	}
}

// jsonString renders a decoded JSON value back to text, for searching.
func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
