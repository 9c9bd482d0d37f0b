package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/licensing"
)

// revocationBound is how soon a token ended on one replica must be
// refused by every other: the requirement of issue 13, whatever any
// replica keeps in memory.
const revocationBound = time.Second

// TestTwoProcessesRevocation runs two scimd processes on one PostgreSQL
// and ends tokens in each way that ends one today (the admin API's
// revocation, the command line's, a SCIM deactivation, a SCIM deletion of
// the token's user), each time right after the other process accepted the
// token; that process must refuse it within a second of the answer to the
// revocation.
func TestTwoProcessesRevocation(t *testing.T) {
	s := newScimd(t)
	s.run(t, "account", "create", "revoke")
	token := func(args ...string) string {
		t.Helper()
		return strings.TrimSpace(s.run(t, append([]string{"token", "create", "--account", "revoke"}, args...)...))
	}
	id := func(bearer string) string {
		t.Helper()
		id, ok := licensing.TokenID(bearer)
		if !ok {
			t.Fatalf("no token id in %q", bearer)
		}
		return id
	}
	scimToken := token("--name", "idp")
	admin := token("--name", "boss", "--scope", "admin", "--privileges", "tokens")
	a, b := s.serve(t), s.serve(t)
	c := client{http: &http.Client{Timeout: 30 * time.Second}}
	const scimProbe, adminProbe, agentProbe = "/scim/v2/Users?count=1", "/api/v1/admin/tokens", "/api/v1/agent/sessions"

	provision := func(userName string) string {
		t.Helper()
		status, body, err := c.call("POST", a+"/scim/v2/Users", scimToken, map[string]any{
			"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": userName, "active": true,
		})
		if err != nil || status != http.StatusCreated {
			t.Fatalf("provision %s: %d %v %v", userName, status, body, err)
		}
		return body["id"].(string)
	}
	// Each case makes a token to end, the probe that uses it, and ends it
	// through a; b (and a) must then refuse it.
	cases := []struct {
		name  string
		make  func() string
		probe string
		end   func(bearer string)
	}{
		{"admin API revokes a SCIM token", func() string { return token("--name", "okta") }, scimProbe,
			func(bearer string) {
				want(t, c, "DELETE", a+"/api/v1/admin/tokens/"+id(bearer), admin, nil, http.StatusNoContent)
			}},
		{"command line revokes an admin token", func() string { return token("--name", "ops", "--scope", "admin", "--privileges", "read") }, adminProbe,
			func(bearer string) { s.run(t, "token", "revoke", "--account", "revoke", id(bearer)) }},
		{"SCIM deactivation revokes an agent token", func() string {
			provision("ann@revoke.test")
			return token("--name", "ann", "--scope", "agent", "--user", "ann@revoke.test")
		}, agentProbe, func(string) {
			want(t, c, "PATCH", a+"/scim/v2/Users/"+scimID(t, c, a, scimToken, "ann@revoke.test"), scimToken, map[string]any{
				"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
				"Operations": []map[string]any{{"op": "replace", "value": map[string]any{"active": false}}},
			}, http.StatusOK)
		}},
		{"SCIM deletion takes an agent token along", func() string {
			provision("bob@revoke.test")
			return token("--name", "bob", "--scope", "agent", "--user", "bob@revoke.test")
		}, agentProbe, func(string) {
			want(t, c, "DELETE", a+"/scim/v2/Users/"+scimID(t, c, a, scimToken, "bob@revoke.test"), scimToken, nil, http.StatusNoContent)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bearer := tc.make()
			// Both processes accept the token, so each has just read it.
			for _, base := range []string{a, b} {
				want(t, c, "GET", base+tc.probe, bearer, nil, http.StatusOK)
			}
			tc.end(bearer)
			ended := time.Now()
			for _, base := range []string{b, a} {
				refusedBy(t, c, base+tc.probe, bearer, ended)
			}
		})
	}
}

// want makes a request and fails the test unless it answers status.
func want(t *testing.T, c client, method, url, bearer string, body any, status int) map[string]any {
	t.Helper()
	got, m, err := c.call(method, url, bearer, body)
	if err != nil || got != status {
		t.Fatalf("%s %s: %d %v %v, want %d", method, url, got, m, err, status)
	}
	return m
}

// refusedBy polls url with bearer until it answers 401, and fails the
// test if it still accepts the token revocationBound after ended.
func refusedBy(t *testing.T, c client, url, bearer string, ended time.Time) {
	t.Helper()
	for {
		status, body, err := c.call("GET", url, bearer, nil)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		switch {
		case status == http.StatusUnauthorized:
			return
		case status != http.StatusOK:
			t.Fatalf("GET %s: %d %v, want 200 or 401", url, status, body)
		case time.Since(ended) > revocationBound:
			t.Fatalf("GET %s still accepted the token %s after it ended", url, revocationBound)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// scimID returns the SCIM id of the user with the userName.
func scimID(t *testing.T, c client, base, bearer, userName string) string {
	t.Helper()
	m := want(t, c, "GET", base+"/scim/v2/Users?filter="+strings.ReplaceAll(fmt.Sprintf("userName eq %q", userName), " ", "%20"), bearer, nil, http.StatusOK)
	resources, _ := m["Resources"].([]any)
	if len(resources) != 1 {
		t.Fatalf("userName eq %q: %v", userName, m)
	}
	return resources[0].(map[string]any)["id"].(string)
}
