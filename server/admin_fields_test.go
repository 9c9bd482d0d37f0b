package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/admin"
	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
)

// fieldCase is a body of a write route that carries one field (with a
// value that matters, for fields whose value decides what they need),
// and the privileges the field needs beyond the route's own.
type fieldCase struct {
	// field is the request body property the case is about.
	field string
	// body is the request body; {n} is a unique suffix, {user} the id
	// of a user of the account.
	body  string
	needs []licensing.Privilege
}

// fieldCases lists, for every write route with a body, a case for each
// property of its request schema in the OpenAPI document (several when
// the value decides the privilege needed). TestAdminFieldPrivileges fails
// when the document names a property this table does not cover, so a new
// field cannot slip in without its privilege being decided and tested.
var fieldCases = map[string][]fieldCase{
	"POST /users": {
		{field: "userName", body: `{"userName":"f-{n}"}`},
		{field: "displayName", body: `{"userName":"f-{n}","displayName":"F"}`},
		{field: "name", body: `{"userName":"f-{n}","name":{"givenName":"F","familyName":"G"}}`},
		{field: "email", body: `{"userName":"f-{n}","email":"f-{n}@example.com"}`},
		{field: "active", body: `{"userName":"f-{n}","active":false}`},
		{field: "password", body: `{"userName":"f-{n}","password":"Secret-{n}"}`},
		{field: "products", body: `{"userName":"f-{n}","products":{"remote-support-v5":"concurrent"}}`, needs: privs(licensing.PrivProducts)},
		{field: "products", body: `{"userName":"f-{n}","products":{"remote-support-v5":"none"}}`, needs: privs(licensing.PrivProducts)},
	},
	"PATCH /users/:id": {
		{field: "userName", body: `{"userName":"f-{n}"}`},
		{field: "displayName", body: `{"displayName":"F {n}"}`},
		{field: "name", body: `{"name":{"givenName":"F{n}"}}`},
		{field: "email", body: `{"email":"f-{n}@example.com"}`},
		{field: "active", body: `{"active":true}`},
		{field: "password", body: `{"password":"Secret-{n}"}`},
		{field: "products", body: `{"products":{"remote-support-v5":"concurrent"}}`, needs: privs(licensing.PrivProducts)},
		{field: "products", body: `{"products":{"remote-support-v5":"none"}}`, needs: privs(licensing.PrivProducts)},
	},
	"PUT /users/:id/products/:product": {
		{field: "license", body: `{"license":"concurrent"}`},
	},
	"PUT /users/:id/privileges": {
		{field: "privileges", body: `{"privileges":[]}`},
		{field: "privileges", body: `{"privileges":["users"]}`},
		{field: "privileges", body: `{"privileges":["billing","users"]}`, needs: privs(licensing.PrivBilling)},
		{field: "privileges", body: `{"privileges":["all"]}`, needs: privs(licensing.PrivBilling, licensing.PrivProducts, licensing.PrivRead, licensing.PrivSessions, licensing.PrivTokens)},
	},
	"PUT /groups/:id/licenses": {
		{field: "remote-support-v5", body: `{"remote-support-v5":"named"}`},
		{field: "remote-support-v4", body: `{"remote-support-v4":"concurrent"}`},
		{field: "service-desk", body: `{"service-desk":"none"}`},
	},
	"PUT /products/:product/plan": {
		{field: "namedSeats", body: `{"namedSeats":50,"concurrentSeats":5}`},
		{field: "concurrentSeats", body: `{"namedSeats":50,"concurrentSeats":6}`},
	},
	"POST /sessions/end": {
		{field: "ids", body: `{"ids":["remote-support-v5:{user}"]}`},
	},
	"POST /tokens": {
		{field: "name", body: `{"name":"f-{n}","scope":"admin","privileges":["tokens"]}`},
		{field: "scope", body: `{"name":"f-{n}","scope":"scim"}`, needs: privs(licensing.PrivProducts, licensing.PrivUsers)},
		{field: "scope", body: `{"name":"f-{n}","scope":"agent","userId":"{user}"}`, needs: privs(licensing.PrivSessions)},
		{field: "privileges", body: `{"name":"f-{n}","scope":"admin","privileges":["billing"]}`, needs: privs(licensing.PrivBilling)},
		{field: "privileges", body: `{"name":"f-{n}","scope":"admin","privileges":["all"]}`, needs: privs(licensing.PrivBilling, licensing.PrivProducts, licensing.PrivRead, licensing.PrivSessions, licensing.PrivUsers)},
		{field: "userId", body: `{"name":"f-{n}","scope":"agent","userId":"{user}"}`, needs: privs(licensing.PrivSessions)},
	},
}

func privs(ps ...licensing.Privilege) []licensing.Privilege { return ps }

// TestAdminFieldPrivileges proves, for every field of every write of the
// admin API, that a token holding the route's privilege but not the ones
// the field needs is refused with 403 and writes nothing (its audit log
// stays empty), and that a token holding them too gets through.
func TestAdminFieldPrivileges(t *testing.T) {
	covered := requestProperties(t)
	for key, cases := range fieldCases {
		for _, c := range cases {
			delete(covered[key], c.field)
		}
	}
	for key, left := range covered {
		for field := range left {
			t.Errorf("%s: field %q of the OpenAPI document has no case in fieldCases: decide which privileges it needs", key, field)
		}
	}
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			store := b.Open(t)
			h := newHarness(t, store)
			acct, _ := h.account(t)
			if err := store.SetPlan(t.Context(), licensing.Plan{AccountID: acct.ID, ProductID: rs5, NamedSeats: 50, ConcurrentSeats: 5}); err != nil {
				t.Fatal(err)
			}
			routes := map[string]admin.Route{}
			for _, r := range admin.New(admin.Options{}).Routes() {
				routes[r.Method+" "+r.Path] = r
			}
			n := 0
			for key, cases := range fieldCases {
				r, ok := routes[key]
				if !ok {
					t.Fatalf("fieldCases names %s, which is not a route", key)
				}
				if len(r.Privileges) != 1 {
					t.Fatalf("%s opens with %v: a write route needs exactly one privilege", key, r.Privileges)
				}
				method, _, _ := strings.Cut(key, " ")
				for _, c := range cases {
					n++
					u := agentUser(t, store, acct.ID, fmt.Sprintf("target-%d", n), true, nil)
					target := u.ID
					if strings.HasPrefix(r.Path, "/groups/") {
						g := licensing.Group{AccountID: acct.ID, ID: licensing.NewID(), DisplayName: fmt.Sprintf("group-%d", n),
							Members: []licensing.Member{{ID: u.ID, Type: licensing.MemberUser}}, Doc: []byte(`{}`),
							Created: time.Now(), LastModified: time.Now(), Version: 1}
						if err := store.CreateGroup(t.Context(), g); err != nil {
							t.Fatal(err)
						}
						target = g.ID
					}
					path := strings.NewReplacer(":product", rs5, ":id", target).Replace(r.Path)
					body := strings.NewReplacer("{n}", fmt.Sprint(n), "{user}", u.ID).Replace(c.body)
					what := fmt.Sprintf("%s %s", key, body)
					if len(c.needs) > 0 {
						without := h.adminToken(t, acct.ID, r.Privileges...)
						status, answer := h.admin(t, without, method, path, body)
						if status != http.StatusForbidden || answer["code"] != "forbidden" {
							t.Errorf("%s with %v alone: %d %v, want 403: %s needs %v", what, r.Privileges, status, answer, c.field, c.needs)
						}
						if entries, _ := auditPage(t, h, h.adminToken(t, acct.ID, licensing.PrivRead), "actor="+mustTokenID(t, without)); len(entries) != 0 {
							t.Errorf("%s refused, yet it wrote: %v", what, auditActions(entries))
						}
					}
					with := h.adminToken(t, acct.ID, append(slices.Clone(r.Privileges), c.needs...)...)
					if status, answer := h.admin(t, with, method, path, body); status == http.StatusForbidden || status == http.StatusUnauthorized || status >= 400 && c.field != "ids" {
						t.Errorf("%s with %v: %d %v, want it through", what, append(slices.Clone(r.Privileges), c.needs...), status, answer)
					}
				}
			}
		})
	}
}

// requestProperties returns, for each admin write route of the OpenAPI
// document, the properties of its request body's schema.
func requestProperties(t *testing.T) map[string]map[string]bool {
	t.Helper()
	var doc struct {
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas map[string]struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(admin.OpenAPIDocument, &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]bool{}
	for path, ops := range doc.Paths {
		rel, ok := strings.CutPrefix(path, "/api/v1/admin")
		if !ok {
			continue
		}
		for method, raw := range ops {
			var op struct {
				RequestBody struct {
					Content map[string]struct {
						Schema struct {
							Ref string `json:"$ref"`
						} `json:"schema"`
					} `json:"content"`
				} `json:"requestBody"`
			}
			if method == "parameters" || json.Unmarshal(raw, &op) != nil {
				continue
			}
			ref := op.RequestBody.Content["application/json"].Schema.Ref
			if ref == "" {
				continue
			}
			schema := doc.Components.Schemas[strings.TrimPrefix(ref, "#/components/schemas/")]
			if len(schema.Properties) == 0 {
				t.Fatalf("%s %s: request schema %s has no properties", method, path, ref)
			}
			echoPath := rel
			for _, p := range []string{"id", "product"} {
				echoPath = strings.ReplaceAll(echoPath, "{"+p+"}", ":"+p)
			}
			key := strings.ToUpper(method) + " " + echoPath
			out[key] = map[string]bool{}
			for p := range schema.Properties {
				out[key][p] = true
			}
		}
	}
	if len(out) < 6 {
		t.Fatalf("only %d write routes with bodies in the OpenAPI document", len(out))
	}
	return out
}
