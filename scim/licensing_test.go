package scim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/elimity-com/scim"

	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/schemas"
)

const licURN = schemas.LicensingURN

func TestAssignmentsRoundTrip(t *testing.T) {
	rt := schemas.User(licensing.DefaultCatalog())
	attrs := scim.ResourceAttributes{
		"userName": "ann@example.com",
		licURN:     map[string]any{"remoteSupportV5": "Named", "remoteSupportV4": "none", "serviceDesk": "CONCURRENT"},
	}
	u, err := userFromAttributes(rt, attrs)
	if err != nil {
		t.Fatal(err)
	}
	want := licensing.Assignments{"remote-support-v5": licensing.LicenseNamed, "service-desk": licensing.LicenseConcurrent}
	if !reflect.DeepEqual(u.Assignments, want) {
		t.Errorf("assignments %v, want %v", u.Assignments, want)
	}
	if strings.Contains(string(u.Doc), "licensing") || strings.Contains(string(u.Doc), "remoteSupport") {
		t.Errorf("the extension is kept in the document: %s", u.Doc)
	}
	back, err := userAttributes(rt.Catalog, u, "http://x/scim/v2")
	if err != nil {
		t.Fatal(err)
	}
	ext := back[licURN]
	wantExt := map[string]any{"remoteSupportV5": "named", "remoteSupportV4": "none", "serviceDesk": "concurrent"}
	if !reflect.DeepEqual(ext, wantExt) {
		t.Errorf("rendered extension %v, want %v", ext, wantExt)
	}

	// No extension: nothing assigned, and every product rendered as none.
	u, err = userFromAttributes(rt, scim.ResourceAttributes{"userName": "bob@example.com"})
	if err != nil || u.Assignments != nil {
		t.Fatalf("without the extension: %v, %v", u.Assignments, err)
	}
	back, _ = userAttributes(rt.Catalog, u, "")
	if !reflect.DeepEqual(back[licURN], map[string]any{"remoteSupportV5": "none", "remoteSupportV4": "none", "serviceDesk": "none"}) {
		t.Errorf("rendered extension of a user without products: %v", back[licURN])
	}

	for _, bad := range []any{"gold", true, 3, map[string]any{}} {
		_, err := userFromAttributes(rt, scim.ResourceAttributes{"userName": "x", licURN: map[string]any{"serviceDesk": bad}})
		var re *requestError
		if !errors.As(err, &re) || re.ScimType != "invalidValue" || !strings.Contains(re.Detail, "named, concurrent or none") {
			t.Errorf("value %v: error %v, want invalidValue naming the allowed values", bad, err)
		}
	}
	_, err = userFromAttributes(rt, scim.ResourceAttributes{"userName": "x", licURN: map[string]any{"desk": "named"}})
	var re *requestError
	if !errors.As(err, &re) || !strings.Contains(re.Detail, `"desk"`) || !strings.Contains(re.Detail, "remoteSupportV5, remoteSupportV4, serviceDesk") {
		t.Errorf("unknown product: %v", err)
	}
}

func TestKeepUnlistedAssignments(t *testing.T) {
	c := licensing.DefaultCatalog()
	cur := licensing.Assignments{"remote-support-v5": licensing.LicenseNamed, "legacy": licensing.LicenseConcurrent}
	shared := licensing.Assignments{"service-desk": licensing.LicenseNamed}
	next := keepUnlisted(c, shared, cur)
	want := licensing.Assignments{"service-desk": licensing.LicenseNamed, "legacy": licensing.LicenseConcurrent}
	if !reflect.DeepEqual(next, want) {
		t.Errorf("assignments %v, want %v", next, want)
	}
	if len(shared) != 1 {
		t.Errorf("the map next had was changed in place: %v", shared)
	}
}

func TestNormalizeLicensingBody(t *testing.T) {
	rt := schemas.User(licensing.DefaultCatalog())
	for _, c := range []struct {
		name, body string
		want       map[string]any // the extension after normalisation; nil: body unchanged
	}{
		{"no extension", `{"userName":"a"}`, nil},
		{"not an object", `[1]`, nil},
		{"canonical", `{"userName":"a","` + licURN + `":{"remoteSupportV5":"named"}}`, map[string]any{"remoteSupportV5": "named"}},
		{"mis-cased URN and names, values", `{"userName":"a","URN:IETF:params:scim:schemas:extension:licensing:2.0:user":{"REMOTESUPPORTV5":"Named","servicedesk":"None"}}`,
			map[string]any{"remoteSupportV5": "named", "serviceDesk": "none"}},
		{"flattened", `{"userName":"a","` + licURN + `:remoteSupportV4":"CONCURRENT","` + licURN + `:serviceDesk":""}`,
			map[string]any{"remoteSupportV4": "concurrent", "serviceDesk": "none"}},
		{"both forms agreeing", `{"userName":"a","` + licURN + `":{"serviceDesk":"named"},"` + licURN + `:serviceDesk":"Named"}`,
			map[string]any{"serviceDesk": "named"}},
		{"null extension", `{"userName":"a","` + licURN + `":null}`, map[string]any{}},
		{"null value", `{"userName":"a","` + licURN + `":{"serviceDesk":null}}`, map[string]any{"serviceDesk": "none"}},
	} {
		out, err := normalizeLicensingBody([]byte(c.body), rt)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if c.want == nil {
			if string(out) != c.body {
				t.Errorf("%s: body changed to %s", c.name, out)
			}
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(m[licURN], c.want) || m["userName"] != "a" || len(m) != 2 {
			t.Errorf("%s: %s, want the extension %v", c.name, out, c.want)
		}
	}
	for _, c := range []struct{ name, body, detail string }{
		{"unknown product", `{"` + licURN + `":{"remoteSupportV9":"named"}}`, `no product attribute "remoteSupportV9": the products are remoteSupportV5, remoteSupportV4, serviceDesk.`},
		{"unknown flattened", `{"` + licURN + `:x":"named"}`, `no product attribute "x"`},
		{"bad value", `{"` + licURN + `":{"serviceDesk":"gold"}}`, `"serviceDesk" (Service Desk) must be named, concurrent or none, not "gold".`},
		{"number", `{"` + licURN + `":{"serviceDesk":2}}`, `not 2.`},
		{"list", `{"` + licURN + `":{"serviceDesk":["named"]}}`, `not ["named"].`},
		{"extension not an object", `{"` + licURN + `":"named"}`, `must be an object of product attributes`},
		{"both forms disagreeing", `{"` + licURN + `":{"serviceDesk":"named"},"` + licURN + `:serviceDesk":"none"}`, `given twice`},
	} {
		_, err := normalizeLicensingBody([]byte(c.body), rt)
		var re *requestError
		if !errors.As(err, &re) || re.Status != http.StatusBadRequest || re.ScimType != "invalidValue" || !strings.Contains(re.Detail, c.detail) {
			t.Errorf("%s: error %v, want invalidValue containing %q", c.name, err, c.detail)
		}
	}
	// Groups have no licensing extension: their bodies pass untouched.
	body := `{"displayName":"g","` + licURN + `":{"x":"y"}}`
	if out, err := normalizeLicensingBody([]byte(body), schemas.Group(licensing.DefaultCatalog())); err != nil || string(out) != body {
		t.Errorf("group body: %s, %v", out, err)
	}
}

func TestCheckLicensingPatch(t *testing.T) {
	rt := schemas.User(licensing.DefaultCatalog())
	body := func(ops string) []byte {
		return []byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` + ops + `]}`)
	}
	for _, ok := range []string{
		`{"op":"Replace","path":"` + licURN + `:remoteSupportV5","value":"concurrent"}`,
		`{"op":"add","path":"URN:ietf:params:scim:schemas:extension:licensing:2.0:User:SERVICEDESK","value":"Named"}`,
		`{"op":"replace","path":"` + licURN + `:serviceDesk","value":""}`,
		`{"op":"remove","path":"` + licURN + `:serviceDesk"}`,
		`{"op":"replace","value":{"` + licURN + `:remoteSupportV4":"none","active":false}}`,
		`{"op":"replace","value":{"` + licURN + `":{"remoteSupportV4":"NONE"}}}`,
		`{"op":"replace","path":"displayName","value":"gold"}`,
		`{"op":"replace","path":"` + licURN + `:serviceDesk","value":null}`,
	} {
		if err := checkLicensingPatch(body(ok), rt); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, c := range []struct{ op, scimType, detail string }{
		{`{"op":"Replace","path":"` + licURN + `:remoteSupportV6","value":"named"}`, "invalidValue", `no product attribute "remoteSupportV6"`},
		{`{"op":"remove","path":"` + licURN + `:remoteSupportV6"}`, "invalidValue", `no product attribute "remoteSupportV6"`},
		{`{"op":"Replace","path":"` + licURN + `:remoteSupportV5","value":"gold"}`, "invalidValue", `not "gold"`},
		{`{"op":"Replace","path":"` + licURN + `:remoteSupportV5","value":7}`, "invalidValue", `not 7`},
		{`{"op":"replace","value":{"` + licURN + `:nope":"named"}}`, "invalidValue", `no product attribute "nope"`},
		{`{"op":"replace","value":{"` + licURN + `":{"serviceDesk":"gold"}}}`, "invalidValue", `not "gold"`},
		{`{"op":"replace","value":{"` + licURN + `":{"desk":"named"}}}`, "invalidValue", `no product attribute "desk"`},
		{`{"op":"replace","path":"` + licURN + `:serviceDesk.value","value":"named"}`, "invalidPath", `no sub-attributes`},
		{`{"op":"replace","path":"` + licURN + `:serviceDesk[value eq \"x\"]","value":"named"}`, "invalidPath", `no sub-attributes`},
	} {
		err := checkLicensingPatch(body(c.op), rt)
		var re *requestError
		if !errors.As(err, &re) || re.ScimType != c.scimType || !strings.Contains(re.Detail, c.detail) {
			t.Errorf("%s: error %v, want %s containing %q", c.op, err, c.scimType, c.detail)
		}
	}
}

// TestLicensingPatchApplied applies PATCH shapes through elimity and
// applyPatch, then back to assignments.
func TestLicensingPatchApplied(t *testing.T) {
	rt := schemas.User(licensing.DefaultCatalog())
	cur := licensing.User{ID: "u1", UserName: "ann@example.com", Active: true,
		Assignments: licensing.Assignments{"remote-support-v5": licensing.LicenseNamed}}
	const head = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[`
	for _, c := range []struct {
		ops  string
		want licensing.Assignments
	}{
		{`{"op":"Replace","path":"` + licURN + `:remoteSupportV5","value":"Concurrent"}`, licensing.Assignments{"remote-support-v5": licensing.LicenseConcurrent}},
		{`{"op":"replace","value":{"` + licURN + `:serviceDesk":"named"}}`, licensing.Assignments{"remote-support-v5": licensing.LicenseNamed, "service-desk": licensing.LicenseNamed}},
		{`{"op":"replace","value":{"` + licURN + `":{"remoteSupportV5":"none","remoteSupportV4":"named"}}}`, licensing.Assignments{"remote-support-v4": licensing.LicenseNamed}},
		{`{"op":"add","path":"` + licURN + `","value":{"serviceDesk":"concurrent"}}`, licensing.Assignments{"remote-support-v5": licensing.LicenseNamed, "service-desk": licensing.LicenseConcurrent}},
		{`{"op":"remove","path":"` + licURN + `:remoteSupportV5"}`, nil},
		{`{"op":"remove","path":"` + licURN + `"}`, nil},
		{`{"op":"replace","path":"` + licURN + `:remoteSupportV5","value":""}`, nil},
	} {
		body, err := normalizePatchBody([]byte(head+c.ops+`]}`), rt)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkLicensingPatch(body, rt); err != nil {
			t.Fatalf("%s: %v", c.ops, err)
		}
		status, ops := throughElimity(t, rt, body)
		if status != http.StatusNoContent {
			t.Fatalf("%s: elimity answered %d", c.ops, status)
		}
		res, err := userResource(rt.Catalog, cur, "")
		if err != nil {
			t.Fatal(err)
		}
		m := patchable(rt, res)
		if _, err := applyPatch(m, ops, rt); err != nil {
			t.Fatalf("%s: %v", c.ops, err)
		}
		attrs, err := validateResource(rt, withSchemas(rt, m))
		if err != nil {
			t.Fatalf("%s: %v", c.ops, err)
		}
		next, err := userFromAttributes(rt, attrs)
		if err != nil {
			t.Fatalf("%s: %v", c.ops, err)
		}
		if !reflect.DeepEqual(next.Assignments, c.want) {
			t.Errorf("%s: assignments %v, want %v", c.ops, next.Assignments, c.want)
		}
	}
}

func TestNamedSeatsExhaustedMapping(t *testing.T) {
	err := fmt.Errorf("sqlstore: replace user: %w", &licensing.NamedSeatsExhaustedError{Product: licensing.Product{ID: "remote-support-v5"}, Assigned: 10, Total: 10})
	se := toSCIMError(context.Background(), licensing.DefaultCatalog(), "User", err)
	if se.Status != http.StatusBadRequest || se.ScimType != "invalidValue" || se.Detail != "No named license left for Remote Support v5: 10 of 10 assigned." {
		t.Errorf("got %d %q %q", se.Status, se.ScimType, se.Detail)
	}
	// A product the catalog does not know is named by its id.
	err = &licensing.NamedSeatsExhaustedError{Product: licensing.Product{ID: "old-product"}, Assigned: 1, Total: 1}
	if se := toSCIMError(context.Background(), licensing.DefaultCatalog(), "User", err); se.Detail != "No named license left for old-product: 1 of 1 assigned." {
		t.Errorf("unknown product: %q", se.Detail)
	}
}

func TestPasswordSecrets(t *testing.T) {
	hashes := 0
	pw := passwords{
		hash:   func(_ context.Context, p string) (string, error) { hashes++; return "hash:" + p, nil },
		verify: func(_ context.Context, h, p string) (bool, error) { return h == "hash:"+p, nil },
	}
	ctx := context.Background()
	next := licensing.User{PasswordHash: "stale"}
	changed, err := pw.secrets(ctx, &next, scim.ResourceAttributes{"password": "s1"}, nil)
	if err != nil || !changed || next.PasswordHash != "hash:s1" {
		t.Fatalf("create: %v %v %q", changed, err, next.PasswordHash)
	}
	cur := licensing.User{PasswordHash: "hash:s1"}
	next = licensing.User{}
	if changed, _ := pw.secrets(ctx, &next, scim.ResourceAttributes{"password": "s1"}, &cur); changed || next.PasswordHash != "" || hashes != 1 {
		t.Errorf("same password: changed %v, hash %q, %d hashes", changed, next.PasswordHash, hashes)
	}
	if changed, _ := pw.secrets(ctx, &next, scim.ResourceAttributes{"password": "s2"}, &cur); !changed || next.PasswordHash != "hash:s2" {
		t.Errorf("new password: changed %v, hash %q", changed, next.PasswordHash)
	}
	next = licensing.User{}
	if changed, _ := pw.secrets(ctx, &next, scim.ResourceAttributes{"userName": "x"}, &cur); changed || next.PasswordHash != "" {
		t.Errorf("no password: changed %v, hash %q", changed, next.PasswordHash)
	}
	if changed, _ := (passwords{}).secrets(ctx, &next, scim.ResourceAttributes{"password": "s3"}, &cur); changed || next.PasswordHash != "" {
		t.Errorf("no hasher: changed %v, hash %q", changed, next.PasswordHash)
	}
	busy := passwords{
		hash:   func(context.Context, string) (string, error) { return "", licensing.ErrUnavailable },
		verify: func(context.Context, string, string) (bool, error) { return false, licensing.ErrUnavailable },
	}
	if _, err := busy.secrets(ctx, &next, scim.ResourceAttributes{"password": "s5"}, &cur); !errors.Is(err, licensing.ErrUnavailable) {
		t.Errorf("busy checker: %v, want licensing.ErrUnavailable", err)
	}
	failing := passwords{hash: func(context.Context, string) (string, error) { return "", errors.New("no entropy") }}
	if _, err := failing.secrets(ctx, &next, scim.ResourceAttributes{"password": "s4"}, nil); err == nil || strings.Contains(err.Error(), "s4") {
		t.Errorf("failing hasher: %v", err)
	}
}

func TestNewRefusesABadCatalog(t *testing.T) {
	_, err := New(nil, Options{DefaultPageSize: 1, MaxPageSize: 1, MaxBodyBytes: 1,
		Catalog: licensing.Catalog{Products: []licensing.Product{{ID: "Bad Id", Name: "x"}}}})
	if !errors.Is(err, licensing.ErrInvalid) {
		t.Errorf("New with a bad catalog: %v", err)
	}
}

// licensingTestUser is the User resource type with the licensing extension
// generated from the default product catalog.
func licensingTestUser() schemas.Resource {
	return schemas.User(licensing.DefaultCatalog())
}

const licensingTestURN = "urn:ietf:params:scim:schemas:extension:licensing:2.0:User"

func TestLicensingExtension(t *testing.T) {
	rt := licensingTestUser()
	const head = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[`
	base := func() map[string]any {
		m := patchTestUser()
		m[licensingTestURN] = tObj{"remoteSupportV5": "named", "serviceDesk": "none"}
		return m
	}
	for _, tt := range []struct{ ops, v5, desk string }{
		{`{"op":"Add","value":{"` + licensingTestURN + `:remoteSupportV5":"concurrent"}}`, "concurrent", "none"},
		{`{"op":"replace","value":{"` + licensingTestURN + `":{"remoteSupportV5":"none","serviceDesk":"named"}}}`, "none", "named"},
		{`{"op":"Replace","path":"` + licensingTestURN + `:serviceDesk","value":"concurrent"}`, "named", "concurrent"},
		{`{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:LICENSING:2.0:User:serviceDesk","value":"named"}`, "named", "named"},
	} {
		body, err := normalizePatchBody([]byte(head+tt.ops+`]}`), rt)
		if err != nil {
			t.Fatal(err)
		}
		status, ops := throughElimity(t, rt, body)
		if status != http.StatusNoContent {
			t.Fatalf("elimity answered %d to %s", status, body)
		}
		res := base()
		if _, err := applyPatch(res, ops, rt); err != nil {
			t.Fatalf("%s: %v", tt.ops, err)
		}
		want := tObj{"remoteSupportV5": tt.v5, "serviceDesk": tt.desk}
		if !reflect.DeepEqual(res[licensingTestURN], want) {
			t.Errorf("%s: extension = %v, want %v", tt.ops, res[licensingTestURN], want)
		}
	}
	c, err := compileFilter(`urn:ietf:params:scim:schemas:extension:licensing:2.0:User:remoteSupportV5 eq "concurrent"`, rt)
	if err != nil {
		t.Fatal(err)
	}
	// The store finds the assignment by product id, so the path names it.
	if want := cmpCond(condStr(licensingTestURN, "remote-support-v5"), "eq", "concurrent"); !reflect.DeepEqual(c, want) {
		t.Errorf("filter = %#v, want %#v", c, want)
	}
}
