package scim

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/elimity-com/scim"
	"github.com/elimity-com/scim/optional"

	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/schemas"
)

// Tests of what elimity-com/scim hands the Patch handler (the header of
// patch.go) and of PATCH bodies replayed through elimity, with and
// without normalizePatchBody, into applyPatch.

// elimityPatch captures the operations elimity hands the Patch handler.
type elimityPatch struct{ ops []scim.PatchOperation }

var errUnused = errors.New("not used in this test")

func (h *elimityPatch) Create(*http.Request, scim.ResourceAttributes) (scim.Resource, error) {
	return scim.Resource{}, errUnused
}

func (h *elimityPatch) Get(*http.Request, string) (scim.Resource, error) {
	return scim.Resource{}, errUnused
}

func (h *elimityPatch) GetAll(*http.Request, scim.ListRequestParams) (scim.Page, error) {
	return scim.Page{}, errUnused
}

func (h *elimityPatch) Replace(*http.Request, string, scim.ResourceAttributes) (scim.Resource, error) {
	return scim.Resource{}, errUnused
}

func (h *elimityPatch) Delete(*http.Request, string) error { return errUnused }

func (h *elimityPatch) Patch(_ *http.Request, _ string, ops []scim.PatchOperation) (scim.Resource, error) {
	h.ops = ops
	return scim.Resource{}, nil
}

// throughElimity sends a PATCH body to an elimity server for rt and
// returns the HTTP status and the operations its handler received.
func throughElimity(t *testing.T, rt schemas.Resource, body []byte) (int, []scim.PatchOperation) {
	status, ops, _ := throughElimityWithError(t, rt, body)
	return status, ops
}

// throughElimityWithError is throughElimity also returning the scimType
// of an error response.
func throughElimityWithError(t *testing.T, rt schemas.Resource, body []byte) (int, []scim.PatchOperation, string) {
	t.Helper()
	h := &elimityPatch{}
	var exts []scim.SchemaExtension
	for _, e := range rt.Extensions {
		exts = append(exts, scim.SchemaExtension{Schema: e})
	}
	srv, err := scim.NewServer(&scim.ServerArgs{
		ServiceProviderConfig: &scim.ServiceProviderConfig{},
		ResourceTypes: []scim.ResourceType{{
			ID: optional.NewString(rt.Name), Name: rt.Name, Endpoint: rt.Endpoint,
			Schema: rt.Core, SchemaExtensions: exts, Handler: h,
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPatch, rt.Endpoint+"/x1", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/scim+json")
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	var scimErr struct{ ScimType string }
	_ = json.Unmarshal(rec.Body.Bytes(), &scimErr)
	return rec.Code, h.ops, scimErr.ScimType
}

// TestPatchThroughElimity replays Okta's and Entra's PATCH bodies through
// elimity, with and without normalizePatchBody, and applies what the
// handler receives.
func TestPatchThroughElimity(t *testing.T) {
	user, group, ext := schemas.User(licensing.DefaultCatalog()), schemas.Group(licensing.DefaultCatalog()), schemas.EnterpriseURN
	const head = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[`
	tests := []struct {
		name string
		rt   schemas.Resource
		res  func() map[string]any
		ops  string
		// rawRejected says elimity answers 400 unless the body is
		// normalized first.
		rawRejected bool
		want        func(m tObj)
	}{
		{name: "okta deactivation", rt: user, res: patchTestUser,
			ops:  `{"op":"replace","value":{"active":false}}`,
			want: func(m tObj) { m["active"] = false }},
		{name: "okta group rename with id", rt: group, res: patchTestGroup,
			ops:  `{"op":"replace","value":{"id":"g1","displayName":"Sales EMEA"}}`,
			want: func(m tObj) { m["displayName"] = "Sales EMEA" }},
		{name: "okta membership", rt: group, res: patchTestGroup,
			ops: `{"op":"remove","path":"members[value eq \"u1\"]"},{"op":"add","path":"members","value":[{"value":"u3","display":"Cy"}]}`,
			want: func(m tObj) {
				m["members"] = tList{tObj{"value": "u2", "display": "Bob"}, tObj{"value": "u3"}}
			}},
		{name: "extension path with a schemas key", rt: user, res: patchTestUser, rawRejected: true,
			ops:  `{"op":"add","path":"` + ext + `","value":{"schemas":["` + ext + `"],"department":"Support"}}`,
			want: func(m tObj) { m[ext].(tObj)["department"] = "Support" }},
		{name: "nested extension object with a schemas key", rt: user, res: patchTestUser, rawRejected: true,
			ops:  `{"op":"replace","value":{"nickName":"Annie","` + ext + `":{"SCHEMAS":"` + ext + `","employeeNumber":"8"}}}`,
			want: func(m tObj) { m["nickName"] = "Annie"; m[ext].(tObj)["employeeNumber"] = "8" }},
		{name: "entra member removal", rt: group, res: patchTestGroup,
			ops:  `{"op":"Remove","path":"members","value":[{"value":"u1"}]}`,
			want: func(m tObj) { m["members"] = tList{tObj{"value": "u2", "display": "Bob"}} }},
		{name: "entra path-less map", rt: user, res: patchTestUser,
			ops: `{"op":"Replace","value":{"` + ext + `:employeeNumber":"8","active":"False","name.familyName":"Lee-Smith"}}`,
			want: func(m tObj) {
				m["active"] = false
				m["name"].(tObj)["familyName"] = "Lee-Smith"
				m[ext].(tObj)["employeeNumber"] = "8"
			}},
		{name: "entra boolean string with path", rt: user, res: patchTestUser,
			ops:  `{"op":"Replace","path":"active","value":"False"}`,
			want: func(m tObj) { m["active"] = false }},
		{name: "entra adds a work email", rt: user,
			res:  func() map[string]any { m := patchTestUser(); delete(m, "emails"); return m },
			ops:  `{"op":"Add","path":"emails[type eq \"work\"].value","value":"ann@example.com"}`,
			want: func(m tObj) { m["emails"] = tList{tObj{"type": "work", "value": "ann@example.com"}} }},
		{name: "entra replaces an address by filter", rt: user, res: patchTestUser,
			ops:  `{"op":"replace","path":"addresses[type eq \"work\"].locality","value":"Paris"}`,
			want: func(m tObj) { m["addresses"] = tList{tObj{"type": "work", "locality": "Paris"}} }},
		{name: "entra manager as a bare string", rt: user, res: patchTestUser, rawRejected: true,
			ops:  `{"op":"Replace","path":"` + ext + `:manager","value":"m2"}`,
			want: func(m tObj) { m[ext].(tObj)["manager"] = tObj{"value": "m2"} }},
		{name: "entra clears the manager", rt: user, res: patchTestUser, rawRejected: true,
			ops:  `{"op":"Replace","path":"` + ext + `:manager","value":""}`,
			want: func(m tObj) { delete(m[ext].(tObj), "manager") }},
		{name: "manager in a nested extension object", rt: user, res: patchTestUser, rawRejected: true,
			ops:  `{"op":"replace","value":{"` + ext + `":{"manager":"m3","department":"D"}}}`,
			want: func(m tObj) { m[ext] = tObj{"employeeNumber": "7", "manager": tObj{"value": "m3"}, "department": "D"} }},
		{name: "manager object", rt: user, res: patchTestUser,
			ops:  `{"op":"replace","path":"` + ext + `:manager","value":{"value":"m4","displayName":"ignored"}}`,
			want: func(m tObj) { m[ext].(tObj)["manager"] = tObj{"value": "m4"} }},
		{name: "mis-cased extension URN", rt: user, res: patchTestUser, rawRejected: true,
			ops:  `{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:employeeNumber","value":"9"}`,
			want: func(m tObj) { m[ext].(tObj)["employeeNumber"] = "9" }},
		{name: "whole extension path", rt: user, res: patchTestUser, rawRejected: true,
			ops:  `{"op":"add","path":"` + ext + `","value":{"costCenter":"CC"}}`,
			want: func(m tObj) { m[ext].(tObj)["costCenter"] = "CC" }},
		{name: "whole extension removed", rt: user, res: patchTestUser, rawRejected: true,
			ops:  `{"op":"remove","path":"` + ext + `"}`,
			want: func(m tObj) { delete(m, ext) }},
		{name: "setting the same values", rt: user, res: patchTestUser,
			ops: `{"op":"replace","value":{"userName":"ann@example.com","name":{"givenName":"Ann"},"` + ext + `":{"employeeNumber":"7"}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(head + tt.ops + `]}`)
			status, _ := throughElimity(t, tt.rt, body)
			if tt.rawRejected && status != http.StatusBadRequest {
				t.Errorf("elimity answered %d to the raw body, want 400", status)
			}
			if !tt.rawRejected && status != http.StatusNoContent {
				t.Errorf("elimity answered %d to the raw body, want 204", status)
			}
			normalized, err := normalizePatchBody(body, tt.rt)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.rawRejected && string(normalized) != string(body) {
				t.Errorf("normalizePatchBody changed an accepted body:\n%s", normalized)
			}
			status, ops := throughElimity(t, tt.rt, normalized)
			if status != http.StatusNoContent {
				t.Fatalf("elimity answered %d to the normalized body %s", status, normalized)
			}
			res := tt.res()
			changed, err := applyPatch(res, ops, tt.rt)
			if err != nil {
				t.Fatalf("applyPatch: %v", err)
			}
			want := tt.res()
			if tt.want != nil {
				tt.want(want)
			}
			if got, w := normalJSON(t, res), normalJSON(t, want); !reflect.DeepEqual(got, w) {
				t.Errorf("result\n got %v\nwant %v", got, w)
			}
			if changed != (tt.want != nil) {
				t.Errorf("changed = %v, want %v", changed, tt.want != nil)
			}
		})
	}
}

// TestElimityPatchShapes pins down what elimity hands the handler, as the
// comment at the top of patch.go describes.
func TestElimityPatchShapes(t *testing.T) {
	user, ext := schemas.User(licensing.DefaultCatalog()), schemas.EnterpriseURN
	const head = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[`
	send := func(op string) (int, []scim.PatchOperation) {
		return throughElimity(t, user, []byte(head+op+`]}`))
	}
	status, ops := send(`{"op":"Replace","value":{"ID":"u1","` + ext + `:employeeNumber":"7","active":"False","name.familyName":"X","emails":{"value":"a@b"},"` + ext + `":{"costCenter":"C"}}}`)
	if status != http.StatusNoContent || len(ops) != 1 {
		t.Fatalf("status %d, ops %v", status, ops)
	}
	want := map[string]any{
		ext + ":employeeNumber": "7", "active": false, "name.familyName": "X",
		"emails": []any{map[string]any{"value": "a@b"}}, ext: map[string]any{"costCenter": "C"},
	}
	if ops[0].Op != "replace" || ops[0].Path != nil || !reflect.DeepEqual(ops[0].Value, want) {
		t.Errorf("path-less: got %#v", ops[0])
	}
	status, ops = send(`{"op":"add","path":"addresses[type eq \"work\"]","value":{"locality":"Paris"}},` +
		`{"op":"remove","path":"emails","value":{"value":"a@b"}},{"op":"remove","path":"title"}`)
	if status != http.StatusNoContent || len(ops) != 3 {
		t.Fatalf("status %d, ops %v", status, ops)
	}
	if !reflect.DeepEqual(ops[0].Value, map[string]any{"locality": "Paris"}) {
		t.Errorf("filtered add: got %#v", ops[0].Value)
	}
	if !reflect.DeepEqual(ops[1].Value, []any{map[string]any{"value": "a@b"}}) {
		t.Errorf("remove with value: got %#v", ops[1].Value)
	}
	if ops[2].Value != nil || ops[2].Path == nil || ops[2].Path.String() != "title" {
		t.Errorf("remove: got %#v", ops[2])
	}
	for _, rejected := range []struct{ op, scimType string }{
		{`{"op":"remove"}`, "noTarget"},
		{`{"op":"replace","path":"title","value":null}`, "invalidValue"},
		{`{"op":"replace","value":{"title":null}}`, "invalidValue"},
		{`{"op":"replace","path":"id","value":"x"}`, "invalidPath"},
		{`{"op":"replace","path":"meta.created","value":"x"}`, "invalidPath"},
		{`{"op":"replace","path":"schemas","value":["x"]}`, "invalidPath"},
		{`{"op":"replace","value":{"schemas":["x"]}}`, "invalidValue"},
		{`{"op":"replace","value":{"meta":{"version":"x"}}}`, "invalidValue"},
		{`{"op":"replace","value":{"shoeSize":"x"}}`, "invalidValue"},
		{`{"op":"move","path":"title","value":"x"}`, "invalidValue"},
		{`{"op":"replace","path":"` + ext + `:manager","value":"m1"}`, "invalidValue"},
		{`{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:department","value":"D"}`, "invalidPath"},
		{`{"op":"replace","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:department":"D"}}`, "invalidValue"},
		{`{"op":"replace","path":"` + ext + `","value":{"department":"D"}}`, "invalidPath"},
	} {
		status, _, scimType := throughElimityWithError(t, user, []byte(head+rejected.op+`]}`))
		if status != http.StatusBadRequest || scimType != rejected.scimType {
			t.Errorf("elimity answered %d %q to %s, want 400 %q", status, scimType, rejected.op, rejected.scimType)
		}
	}
}
