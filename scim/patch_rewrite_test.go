package scim

import (
	"testing"

	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/schemas"
)

// Tests of the PATCH body rewrites of patch_rewrite.go.

func TestRewriteEntraManager(t *testing.T) {
	const head = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[`
	const mgr = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"
	tests := []struct {
		name, in, want string // want "" means unchanged, byte for byte
	}{
		{"bare string", `{"op":"Replace","path":"` + mgr + `","value":"m1"}`,
			`{"op":"Replace","path":"` + mgr + `","value":{"value":"m1"}}`},
		{"add bare string, URN mis-cased", `{"op":"add","path":"URN:ietf:params:scim:schemas:extension:enterprise:2.0:user:MANAGER","value":"m1"}`,
			`{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":{"value":"m1"}}`},
		{"empty string clears", `{"op":"Replace","path":"` + mgr + `","value":""}`,
			`{"op":"remove","path":"` + mgr + `"}`},
		{"null clears", `{"op":"replace","path":"` + mgr + `","value":null}`,
			`{"op":"remove","path":"` + mgr + `"}`},
		{"empty value object clears", `{"op":"replace","path":"` + mgr + `","value":{"value":""}}`,
			`{"op":"remove","path":"` + mgr + `"}`},
		{"array of a string", `{"op":"Add","path":"` + mgr + `","value":["m1"]}`,
			`{"op":"Add","path":"` + mgr + `","value":{"value":"m1"}}`},
		{"array of an object", `{"op":"Add","path":"` + mgr + `","value":[{"value":"m1"}]}`,
			`{"op":"Add","path":"` + mgr + `","value":{"value":"m1"}}`},
		{"path-less URN key", `{"op":"Replace","value":{"` + mgr + `":"m1","active":"False"}}`,
			`{"op":"Replace","value":{"active":"False","` + mgr + `":{"value":"m1"}}}`},
		{"path-less URN key clearing", `{"op":"Replace","value":{"` + mgr + `":"","active":"False"}}`,
			`{"op":"Replace","value":{"active":"False"}},{"op":"remove","path":"` + mgr + `"}`},
		{"path-less URN key clearing alone", `{"op":"Replace","value":{"` + mgr + `":""}}`,
			`{"op":"remove","path":"` + mgr + `"}`},
		{"nested extension", `{"op":"add","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":"m1","department":"D"}}}`,
			`{"op":"add","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D","manager":{"value":"m1"}}}}`},
		{"nested extension clearing", `{"op":"add","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":""}}}`,
			`{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}`},
		{"object manager stays", `{"op":"replace","path":"` + mgr + `","value":{"value":"m1"}}`, ""},
		{"remove stays", `{"op":"remove","path":"` + mgr + `"}`, ""},
		{"remove with a value list drops the value", `{"op":"Remove","path":"` + mgr + `","value":[{"value":"m1"}]}`,
			`{"op":"remove","path":"` + mgr + `"}`},
		{"bare manager path gets the URN", `{"op":"Add","path":"manager","value":[{"$ref":"x","value":"m1"}]}`,
			`{"op":"Add","path":"` + mgr + `","value":{"$ref":"x","value":"m1"}}`},
		{"bare manager remove", `{"op":"remove","path":"Manager"}`, `{"op":"remove","path":"` + mgr + `"}`},
		{"add without value stays", `{"op":"add","path":"` + mgr + `"}`, ""},
		{"other path stays", `{"op":"replace","path":"displayName","value":""}`, ""},
		{"two-element array stays", `{"op":"add","path":"` + mgr + `","value":["a","b"]}`, ""},
		{"odd spacing stays", `{ "op" : "replace", "path" : "title", "value" : "x" }`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := head + tt.in + `]}`
			got, err := rewriteEntraManager([]byte(in))
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == "" {
				if string(got) != in {
					t.Errorf("body changed:\n got %s\nwant %s", got, in)
				}
				return
			}
			want := `{"Operations":[` + tt.want + `],"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}`
			if string(got) != want {
				t.Errorf("\n got %s\nwant %s", got, want)
			}
		})
	}
	for _, bad := range []string{``, `[`, `"x"`, `null`} {
		_, err := rewriteEntraManager([]byte(bad))
		requireRequestErr(t, err, "invalidSyntax", "JSON")
	}
	for _, odd := range []string{`{}`, `{"Operations":"x"}`, `{"Operations":[1,"a",null]}`} {
		got, err := rewriteEntraManager([]byte(odd))
		if err != nil || string(got) != odd {
			t.Errorf("rewriteEntraManager(%s) = %s, %v; want it unchanged", odd, got, err)
		}
	}
}

func TestNormalizePatchBody(t *testing.T) {
	user := schemas.User(licensing.DefaultCatalog())
	const head = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[`
	ent := schemas.EnterpriseURN
	tests := []struct {
		name, in, want string // want "" means unchanged, byte for byte
	}{
		{"okta deactivation stays", `{"op":"replace","value":{"active":false}}`, ""},
		{"entra path-less map stays", `{"op":"Replace","value":{"` + ent + `:employeeNumber":"7","active":"False","name.familyName":"X"}}`, ""},
		{"mis-cased URN path", `{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:ENTERPRISE:2.0:user:employeeNumber","value":"7"}`,
			`{"op":"replace","path":"` + ent + `:employeeNumber","value":"7"}`},
		{"mis-cased URN key", `{"op":"replace","value":{"URN:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"7","active":true}}`,
			`{"op":"replace","value":{"active":true,"` + ent + `:employeeNumber":"7"}}`},
		{"mis-cased extension key", `{"op":"add","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:user":{"department":"D"}}}`,
			`{"op":"add","value":{"` + ent + `":{"department":"D"}}}`},
		{"whole extension path", `{"op":"add","path":"` + ent + `","value":{"department":"D"}}`,
			`{"op":"add","value":{"` + ent + `":{"department":"D"}}}`},
		{"whole extension removed", `{"op":"remove","path":"` + ent + `"}`,
			`{"op":"remove","path":"` + ent + `:employeeNumber"},{"op":"remove","path":"` + ent + `:costCenter"},` +
				`{"op":"remove","path":"` + ent + `:organization"},{"op":"remove","path":"` + ent + `:division"},` +
				`{"op":"remove","path":"` + ent + `:department"},{"op":"remove","path":"` + ent + `:manager"}`},
		{"core schema path", `{"op":"replace","path":"` + schemas.UserURN + `","value":{"displayName":"D"}}`,
			`{"op":"replace","value":{"displayName":"D"}}`},
		{"manager bare string", `{"op":"Replace","path":"` + ent + `:manager","value":"m1"}`,
			`{"op":"Replace","path":"` + ent + `:manager","value":{"value":"m1"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := head + tt.in + `]}`
			got, err := normalizePatchBody([]byte(in), user)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == "" {
				if string(got) != in {
					t.Errorf("body changed:\n got %s\nwant %s", got, in)
				}
				return
			}
			want := `{"Operations":[` + tt.want + `],"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}`
			if string(got) != want {
				t.Errorf("\n got %s\nwant %s", got, want)
			}
		})
	}
	_, err := normalizePatchBody([]byte(`{"Operations":`), user)
	requireRequestErr(t, err, "invalidSyntax", "JSON")
	// Groups have no enterprise extension: a manager path is left alone.
	in := head + `{"op":"add","path":"` + ent + `:manager","value":"m1"}]}`
	if got, err := normalizePatchBody([]byte(in), schemas.Group(licensing.DefaultCatalog())); err != nil || string(got) != in {
		t.Errorf("group body changed: %s, %v", got, err)
	}
}
