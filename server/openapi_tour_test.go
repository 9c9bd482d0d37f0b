package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
)

// TestOpenAPITour calls every operation of the agent and admin APIs the
// way a console and an agent app would, on both backends; the harness
// checks each answer against openapi.json, and the tour then checks that
// every documented operation answered successfully at least once.
func TestOpenAPITour(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			h := newHarness(t, b.Open(t))
			acct, scim := h.account(t)
			adm := h.adminToken(t, acct.ID, licensing.AllPrivileges...)
			call := func(method, path, body string, want int) map[string]any {
				t.Helper()
				status, answer := h.admin(t, adm, method, path, body)
				if status != want {
					t.Fatalf("%s %s: %d %v, want %d", method, path, status, answer, want)
				}
				return answer
			}
			agentDo := func(method, path, bearer, body string, want int) map[string]any {
				t.Helper()
				status, answer := agentCall(t, h, method, path, bearer, body)
				if status != want {
					t.Fatalf("agent %s %s: %d %v, want %d", method, path, status, answer, want)
				}
				return answer
			}

			call("PUT", "/products/"+rs5+"/plan", `{"namedSeats":2,"concurrentSeats":2}`, http.StatusOK)
			call("GET", "/products", "", http.StatusOK)
			ann := call("POST", "/users", `{"userName":"ann@example.com","displayName":"Ann Lee","name":{"givenName":"Ann","familyName":"Lee"},
				"email":"ann@example.com","password":"correct horse","products":{"`+rs5+`":"concurrent"}}`, http.StatusCreated)
			annID := ann["id"].(string)
			bob := call("POST", "/users", `{"userName":"bob@example.com","email":"bob@example.com","password":"battery staple"}`, http.StatusCreated)
			bobID := bob["id"].(string)
			call("PUT", "/users/"+bobID+"/products/"+rs5, `{"license":"concurrent"}`, http.StatusOK)
			call("PATCH", "/users/"+bobID, `{"displayName":"Bob Stone"}`, http.StatusOK)
			call("GET", "/users?product="+rs5+"&license=concurrent", "", http.StatusOK)
			call("GET", "/users/"+annID, "", http.StatusOK)
			// Groups come from the identity provider; the admin sets what they give.
			status, raw, g := scimCall(t, h, scim, "POST", "/Groups", `{`+groupSchema+`,"displayName":"Tier 1","members":[{"value":"`+bobID+`"}]}`)
			if status != http.StatusCreated {
				t.Fatalf("SCIM POST /Groups: %d %s", status, raw)
			}
			groupID := g["id"].(string)
			call("GET", "/groups", "", http.StatusOK)
			call("PUT", "/groups/"+groupID+"/licenses", `{"`+rs5+`":"named"}`, http.StatusOK)
			call("GET", "/groups?q=tier&product="+rs5+"&license=named", "", http.StatusOK)
			call("GET", "/groups/"+groupID, "", http.StatusOK)
			call("GET", "/groups/"+groupID+"/members", "", http.StatusOK)
			call("GET", "/users?license=pending", "", http.StatusOK)
			call("PUT", "/groups/"+groupID+"/licenses", `{}`, http.StatusOK)
			carl := call("POST", "/users", `{"userName":"carl@example.com"}`, http.StatusCreated)["id"].(string)
			if link := call("PUT", "/users/"+carl+"/privileges", `{"privileges":["read","sessions"]}`, http.StatusOK)["passwordLink"]; link == nil {
				t.Errorf("a new console user without a password got no password link")
			}
			call("PUT", "/users/"+carl+"/privileges", `{"privileges":[]}`, http.StatusOK)

			annToken := agentDo("POST", "/signin", "", `{"account":"`+acct.Name+`","userName":"ann@example.com","password":"correct horse"}`, http.StatusOK)["token"].(string)
			bobToken := agentDo("POST", "/signin", "", `{"account":"`+acct.Name+`","userName":"bob@example.com","password":"battery staple"}`, http.StatusOK)["token"].(string)
			agentDo("GET", "/products", annToken, "", http.StatusOK)
			s1 := agentDo("POST", "/sessions", annToken, `{"product":"`+rs5+`","platform":"windows"}`, http.StatusCreated)["id"].(string)
			s2 := agentDo("POST", "/sessions", annToken, `{"product":"`+rs5+`","platform":"mac"}`, http.StatusCreated)["id"].(string)
			agentDo("POST", "/sessions/"+s1+"/connect", annToken, "", http.StatusOK)
			agentDo("POST", "/sessions/"+s1+"/heartbeat", annToken, "", http.StatusOK)
			agentDo("GET", "/sessions", annToken, "", http.StatusOK)
			agentDo("GET", "/sessions/"+s1, annToken, "", http.StatusOK)
			agentDo("POST", "/sessions/"+s2+"/end", annToken, "", http.StatusOK)
			agentDo("DELETE", "/sessions/"+s1, annToken, "", http.StatusOK)
			agentDo("POST", "/sessions", annToken, `{"product":"`+rs5+`","platform":"windows"}`, http.StatusCreated)
			agentDo("POST", "/sessions", bobToken, `{"product":"`+rs5+`","platform":"ios"}`, http.StatusCreated)

			shared := call("GET", "/sessions?product="+rs5, "", http.StatusOK)["items"].([]any)
			if len(shared) != 2 {
				t.Fatalf("shared sessions: %v, want ann's and bob's", shared)
			}
			call("DELETE", "/sessions/"+rs5+":"+annID, "", http.StatusOK)
			call("POST", "/sessions/end", `{"ids":["`+rs5+`:`+bobID+`"]}`, http.StatusOK)
			p := call("GET", "/products/"+rs5, "", http.StatusOK)
			if occ := p["concurrent"].(map[string]any)["occupied"]; occ != float64(0) {
				t.Errorf("occupied after ending both shared sessions = %v, want 0", occ)
			}
			call("GET", "/usage?product="+rs5+"&bucket=hour", "", http.StatusOK)
			call("DELETE", "/users/"+annID+"/products/"+rs5, "", http.StatusOK)
			call("GET", "/audit?limit=5", "", http.StatusOK)
			tok := call("POST", "/tokens", `{"name":"console","scope":"admin","privileges":["read"]}`, http.StatusCreated)
			call("GET", "/tokens?scope=admin", "", http.StatusOK)
			call("DELETE", "/tokens/"+tok["id"].(string), "", http.StatusNoContent)
			call("DELETE", "/users/"+bobID, "", http.StatusNoContent)

			s, err := loadSpec()
			if err != nil {
				t.Fatal(err)
			}
			for tmpl, item := range s.paths() {
				for method := range item.(map[string]any) {
					if method == "parameters" {
						continue
					}
					key := strings.ToUpper(method) + " " + tmpl
					if h.hits.count(key) == 0 {
						t.Errorf("the tour never got a successful answer from %s", key)
					}
				}
			}
		})
	}
}
