package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/server"
)

// adminWant calls the admin API and fails the test unless it answers
// want; a problem answer must carry the code, if code is not "".
func adminWant(t *testing.T, h *harness, bearer string, want int, code, method, path, body string) map[string]any {
	t.Helper()
	status, m := h.admin(t, bearer, method, path, body)
	if status != want || (code != "" && m["code"] != code) {
		t.Fatalf("%s %s %s: %d %v, want %d %s", method, path, body, status, m, want, code)
	}
	return m
}

// adminItems returns the items of a list answer.
func adminItems(m map[string]any) []map[string]any {
	var out []map[string]any
	for _, it := range m["items"].([]any) {
		out = append(out, it.(map[string]any))
	}
	return out
}

// userNames lists the userNames of a user list answer.
func userNames(m map[string]any) []string {
	var out []string
	for _, u := range adminItems(m) {
		out = append(out, u["userName"].(string))
	}
	return out
}

// TestAdminUsersList checks the list filters (product with license
// named, concurrent or none, active, text on userName, displayName, name
// and email), that cursor paging walks every user once, and that bad
// parameters are refused.
func TestAdminUsersList(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			store := b.Open(t)
			h := newHarness(t, store)
			acct, _ := h.account(t)
			other, _ := h.account(t)
			ctx := context.Background()
			for _, p := range []string{rs5, "service-desk"} {
				if err := store.SetPlan(ctx, licensing.Plan{AccountID: acct.ID, ProductID: p, NamedSeats: 5, ConcurrentSeats: 5}); err != nil {
					t.Fatal(err)
				}
			}
			admin := h.adminToken(t, acct.ID, licensing.PrivUsers, licensing.PrivProducts)
			for _, body := range []string{
				`{"userName":"ann","name":{"givenName":"Ann","familyName":"Lee"},"email":"ann@corp.test","products":{"remote-support-v5":"concurrent"}}`,
				`{"userName":"bob","displayName":"Bob Stone","products":{"remote-support-v5":"named"}}`,
				`{"userName":"cyd","active":false,"products":{"remote-support-v5":"concurrent"}}`,
				`{"userName":"dan","email":"dan@Sample.org"}`,
				`{"userName":"eve","products":{"remote-support-v5":"concurrent","service-desk":"named"}}`,
				`{"userName":"fay","products":{"service-desk":"named"}}`,
			} {
				adminWant(t, h, admin, http.StatusCreated, "", "POST", "/users", body)
			}
			adminWant(t, h, h.adminToken(t, other.ID, licensing.PrivUsers, licensing.PrivProducts), http.StatusCreated, "", "POST", "/users",
				`{"userName":"zed","email":"zed@sample.org","products":{"remote-support-v5":"concurrent"}}`)

			reader := h.adminToken(t, acct.ID, licensing.PrivRead)
			for _, tc := range []struct{ query, want string }{
				{"", "ann bob cyd dan eve fay"},
				// By license in force, which inactive cyd does not have.
				{"product=remote-support-v5", "ann bob eve"},
				{"product=remote-support-v5&license=concurrent", "ann eve"},
				{"product=remote-support-v5&license=named", "bob"},
				{"product=remote-support-v5&license=none", "cyd dan fay"},
				// By direct assignment, whatever the activity.
				{"product=remote-support-v5&source=direct", "ann bob cyd eve"},
				{"product=remote-support-v5&license=concurrent&source=direct", "ann cyd eve"},
				{"product=remote-support-v5&license=none&source=direct", "dan fay"},
				{"product=service-desk&license=Named", "eve fay"},
				{"active=false", "cyd"},
				{"product=remote-support-v5&license=concurrent&active=true", "ann eve"},
				{"q=SAMPLE.org", "dan"},
				{"q=lee", "ann"},
				{"q=ann", "ann"},
				{"q=stone", "bob"},
				{"q=" + url.QueryEscape("%"), ""},
				{"q=e&product=service-desk", "eve"},
			} {
				got := strings.Join(userNames(adminWant(t, h, reader, http.StatusOK, "", "GET", "/users?"+tc.query, "")), " ")
				if got != tc.want {
					t.Errorf("GET /users?%s: %q, want %q", tc.query, got, tc.want)
				}
			}

			// limit=2 walks every user exactly once, in three pages.
			var walked []string
			cursor, pages := "", 0
			for {
				page := adminWant(t, h, reader, http.StatusOK, "", "GET", "/users?limit=2&cursor="+url.QueryEscape(cursor), "")
				pages++
				walked = append(walked, userNames(page)...)
				next, _ := page["nextCursor"].(string)
				if next == "" {
					break
				}
				if pages > 6 {
					t.Fatalf("paging does not end: %v", walked)
				}
				cursor = next
			}
			if strings.Join(walked, " ") != "ann bob cyd dan eve fay" || pages != 3 {
				t.Errorf("paging with limit=2 walked %v in %d pages", walked, pages)
			}

			for _, tc := range []struct {
				query  string
				status int
				code   string
			}{
				{"limit=0", http.StatusBadRequest, "invalid_request"},
				{"limit=501", http.StatusBadRequest, "invalid_request"},
				{"limit=two", http.StatusBadRequest, "invalid_request"},
				{"cursor=bogus", http.StatusBadRequest, "invalid_request"},
				{"product=remote-support-v5&license=bogus", http.StatusBadRequest, "invalid_request"},
				{"license=named", http.StatusBadRequest, "invalid_request"},
				{"active=yes", http.StatusBadRequest, "invalid_request"},
				{"q=" + strings.Repeat("x", 300), http.StatusBadRequest, "invalid_request"},
				{"product=nope", http.StatusNotFound, "unknown_product"},
			} {
				adminWant(t, h, reader, tc.status, tc.code, "GET", "/users?"+tc.query, "")
			}
		})
	}
}

// TestAdminUserLifecycle creates, reads, updates and deletes a user
// through the admin API and checks that SCIM sees the same user (and the
// admin API the users SCIM makes), that the password set here signs the
// agent in, and that each write is audited once.
func TestAdminUserLifecycle(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			store := b.Open(t)
			h := newHarness(t, store)
			acct, scimBearer := h.account(t)
			ctx := context.Background()
			for _, p := range []licensing.Plan{
				{AccountID: acct.ID, ProductID: rs5, ConcurrentSeats: 2},
				{AccountID: acct.ID, ProductID: "service-desk", NamedSeats: 1},
			} {
				if err := store.SetPlan(ctx, p); err != nil {
					t.Fatal(err)
				}
			}
			admin := h.adminToken(t, acct.ID, licensing.PrivUsers, licensing.PrivProducts)

			status, header, raw := send(t, "POST", h.base+server.AdminPath+"/users", admin, "application/json",
				`{"userName":"ann@corp.test","displayName":"Ann Lee","name":{"givenName":"Ann","familyName":"Lee"},"email":"ann@corp.test",
				  "password":"secret-ann@corp.test","products":{"remote-support-v5":"concurrent","service-desk":"none"}}`)
			ann := decodeObject(t, "create", raw)
			if status != http.StatusCreated || ann["version"] != 1.0 || ann["active"] != true || ann["email"] != "ann@corp.test" ||
				ann["name"].(map[string]any)["familyName"] != "Lee" || len(ann["products"].(map[string]any)) != 1 || ann["password"] != nil {
				t.Fatalf("create: %d %v", status, ann)
			}
			id := ann["id"].(string)
			if loc := header.Get("Location"); loc != h.base+server.AdminPath+"/users/"+id {
				t.Errorf("Location %q", loc)
			}
			if got := adminWant(t, h, admin, http.StatusOK, "", "GET", "/users/"+id, ""); got["userName"] != "ann@corp.test" || got["displayName"] != "Ann Lee" {
				t.Errorf("get: %v", got)
			}

			// SCIM sees the user as an identity provider would have made it.
			status, su := do(t, "GET", h.url+"/Users/"+id, scimBearer, "")
			emails, _ := su["emails"].([]any)
			ext, _ := su["urn:ietf:params:scim:schemas:extension:licensing:2.0:User"].(map[string]any)
			if status != http.StatusOK || su["userName"] != "ann@corp.test" || su["displayName"] != "Ann Lee" || su["active"] != true ||
				su["name"].(map[string]any)["givenName"] != "Ann" || len(emails) != 1 ||
				emails[0].(map[string]any)["value"] != "ann@corp.test" || emails[0].(map[string]any)["primary"] != true ||
				ext["remoteSupportV5"] != "concurrent" || ext["serviceDesk"] != "none" || su["password"] != nil {
				t.Fatalf("SCIM GET of the admin's user: %d %v", status, su)
			}
			// The password signs the agent in.
			signIn(t, h, acct.Name, "ann@corp.test")

			adminWant(t, h, admin, http.StatusConflict, "conflict", "POST", "/users", `{"userName":"ANN@corp.test"}`)
			if m := adminWant(t, h, admin, http.StatusConflict, "", "POST", "/users", `{"userName":"ann@corp.test"}`); !strings.Contains(m["detail"].(string), "taken") {
				t.Errorf("conflict detail: %v", m)
			}

			// A patch changes the fields present; one that changes nothing
			// keeps the version.
			p := adminWant(t, h, admin, http.StatusOK, "", "PATCH", "/users/"+id,
				`{"displayName":"Ann Lee-Smith","name":{"familyName":"Lee-Smith"},"products":{"remote-support-v5":"none","service-desk":"named"}}`)
			if p["version"] != 2.0 || p["displayName"] != "Ann Lee-Smith" || p["name"].(map[string]any)["givenName"] != "Ann" ||
				p["name"].(map[string]any)["familyName"] != "Lee-Smith" || p["email"] != "ann@corp.test" ||
				!mapIs(p["products"], map[string]any{"service-desk": "named"}) {
				t.Fatalf("patch: %v", p)
			}
			for _, body := range []string{`{}`, `{"displayName":"Ann Lee-Smith","active":true,"products":{"remote-support-v4":"none"}}`} {
				if again := adminWant(t, h, admin, http.StatusOK, "", "PATCH", "/users/"+id, body); again["version"] != 2.0 || again["lastModified"] != p["lastModified"] {
					t.Errorf("patch %s changed the user: %v", body, again)
				}
			}
			adminWant(t, h, admin, http.StatusOK, "", "PATCH", "/users/"+id, `{"email":"ann.lee@corp.test","active":false}`)

			// A user made over SCIM, with attributes the admin API does not
			// show, is listed and patched here without losing them.
			status, bob := do(t, "POST", h.url+"/Users", scimBearer, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bob","title":"Engineer",
				"emails":[{"value":"bob@home.test","type":"home"},{"value":"bob@corp.test","type":"work","primary":true}]}`)
			if status != http.StatusCreated {
				t.Fatalf("SCIM create: %d %v", status, bob)
			}
			found := adminItems(adminWant(t, h, admin, http.StatusOK, "", "GET", "/users?q=corp.test", ""))
			if len(found) != 2 || found[0]["userName"] != "ann@corp.test" || found[0]["email"] != "ann.lee@corp.test" || found[0]["active"] != false ||
				found[1]["userName"] != "bob" || found[1]["email"] != "bob@corp.test" || found[1]["id"] != bob["id"] {
				t.Fatalf("list after SCIM create: %v", found)
			}
			bobID := bob["id"].(string)
			adminWant(t, h, admin, http.StatusOK, "", "PATCH", "/users/"+bobID, `{"email":"robert@corp.test"}`)
			_, bob = do(t, "GET", h.url+"/Users/"+bobID, scimBearer, "")
			if bob["title"] != "Engineer" || adminJSON(bob["emails"]) != `[{"type":"home","value":"bob@home.test"},{"primary":true,"type":"work","value":"robert@corp.test"}]` {
				t.Errorf("SCIM user after the admin's patch: %v", bob)
			}

			adminWant(t, h, admin, http.StatusNoContent, "", "DELETE", "/users/"+id, "")
			adminWant(t, h, admin, http.StatusNotFound, "not_found", "GET", "/users/"+id, "")
			adminWant(t, h, admin, http.StatusNotFound, "not_found", "DELETE", "/users/"+id, "")
			if status, _ := do(t, "GET", h.url+"/Users/"+id, scimBearer, ""); status != http.StatusNotFound {
				t.Errorf("SCIM GET of the deleted user: %d", status)
			}

			actions := auditTrail(t, store, acct.ID, licensing.AuditQuery{TargetType: "user", TargetID: id})
			slices.Reverse(actions)
			if want := []string{"user.create ann@corp.test", "user.update displayName, name, products", "user.update active, email", "user.delete ann@corp.test"}; !slices.Equal(actions, want) {
				t.Errorf("audit: %q, want %q", actions, want)
			}
		})
	}
}

// mapIs compares a decoded JSON object with want.
func mapIs(v any, want map[string]any) bool {
	return adminJSON(v) == adminJSON(want)
}

// auditTrail lists the account's audit entries selected by q as "action
// detail", newest first.
func auditTrail(t *testing.T, store licensing.Store, accountID string, q licensing.AuditQuery) []string {
	t.Helper()
	q.Limit = 100
	log, err := store.AuditLog(context.Background(), accountID, q)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range log.Items {
		out = append(out, e.Action+" "+e.Detail)
	}
	return out
}

// adminJSON encodes v, object keys sorted.
func adminJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestAdminGrantRevoke grants and revokes products under the same seat
// rules and messages as SCIM: a named seat too many changes nothing and
// answers 409 with the numbers, and revoking ends the agent's sessions
// of the product.
func TestAdminGrantRevoke(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			store := b.Open(t)
			h := newHarness(t, store)
			acct, _ := h.account(t)
			ctx := context.Background()
			if err := store.SetPlan(ctx, licensing.Plan{AccountID: acct.ID, ProductID: rs5, NamedSeats: 1, ConcurrentSeats: 1}); err != nil {
				t.Fatal(err)
			}
			users := h.adminToken(t, acct.ID, licensing.PrivUsers)
			products := h.adminToken(t, acct.ID, licensing.PrivProducts)
			both := h.adminToken(t, acct.ID, licensing.PrivUsers, licensing.PrivProducts)
			ann := adminWant(t, h, users, http.StatusCreated, "", "POST", "/users", `{"userName":"ann"}`)["id"].(string)
			bob := adminWant(t, h, users, http.StatusCreated, "", "POST", "/users", `{"userName":"bob","password":"secret-bob"}`)["id"].(string)

			if u := adminWant(t, h, products, http.StatusOK, "", "PUT", "/users/"+ann+"/products/"+rs5, `{"license":"named"}`); !mapIs(u["products"], map[string]any{rs5: "named"}) || u["version"] != 2.0 {
				t.Fatalf("grant named: %v", u)
			}
			// Granting what the user holds writes nothing.
			if u := adminWant(t, h, products, http.StatusOK, "", "PUT", "/users/"+ann+"/products/"+rs5, `{"license":"named"}`); u["version"] != 2.0 {
				t.Errorf("repeated grant: %v", u)
			}

			// Every way to a second named seat is refused, changing nothing.
			const exhausted = "No named license left for Remote Support v5: 1 of 1 assigned."
			for _, tc := range []struct{ token, method, path, body string }{
				{products, "PUT", "/users/" + bob + "/products/" + rs5, `{"license":"named"}`},
				{both, "PATCH", "/users/" + bob, `{"displayName":"Bob","products":{"remote-support-v5":"named"}}`},
				{both, "POST", "/users", `{"userName":"cyd","products":{"remote-support-v5":"named"}}`},
			} {
				if m := adminWant(t, h, tc.token, http.StatusConflict, "named_seats_exhausted", tc.method, tc.path, tc.body); m["detail"] != exhausted {
					t.Errorf("%s %s: detail %q, want %q", tc.method, tc.path, m["detail"], exhausted)
				}
			}
			if u := adminWant(t, h, users, http.StatusOK, "", "GET", "/users/"+bob, ""); u["version"] != 1.0 || u["displayName"] != nil || len(u["products"].(map[string]any)) != 0 {
				t.Errorf("bob after the refusals: %v", u)
			}
			if got := userNames(adminWant(t, h, users, http.StatusOK, "", "GET", "/users", "")); !slices.Equal(got, []string{"ann", "bob"}) {
				t.Errorf("users after the refused create: %v", got)
			}

			// Bob gets a concurrent license, takes the seat, and loses both
			// when the product is revoked.
			adminWant(t, h, products, http.StatusOK, "", "PUT", "/users/"+bob+"/products/"+rs5, `{"license":"concurrent"}`)
			agent, _ := signIn(t, h, acct.Name, "bob")
			status, s := agentCall(t, h, "POST", "/sessions", agent, `{"product":"remote-support-v5","platform":"windows"}`)
			if status != http.StatusCreated {
				t.Fatalf("bob's session: %d %v", status, s)
			}
			if p := adminWant(t, h, products, http.StatusOK, "", "GET", "/products/"+rs5, ""); adminJSON(p["concurrent"]) != `{"occupied":1,"total":1,"waiting":0}` {
				t.Errorf("usage with bob's session: %v", p)
			}
			if u := adminWant(t, h, products, http.StatusOK, "", "DELETE", "/users/"+bob+"/products/"+rs5, ""); len(u["products"].(map[string]any)) != 0 {
				t.Fatalf("revoke: %v", u)
			}
			if status, s := agentCall(t, h, "GET", "/sessions/"+s["id"].(string), agent, ""); status != http.StatusOK || s["state"] != "ended" || s["endReason"] != "deprovisioned" {
				t.Errorf("bob's session after the revoke: %d %v", status, s)
			}
			if p := adminWant(t, h, products, http.StatusOK, "", "GET", "/products/"+rs5, ""); adminJSON(p["concurrent"]) != `{"occupied":0,"total":1,"waiting":0}` {
				t.Errorf("usage after the revoke: %v", p)
			}
			// Revoking what the user does not hold writes nothing.
			before := adminWant(t, h, products, http.StatusOK, "", "GET", "/users/"+bob, "")
			if u := adminWant(t, h, products, http.StatusOK, "", "DELETE", "/users/"+bob+"/products/"+rs5, ""); u["version"] != before["version"] {
				t.Errorf("repeated revoke: %v", u)
			}

			for _, tc := range []struct {
				path, body string
				status     int
				code       string
			}{
				{"/users/" + bob + "/products/" + rs5, `{"license":"none"}`, http.StatusBadRequest, "invalid_request"},
				{"/users/" + bob + "/products/" + rs5, `{"license":"bogus"}`, http.StatusBadRequest, "invalid_request"},
				{"/users/" + bob + "/products/" + rs5, `{"license":"named","until":"never"}`, http.StatusBadRequest, "invalid_request"},
				{"/users/" + bob + "/products/" + rs5, `{"license":`, http.StatusBadRequest, "invalid_request"},
				{"/users/" + bob + "/products/nope", `{"license":"named"}`, http.StatusNotFound, "unknown_product"},
				{"/users/no-such-user/products/" + rs5, `{"license":"named"}`, http.StatusNotFound, "not_found"},
			} {
				adminWant(t, h, products, tc.status, tc.code, "PUT", tc.path, tc.body)
			}

			actions := auditTrail(t, store, acct.ID, licensing.AuditQuery{TargetType: "user", TargetID: bob})
			if want := []string{"product.revoke remote-support-v5: concurrent", "product.grant remote-support-v5: concurrent", "user.create bob"}; !slices.Equal(actions, want) {
				t.Errorf("audit of bob: %q, want %q", actions, want)
			}
		})
	}
}

// TestAdminUsersRefused checks that malformed bodies are refused with
// 400, that another account's users are not found, and that a read token
// reads but cannot write.
func TestAdminUsersRefused(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			h := newHarness(t, b.Open(t))
			acct, _ := h.account(t)
			other, _ := h.account(t)
			admin := h.adminToken(t, acct.ID, licensing.PrivUsers, licensing.PrivProducts)
			id := adminWant(t, h, admin, http.StatusCreated, "", "POST", "/users", `{"userName":"ann"}`)["id"].(string)

			for _, tc := range []struct{ method, path, body string }{
				{"POST", "/users", `{"userName":`},
				{"POST", "/users", `{"userName":5}`},
				{"POST", "/users", `{"userName":"x","nickName":"y"}`},
				{"POST", "/users", `{}`},
				{"POST", "/users", `{"userName":"  "}`},
				{"POST", "/users", `{"userName":"x","active":"yes"}`},
				{"POST", "/users", `{"userName":"x","email":"no address"}`},
				{"POST", "/users", `{"userName":"x","password":""}`},
				{"POST", "/users", `{"userName":"x","products":{"nope":"named"}}`},
				{"POST", "/users", `{"userName":"x","products":{"remote-support-v5":"bogus"}}`},
				{"POST", "/users", `{"userName":"x","products":["remote-support-v5"]}`},
				{"POST", "/users", `{"userName":"x\u0000y"}`},
				{"POST", "/users", `[]`},
				{"PATCH", "/users/" + id, `{"name":{"middleName":"Q"}}`},
				{"PATCH", "/users/" + id, `{"userName":""}`},
				{"PATCH", "/users/" + id, `{} {}`},
			} {
				adminWant(t, h, admin, http.StatusBadRequest, "invalid_request", tc.method, tc.path, tc.body)
			}
			if u := adminWant(t, h, admin, http.StatusOK, "", "GET", "/users/"+id, ""); u["version"] != 1.0 {
				t.Errorf("refused patches changed the user: %v", u)
			}

			// Another account's admin finds no such user.
			stranger := h.adminToken(t, other.ID, licensing.PrivUsers, licensing.PrivProducts)
			for _, tc := range []struct{ method, path, body string }{
				{"GET", "/users/" + id, ""},
				{"PATCH", "/users/" + id, `{"displayName":"x"}`},
				{"DELETE", "/users/" + id, ""},
				{"PUT", "/users/" + id + "/products/" + rs5, `{"license":"concurrent"}`},
				{"DELETE", "/users/" + id + "/products/" + rs5, ""},
			} {
				adminWant(t, h, stranger, http.StatusNotFound, "not_found", tc.method, tc.path, tc.body)
			}
			if got := userNames(adminWant(t, h, stranger, http.StatusOK, "", "GET", "/users", "")); len(got) != 0 {
				t.Errorf("another account lists %v", got)
			}

			reader := h.adminToken(t, acct.ID, licensing.PrivRead)
			adminWant(t, h, reader, http.StatusOK, "", "GET", "/users", "")
			adminWant(t, h, reader, http.StatusOK, "", "GET", "/users/"+id, "")
			adminWant(t, h, reader, http.StatusForbidden, "forbidden", "POST", "/users", `{"userName":"bob"}`)
			adminWant(t, h, reader, http.StatusForbidden, "forbidden", "PUT", "/users/"+id+"/products/"+rs5, `{"license":"concurrent"}`)
		})
	}
}
