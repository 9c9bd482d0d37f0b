package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/server"
)

const bulkSchema = `"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"]`

// bulkCall sends a Bulk request and returns the status, the decoded
// answer and its Operations.
func bulkCall(t *testing.T, h *harness, bearer, body string) (int, map[string]any, []map[string]any) {
	t.Helper()
	status, _, raw := send(t, "POST", h.url+"/Bulk", bearer, "application/scim+json", body)
	m := decodeObject(t, "POST /Bulk", raw)
	var ops []map[string]any
	if list, ok := m["Operations"].([]any); ok {
		for _, o := range list {
			op, _ := o.(map[string]any)
			ops = append(ops, op)
		}
	}
	return status, m, ops
}

// bulkOps wraps operations (JSON objects) into a BulkRequest.
func bulkOps(ops ...string) string {
	return `{` + bulkSchema + `,"Operations":[` + strings.Join(ops, ",") + `]}`
}

// postUserOp is a Bulk POST of the user name with the bulkId.
func postUserOp(bulkID, userName string) string {
	return fmt.Sprintf(`{"method":"POST","path":"/Users","bulkId":%q,"data":{%s,"userName":%q}}`, bulkID, userSchema, userName)
}

// opSummary is "METHOD bulkId status" of each result, for messages and
// comparisons.
func opSummary(ops []map[string]any) string {
	var parts []string
	for _, o := range ops {
		parts = append(parts, fmt.Sprintf("%v %v %v", o["method"], o["bulkId"], o["status"]))
	}
	return strings.Join(parts, "; ")
}

// opError returns the status, scimType and detail of an operation's
// response.
func opError(op map[string]any) (string, string, string) {
	resp, _ := op["response"].(map[string]any)
	s, _ := resp["status"].(string)
	typ, _ := resp["scimType"].(string)
	d, _ := resp["detail"].(string)
	return s, typ, d
}

// idOf is the id at the end of an operation's location.
func idOf(t *testing.T, op map[string]any) string {
	t.Helper()
	loc, _ := op["location"].(string)
	i := strings.LastIndex(loc, "/")
	if i < 0 {
		t.Fatalf("operation without a location: %v", op)
	}
	return loc[i+1:]
}

func userExists(t *testing.T, h *harness, bearer, userName string) bool {
	t.Helper()
	status, _, raw := send(t, "GET", h.url+"/Users?filter="+url.QueryEscape(`userName eq "`+userName+`"`), bearer, "", "")
	if status != http.StatusOK {
		t.Fatalf("filter %s: %d %s", userName, status, raw)
	}
	return !strings.Contains(string(raw), `"totalResults":0`)
}

// TestSCIMBulkMixed runs creates, a replace with its version, a patch, a
// delete and a group that names users created after it, in one request:
// each operation is answered as its single request would be, with its
// location, version and status, and recorded in the audit log.
func TestSCIMBulkMixed(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			h := newHarness(t, b.Open(t))
			acct, bearer := h.account(t)
			old := scimPost(t, h, bearer, "/Users", `{`+userSchema+`,"userName":"old@example.com"}`)
			gone := scimPost(t, h, bearer, "/Users", `{`+userSchema+`,"userName":"gone@example.com"}`)
			status, m, ops := bulkCall(t, h, bearer, bulkOps(
				`{"method":"POST","path":"/Groups","bulkId":"g","data":{`+groupSchema+`,"displayName":"Support","members":[{"value":"bulkId:ann"},{"value":"bulkId:bob"}]}}`,
				postUserOp("ann", "ann@example.com"),
				postUserOp("bob", "bob@example.com"),
				`{"method":"PATCH","path":"/Users/bulkId:ann","data":{`+patchSchema+`,"Operations":[{"op":"replace","path":"displayName","value":"Ann"}]}}`,
				`{"method":"PUT","path":"/Users/`+old["id"].(string)+`","version":`+fmt.Sprintf("%q", old["meta"].(map[string]any)["version"])+`,"data":{`+userSchema+`,"userName":"old@example.com","displayName":"Old"}}`,
				`{"method":"delete","path":"Users/`+gone["id"].(string)+`"}`,
			))
			if status != http.StatusOK {
				t.Fatalf("bulk: %d %v", status, m)
			}
			if s, _ := m["schemas"].([]any); len(s) != 1 || s[0] != "urn:ietf:params:scim:api:messages:2.0:BulkResponse" {
				t.Errorf("schemas = %v", m["schemas"])
			}
			// The group waits for its members; the rest run in order.
			want := "POST ann 201; POST bob 201; POST g 201; PATCH <nil> 200; PUT <nil> 200; DELETE <nil> 204"
			if got := opSummary(ops); got != want {
				t.Fatalf("operations: %s\nwant %s", got, want)
			}
			for _, op := range ops[:5] {
				if v, _ := op["version"].(string); !strings.HasPrefix(v, `W/"`) {
					t.Errorf("%v: version %q", op["method"], op["version"])
				}
				if _, ok := op["response"]; ok {
					t.Errorf("%v: a success carries a response: %v", op["method"], op["response"])
				}
			}
			if loc, _ := ops[5]["location"].(string); loc != h.url+"/Users/"+gone["id"].(string) {
				t.Errorf("DELETE location %q", loc)
			}
			ann, bob, group := idOf(t, ops[0]), idOf(t, ops[1]), idOf(t, ops[2])
			if loc := ops[0]["location"]; loc != h.url+"/Users/"+ann {
				t.Errorf("POST location %v", loc)
			}
			got := scimGetJSON(t, h, bearer, "/Groups/"+group)
			members := fmt.Sprint(got["members"])
			if !strings.Contains(members, ann) || !strings.Contains(members, bob) {
				t.Errorf("group members %s, want %s and %s", members, ann, bob)
			}
			if got := scimGetJSON(t, h, bearer, "/Users/"+ann)["displayName"]; got != "Ann" {
				t.Errorf("patched displayName %v", got)
			}
			if got := scimGetJSON(t, h, bearer, "/Users/"+old["id"].(string))["displayName"]; got != "Old" {
				t.Errorf("replaced displayName %v", got)
			}
			if status, _, _ := send(t, "GET", h.url+"/Users/"+gone["id"].(string), bearer, "", ""); status != http.StatusNotFound {
				t.Errorf("deleted user: %d", status)
			}
			// One audit entry per write, as single requests make them.
			trail := strings.Join(auditTrail(t, h.store, acct.ID, licensing.AuditQuery{}), "\n")
			for _, want := range []string{"user.create ann@example.com", "user.create bob@example.com", "group.create Support",
				"user.patch ann@example.com: displayName", "user.replace old@example.com: displayName", "user.delete gone@example.com"} {
				if !strings.Contains(trail, want) {
					t.Errorf("audit log lacks %q:\n%s", want, trail)
				}
			}
		})
	}
}

// TestSCIMBulkReferences: groups that name each other are both created,
// each with the other as member (the first created without it, then
// patched); a reference that cannot be resolved (circular where no value
// can wait, to a POST that failed, or to no POST of the request) fails
// its operation with 409 invalidValue; the others run.
func TestSCIMBulkReferences(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			h := newHarness(t, b.Open(t))
			_, bearer := h.account(t)
			status, m, ops := bulkCall(t, h, bearer, bulkOps(
				`{"method":"POST","path":"/Groups","bulkId":"a","data":{`+groupSchema+`,"displayName":"A","members":[{"value":"bulkId:b","type":"Group"}]}}`,
				`{"method":"POST","path":"/Groups","bulkId":"b","data":{`+groupSchema+`,"displayName":"B","members":[{"value":"bulkId:a","type":"Group"}]}}`,
				`{"method":"POST","path":"/Users","bulkId":"bad","data":{`+userSchema+`}}`,
				`{"method":"PATCH","path":"/Users/bulkId:bad","data":{`+patchSchema+`,"Operations":[{"op":"replace","path":"displayName","value":"X"}]}}`,
				`{"method":"DELETE","path":"/Users/bulkId:nowhere"}`,
				`{"method":"POST","path":"/Groups","bulkId":"c","data":{`+groupSchema+`,"displayName":"C","members":[{"value":"bulkId:u"}]}}`,
				postUserOp("u", "u@example.com"),
				`{"method":"PATCH","path":"/Groups/bulkId:c","data":{`+patchSchema+`,"Operations":[{"op":"remove","path":"members[value eq \"bulkId:u\"]"}]}}`,
				`{"method":"POST","path":"/Users","bulkId":"x","data":{`+userSchema+`,"userName":"x@example.com","nickName":"bulkId:y"}}`,
				`{"method":"POST","path":"/Users","bulkId":"y","data":{`+userSchema+`,"userName":"y@example.com","nickName":"bulkId:x"}}`,
			))
			if status != http.StatusOK {
				t.Fatalf("bulk: %d %v", status, m)
			}
			want := "POST bad 400; PATCH <nil> 409; DELETE <nil> 409; POST u 201; POST c 201; PATCH <nil> 200; POST b 201; POST a 201; POST x 409; POST y 409"
			if got := opSummary(ops); got != want {
				t.Fatalf("operations: %s\nwant %s", got, want)
			}
			for i, detail := range map[int]string{1: `"bad" failed`, 2: `"nowhere"`, 8: "circular", 9: "circular"} {
				if s, typ, d := opError(ops[i]); s != "409" || typ != "invalidValue" || !strings.Contains(d, detail) {
					t.Errorf("operation %d: %s %s %q, want 409 invalidValue saying %s", i, s, typ, d, detail)
				}
			}
			b, a := idOf(t, ops[6]), idOf(t, ops[7])
			if loc := ops[7]["location"]; loc != h.url+"/Groups/"+a {
				t.Errorf("a's location %v", loc)
			}
			for _, g := range [][2]string{{a, b}, {b, a}} {
				got := scimGetJSON(t, h, bearer, "/Groups/"+g[0])
				if members := fmt.Sprint(got["members"]); !strings.Contains(members, g[1]) {
					t.Errorf("group %v: members %s, want %s", got["displayName"], members, g[1])
				}
			}
			if v := scimGetJSON(t, h, bearer, "/Groups/"+a)["meta"].(map[string]any)["version"]; ops[7]["version"] != v {
				t.Errorf("a's version %v, want the one after its members were added, %v", ops[7]["version"], v)
			}
			if userExists(t, h, bearer, "x@example.com") || userExists(t, h, bearer, "y@example.com") {
				t.Error("a user of an unbreakable cycle was created")
			}
			// The filter's quoted reference was resolved: u left c.
			if members, _ := scimGetJSON(t, h, bearer, "/Groups/"+idOf(t, ops[4]))["members"].([]any); len(members) != 0 {
				t.Errorf("c's members after the removal: %v", members)
			}
		})
	}
}

// TestSCIMBulkFailOnErrors: the Bulk stops at the failOnErrors-th error;
// the operations after it are neither run nor listed.
func TestSCIMBulkFailOnErrors(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			h := newHarness(t, b.Open(t))
			_, bearer := h.account(t)
			bad := `{"method":"POST","path":"/Users","bulkId":"%s","data":{` + userSchema + `,"userName":""}}`
			status, _, ops := bulkCall(t, h, bearer, `{`+bulkSchema+`,"failOnErrors":2,"Operations":[`+strings.Join([]string{
				fmt.Sprintf(bad, "x1"), postUserOp("ok1", "ok1@example.com"), fmt.Sprintf(bad, "x2"), postUserOp("ok2", "ok2@example.com"),
			}, ",")+`]}`)
			if want := "POST x1 400; POST ok1 201; POST x2 400"; status != http.StatusOK || opSummary(ops) != want {
				t.Fatalf("bulk: %d %s, want %s", status, opSummary(ops), want)
			}
			if !userExists(t, h, bearer, "ok1@example.com") || userExists(t, h, bearer, "ok2@example.com") {
				t.Error("failOnErrors: 2 ran the wrong operations")
			}
			// Without failOnErrors, every operation runs.
			_, _, ops = bulkCall(t, h, bearer, bulkOps(fmt.Sprintf(bad, "y1"), fmt.Sprintf(bad, "y2"), postUserOp("ok3", "ok3@example.com")))
			if want := "POST y1 400; POST y2 400; POST ok3 201"; opSummary(ops) != want {
				t.Errorf("without failOnErrors: %s, want %s", opSummary(ops), want)
			}
		})
	}
}

// TestSCIMBulkSeats: the operations of a Bulk obey the named seat limit
// one by one; the one that finds no seat fails alone (400 invalidValue
// naming the numbers), the ones before and after it stand, and only the
// writes made are in the audit log.
func TestSCIMBulkSeats(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			h := newHarness(t, b.Open(t))
			acct, bearer := h.account(t)
			if err := h.store.SetPlan(context.Background(), licensing.Plan{AccountID: acct.ID, ProductID: "remote-support-v5", NamedSeats: 1}); err != nil {
				t.Fatal(err)
			}
			named := func(bulkID, userName string) string {
				return fmt.Sprintf(`{"method":"POST","path":"/Users","bulkId":%q,"data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:licensing:2.0:User"],"userName":%q,"urn:ietf:params:scim:schemas:extension:licensing:2.0:User":{"remoteSupportV5":"named"}}}`, bulkID, userName)
			}
			_, _, ops := bulkCall(t, h, bearer, bulkOps(named("a", "a@example.com"), named("b", "b@example.com"), postUserOp("c", "c@example.com")))
			if want := "POST a 201; POST b 400; POST c 201"; opSummary(ops) != want {
				t.Fatalf("bulk: %s, want %s", opSummary(ops), want)
			}
			if s, typ, d := opError(ops[1]); s != "400" || typ != "invalidValue" || !strings.Contains(d, "No named license left for Remote Support v5: 1 of 1 assigned.") {
				t.Errorf("seat failure: %s %s %q", s, typ, d)
			}
			trail := auditTrail(t, h.store, acct.ID, licensing.AuditQuery{Action: "user.create"})
			if got := strings.Join(trail, ", "); got != "user.create c@example.com, user.create a@example.com" {
				t.Errorf("audit: %s", got)
			}
		})
	}
}

// TestSCIMBulkRefused: a body that is no BulkRequest is refused whole
// (400 invalidSyntax or invalidValue, nothing run); an operation that is
// not a write of one User or Group, or names a resource that is not the
// account's, fails alone.
func TestSCIMBulkRefused(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			h := newHarness(t, b.Open(t))
			_, bearer := h.account(t)
			_, otherBearer := h.account(t)
			theirs := scimPost(t, h, otherBearer, "/Users", `{`+userSchema+`,"userName":"theirs@example.com"}`)["id"].(string)
			for _, c := range []struct{ name, body, scimType, detail string }{
				{"not JSON", `{"Operations":[`, "invalidSyntax", "malformed JSON"},
				{"wrong type", `{` + bulkSchema + `,"Operations":{}}`, "invalidSyntax", "Operations"},
				{"no schemas", `{"Operations":[` + postUserOp("a", "a@example.com") + `]}`, "invalidSyntax", "BulkRequest"},
				{"no operations", `{` + bulkSchema + `,"Operations":[]}`, "invalidValue", "no Operations"},
				{"bulkId twice", bulkOps(postUserOp("a", "a@example.com"), postUserOp("a", "a2@example.com")), "invalidValue", `"a" is used by more than one`},
				{"failOnErrors 0", `{` + bulkSchema + `,"failOnErrors":0,"Operations":[` + postUserOp("a", "a@example.com") + `]}`, "invalidValue", "failOnErrors"},
			} {
				status, m, _ := bulkCall(t, h, bearer, c.body)
				if status != http.StatusBadRequest || m["status"] != "400" || m["scimType"] != c.scimType || !strings.Contains(fmt.Sprint(m["detail"]), c.detail) {
					t.Errorf("%s: %d %v, want 400 %s saying %q", c.name, status, m, c.scimType, c.detail)
				}
			}
			if userExists(t, h, bearer, "a@example.com") {
				t.Error("a refused Bulk request created a user")
			}
			status, hdr, raw := send(t, "GET", h.url+"/Bulk", bearer, "", "")
			if status != http.StatusMethodNotAllowed || hdr.Get("Allow") != "POST" {
				t.Errorf("GET /Bulk: %d %s", status, raw)
			}

			status, _, ops := bulkCall(t, h, bearer, bulkOps(
				`{"method":"GET","path":"/Users"}`,
				`{"method":"POST","path":"/Users"}`,
				`{"method":"POST","path":"/Users","data":{`+userSchema+`,"userName":"nobulkid@example.com"}}`,
				`{"method":"POST","path":"/Bulk","bulkId":"x","data":{}}`,
				`{"method":"PUT","path":"/Users","data":{`+userSchema+`,"userName":"x@example.com"}}`,
				`{"method":"PATCH","path":"/Users/`+theirs+`","data":{`+patchSchema+`,"Operations":[{"op":"replace","path":"displayName","value":"Mine"}]}}`,
				`{"method":"DELETE","path":"/Users/`+theirs+`"}`,
				`{"method":"DELETE","path":"/Groups/no-such-id"}`,
				`{"method":"PUT","path":"/Users/`+theirs+`","version":"W/\"1\"","data":{`+userSchema+`,"userName":"theirs@example.com"}}`,
			))
			want := "GET <nil> 400; POST <nil> 400; POST <nil> 400; POST x 400; PUT <nil> 400; PATCH <nil> 404; DELETE <nil> 404; DELETE <nil> 404; PUT <nil> 404"
			if status != http.StatusOK || opSummary(ops) != want {
				t.Fatalf("bulk: %d %s\nwant %s", status, opSummary(ops), want)
			}
			for i, op := range ops {
				if s, _, d := opError(op); s != op["status"] || d == "" {
					t.Errorf("operation %d: response %v does not match its status %v", i, op["response"], op["status"])
				}
			}
			if scimGetJSON(t, h, otherBearer, "/Users/"+theirs)["displayName"] != nil {
				t.Error("another account's user was changed")
			}
		})
	}
}

// TestSCIMBulkVersion: an operation's version is its If-Match: a stale
// one fails with 412 and changes nothing.
func TestSCIMBulkVersion(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			h := newHarness(t, b.Open(t))
			_, bearer := h.account(t)
			u := scimPost(t, h, bearer, "/Users", `{`+userSchema+`,"userName":"v@example.com"}`)
			id := u["id"].(string)
			_, _, ops := bulkCall(t, h, bearer, bulkOps(
				`{"method":"PATCH","path":"/Users/`+id+`","version":"W/\"99\"","data":{`+patchSchema+`,"Operations":[{"op":"replace","path":"displayName","value":"X"}]}}`,
				`{"method":"DELETE","path":"/Users/`+id+`","version":"W/\"99\""}`,
			))
			if want := "PATCH <nil> 412; DELETE <nil> 412"; opSummary(ops) != want {
				t.Fatalf("bulk: %s, want %s", opSummary(ops), want)
			}
			if scimGetJSON(t, h, bearer, "/Users/"+id)["displayName"] != nil {
				t.Error("a stale version changed the user")
			}
		})
	}
}

// TestSCIMBulkLimits: ServiceProviderConfig advertises the limits, and a
// request over either is answered 413 with a SCIM error naming it; an
// operation whose data is over the single request's body limit fails
// alone with 413.
func TestSCIMBulkLimits(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			store := b.Open(t)
			h := newHarness(t, store, func(o *server.Options) {
				sc, err := scim.New(store, scim.Options{MountPath: server.SCIMPath, DefaultPageSize: 10, MaxPageSize: 10,
					MaxBodyBytes: 1024, MaxBulkOperations: 3, MaxBulkPayloadBytes: 4096})
				if err != nil {
					t.Fatal(err)
				}
				o.SCIM = sc
			})
			_, bearer := h.account(t)
			spc := scimGetJSON(t, h, bearer, "/ServiceProviderConfig")["bulk"]
			if got := fmt.Sprint(spc); got != "map[maxOperations:3 maxPayloadSize:4096 supported:true]" {
				t.Errorf("bulk in ServiceProviderConfig: %s", got)
			}
			tooLarge := func(what, body, detail string) {
				t.Helper()
				status, m, _ := bulkCall(t, h, bearer, body)
				if status != http.StatusRequestEntityTooLarge || m["status"] != "413" || m["scimType"] != nil || !strings.Contains(fmt.Sprint(m["detail"]), detail) {
					t.Errorf("%s: %d %v, want 413 saying %q", what, status, m, detail)
				}
			}
			four := bulkOps(postUserOp("a", "a@example.com"), postUserOp("b", "b@example.com"), postUserOp("c", "c@example.com"), postUserOp("d", "d@example.com"))
			tooLarge("4 operations", four, "4 operations, more than maxOperations (3)")
			big := fmt.Sprintf(`{"method":"POST","path":"/Users","bulkId":"big","data":{%s,"userName":"big@example.com","nickName":%q}}`, userSchema, strings.Repeat("n", 900))
			tooLarge("5000 bytes", bulkOps(big, big, big, big, big), "maxPayloadSize (4096 bytes)")
			if userExists(t, h, bearer, "a@example.com") {
				t.Error("a refused Bulk request created a user")
			}
			// 1,100 bytes of data: over the single request's 1024.
			bigger := strings.Replace(big, strings.Repeat("n", 900), strings.Repeat("n", 1100), 1)
			status, _, ops := bulkCall(t, h, bearer, bulkOps(bigger, postUserOp("a", "a@example.com")))
			if want := "POST big 413; POST a 201"; status != http.StatusOK || opSummary(ops) != want {
				t.Errorf("bulk: %d %s, want %s", status, opSummary(ops), want)
			}
		})
	}
}

// scimPost creates a resource, failing the test unless it answers 201.
func scimPost(t *testing.T, h *harness, bearer, path, body string) map[string]any {
	t.Helper()
	status, raw, m := scimCall(t, h, bearer, "POST", path, body)
	if status != http.StatusCreated {
		t.Fatalf("POST %s: %d %s", path, status, raw)
	}
	return m
}

// scimGetJSON reads a resource, failing the test unless it answers 200.
func scimGetJSON(t *testing.T, h *harness, bearer, path string) map[string]any {
	t.Helper()
	status, raw, m := scimCall(t, h, bearer, "GET", path, "")
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, status, raw)
	}
	return m
}

// slowStore makes the creation of the user "slow@example.com" last until
// the request's deadline.
type slowStore struct{ licensing.Store }

func (s slowStore) CreateUser(ctx context.Context, u licensing.User, audit ...licensing.AuditEntry) error {
	if u.UserName == "slow@example.com" {
		<-ctx.Done()
		return ctx.Err()
	}
	return s.Store.CreateUser(ctx, u, audit...)
}

// TestSCIMBulkDeadline: the operation the request's deadline cuts short
// answers 503 and those after it are not run; the ones before it stand.
func TestSCIMBulkDeadline(t *testing.T) {
	store := testenv.SQLite(t)
	h := newHarness(t, store, func(o *server.Options) {
		sc, err := scim.New(slowStore{store}, scim.Options{MountPath: server.SCIMPath, DefaultPageSize: 10, MaxPageSize: 10, MaxBodyBytes: testBodyLimit})
		if err != nil {
			t.Fatal(err)
		}
		o.SCIM = sc
		o.Edge.WriteTimeout = time.Second
	})
	_, bearer := h.account(t)
	_, _, ops := bulkCall(t, h, bearer, bulkOps(postUserOp("a", "a@example.com"), postUserOp("slow", "slow@example.com"), postUserOp("c", "c@example.com")))
	if want := "POST a 201; POST slow 503"; opSummary(ops) != want {
		t.Fatalf("bulk: %s, want %s", opSummary(ops), want)
	}
	if !userExists(t, h, bearer, "a@example.com") || userExists(t, h, bearer, "c@example.com") {
		t.Error("the operations before the deadline must stand, the ones after it not run")
	}
}

// TestSCIMBulkManagerCycle: two users who are each other's manager are
// both created: the first without its manager, then patched, which the
// audit log records as the writes they were.
func TestSCIMBulkManagerCycle(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			h := newHarness(t, b.Open(t))
			acct, bearer := h.account(t)
			managed := func(bulkID, manager string) string {
				return fmt.Sprintf(`{"method":"POST","path":"/Users","bulkId":%q,"data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],"userName":"%s@example.com","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Ops","manager":{"value":"bulkId:%s"}}}}`, bulkID, bulkID, manager)
			}
			_, _, ops := bulkCall(t, h, bearer, bulkOps(managed("kim", "lee"), managed("lee", "kim")))
			if want := "POST lee 201; POST kim 201"; opSummary(ops) != want {
				t.Fatalf("bulk: %s, want %s", opSummary(ops), want)
			}
			lee, kim := idOf(t, ops[0]), idOf(t, ops[1])
			for _, u := range [][2]string{{kim, lee}, {lee, kim}} {
				ext, _ := scimGetJSON(t, h, bearer, "/Users/"+u[0])["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"].(map[string]any)
				if m, _ := ext["manager"].(map[string]any); m["value"] != u[1] || ext["department"] != "Ops" {
					t.Errorf("user %s: enterprise extension %v, want manager %s", u[0], ext, u[1])
				}
			}
			trail := strings.Join(auditTrail(t, h.store, acct.ID, licensing.AuditQuery{}), "\n")
			for _, want := range []string{"user.create kim@example.com", "user.create lee@example.com", "user.patch kim@example.com: manager"} {
				if !strings.Contains(trail, want) {
					t.Errorf("audit log lacks %q:\n%s", want, trail)
				}
			}
		})
	}
}
