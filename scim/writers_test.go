package scim

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/elimity-com/scim"

	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/schemas"
)

// TestResolveAssignments checks the rule of the three writers
// (writers.go) on the attributes a write ends with, against a stored user.
func TestResolveAssignments(t *testing.T) {
	c := licensing.DefaultCatalog()
	ext := func(kv ...string) map[string]any {
		m := map[string]any{}
		for _, p := range c.Products {
			m[p.Attribute()] = "none"
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	list := func(values ...string) []any {
		out := []any{}
		for _, v := range values {
			out = append(out, map[string]any{"value": v})
		}
		return out
	}
	stored := licensing.User{
		Assignments: licensing.Assignments{"remote-support-v5": licensing.LicenseNamed, "service-desk": licensing.LicenseConcurrent},
		Doc:         json.RawMessage(`{"roles":[{"value":"ServiceDeskConcurrent"},{"value":"Reader"}]}`),
	}
	// The stored user's representation, as a PATCH starts from it.
	shown := scim.ResourceAttributes{
		schemas.LicensingURN: ext("remoteSupportV5", "named", "serviceDesk", "concurrent"),
		"entitlements":       list("remote-support-v5:named", "service-desk:concurrent", "beta"),
		"roles":              list("ServiceDeskConcurrent", "Reader"),
	}
	with := func(changes map[string]any, drop ...string) scim.ResourceAttributes {
		a := maps.Clone(shown)
		maps.Copy(a, changes)
		for _, k := range drop {
			delete(a, k)
		}
		return a
	}
	for _, tt := range []struct {
		name  string
		attrs scim.ResourceAttributes
		cur   *licensing.User
		whole bool
		want  string // the assignments, or "error: <part of the detail>"
	}{
		{"unchanged PATCH", shown, &stored, false, "remote-support-v5=named service-desk=concurrent"},
		{"GET-then-PUT", shown, &stored, true, "remote-support-v5=named service-desk=concurrent"},
		{"extension alone", with(map[string]any{schemas.LicensingURN: ext("remoteSupportV5", "concurrent", "serviceDesk", "concurrent")}), &stored, false,
			"remote-support-v5=concurrent service-desk=concurrent"},
		{"extension alone drops a product its roles name", with(map[string]any{schemas.LicensingURN: ext("remoteSupportV5", "named")}), &stored, true,
			"remote-support-v5=named"},
		{"entitlement added", with(map[string]any{"entitlements": list("remote-support-v5:named", "service-desk:concurrent", "remote-support-v4:concurrent")}), &stored, false,
			"remote-support-v4=concurrent remote-support-v5=named service-desk=concurrent"},
		{"entitlement removed", with(map[string]any{"entitlements": list("service-desk:concurrent")}), &stored, false, "service-desk=concurrent"},
		{"all entitlements removed", with(nil, "entitlements"), &stored, false, ""},
		{"role removed", with(map[string]any{"roles": list("Reader")}), &stored, false, "remote-support-v5=named"},
		{"role changed type", with(map[string]any{"roles": list("ServiceDeskNamed")}), &stored, false, "remote-support-v5=named service-desk=named"},
		{"role added", with(map[string]any{"roles": list("ServiceDeskConcurrent", "remote-support-v4:named")}), &stored, false,
			"remote-support-v4=named remote-support-v5=named service-desk=concurrent"},
		{"extension and entitlement agree", with(map[string]any{schemas.LicensingURN: ext("remoteSupportV5", "named", "serviceDesk", "concurrent", "remoteSupportV4", "named"),
			"entitlements": list("remote-support-v5:named", "service-desk:concurrent", "remote-support-v4:named")}), &stored, false,
			"remote-support-v4=named remote-support-v5=named service-desk=concurrent"},
		{"extension and entitlement disagree", with(map[string]any{schemas.LicensingURN: ext("remoteSupportV5", "none", "serviceDesk", "concurrent"),
			"entitlements": list("remote-support-v5:concurrent", "service-desk:concurrent")}), &stored, false,
			`error: The licensing extension attribute "remoteSupportV5" (none) and the entitlement "remote-support-v5:concurrent" assign Remote Support v5 differently`},
		{"extension and role removal disagree", with(map[string]any{schemas.LicensingURN: ext("remoteSupportV5", "named", "serviceDesk", "named"), "roles": list("Reader")}), &stored, false,
			`error: The licensing extension attribute "serviceDesk" (named) and the roles, without "ServiceDeskConcurrent" assign Service Desk differently`},
		{"two types in entitlements", with(map[string]any{"entitlements": list("remote-support-v5:named", "remote-support-v5:concurrent")}), &stored, false,
			"error: are two license types of Remote Support v5"},
		{"two types in roles", with(map[string]any{"roles": list("RemoteSupportV4Named", "remote-support-v4:concurrent")}), &stored, false,
			"error: are two license types of Remote Support v4"},
		{"not a license type", with(map[string]any{"entitlements": list("service-desk:gold")}), &stored, false, "error: names Service Desk but none of its license types"},
		{"PUT without extension", with(map[string]any{"entitlements": list("service-desk:named")}, schemas.LicensingURN), &stored, true, "service-desk=named"},
		{"PUT without entitlements", with(map[string]any{schemas.LicensingURN: ext("remoteSupportV4", "concurrent")}, "entitlements"), &stored, true, "remote-support-v4=concurrent"},
		{"PUT without both", with(nil, schemas.LicensingURN, "entitlements"), &stored, true, ""},
		{"POST: none in the extension does not fight a role", scim.ResourceAttributes{schemas.LicensingURN: ext(), "roles": list("RemoteSupportV5Concurrent")}, nil, true,
			"remote-support-v5=concurrent"},
		{"POST: extension and role disagree", scim.ResourceAttributes{schemas.LicensingURN: ext("remoteSupportV5", "named"), "roles": list("RemoteSupportV5Concurrent")}, nil, true,
			"error: assign Remote Support v5 differently"},
		{"JSON text of an Entra app role", scim.ResourceAttributes{"roles": list(`{"id":"1","value":"ServiceDeskNamed","displayName":"x"}`)}, nil, true, "service-desk=named"},
	} {
		next := licensing.User{}
		if e, ok := tt.attrs[schemas.LicensingURN]; ok {
			a, err := assignmentsFrom(schemas.User(c), scim.ResourceAttributes{schemas.LicensingURN: e})
			if err != nil {
				t.Fatal(err)
			}
			next.Assignments = a
		}
		err := resolveAssignments(c, &next, tt.attrs, tt.cur, tt.whole)
		if want, isErr := strings.CutPrefix(tt.want, "error: "); isErr {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %v (assignments %v), want an error containing %q", tt.name, err, next.Assignments, want)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		var got []string
		for _, p := range c.Products {
			if t := next.Assignments.Of(p.ID); t != licensing.LicenseNone {
				got = append(got, p.ID+"="+string(t))
			}
		}
		slices.Sort(got)
		if strings.Join(got, " ") != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, strings.Join(got, " "), tt.want)
		}
	}
}

// TestSingleAppRoleRewrite checks the rewrites of Entra's
// SingleAppRoleAssignment shape.
func TestSingleAppRoleRewrite(t *testing.T) {
	rt := schemas.User(licensing.DefaultCatalog())
	for path, want := range map[string]string{
		`roles[primary eq \"True\"].value`:                    `{"op":"replace","path":"roles","value":[{"primary":true,"value":"X"}]}`,
		`ROLES[ primary eq true ].Value`:                      `{"op":"replace","path":"roles","value":[{"primary":true,"value":"X"}]}`,
		schemas.UserURN + `:roles[primary eq \"True\"].value`: `{"op":"replace","path":"roles","value":[{"primary":true,"value":"X"}]}`,
		`roles[primary eq \"False\"].value`:                   `{"op":"Replace","path":"roles[primary eq \"False\"].value","value":"X"}`,
		`roles[type eq \"True\"].value`:                       `{"op":"Replace","path":"roles[type eq \"True\"].value","value":"X"}`,
	} {
		body := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"` + path + `","value":"X"}]}`
		out, err := normalizePatchBody([]byte(body), rt)
		if err != nil {
			t.Fatal(err)
		}
		var got struct{ Operations []json.RawMessage }
		if err := json.Unmarshal(out, &got); err != nil || len(got.Operations) != 1 {
			t.Fatalf("%s: %s", path, out)
		}
		if string(got.Operations[0]) != want {
			t.Errorf("%s: %s, want %s", path, got.Operations[0], want)
		}
	}
	for body, want := range map[string]string{
		`{"userName":"a","roles[primary eq \"True\"].value":"X"}`:                                        `{"roles":[{"primary":true,"value":"X"}],"userName":"a"}`,
		`{"userName":"a","roles[primary eq \"True\"].value":""}`:                                         `{"roles":[],"userName":"a"}`,
		`{"userName":"a","roles":[{"value":"Y","primary":true}],"roles[primary eq \"True\"].value":"X"}`: `{"roles":[{"primary":true,"value":"X"},{"value":"Y"}],"userName":"a"}`,
		`{"userName":"a","roles[primary eq \"True\"].value":7}`:                                          `{"userName":"a","roles[primary eq \"True\"].value":7}`,
		`not json`: `not json`,
	} {
		if got := string(normalizeSingleAppRole([]byte(body))); got != want {
			t.Errorf("%s: %s, want %s", body, got, want)
		}
	}
}

// TestUserEntitlementsFromAssignments checks that a user's catalog
// entitlements are rendered from the assignments only: a catalog value
// left in the document by an older write is not shown.
func TestUserEntitlementsFromAssignments(t *testing.T) {
	c := licensing.DefaultCatalog()
	u := licensing.User{UserName: "old@x.test", Assignments: licensing.Assignments{"service-desk": licensing.LicenseNamed},
		Doc: json.RawMessage(`{"entitlements":[{"value":"remote-support-v5:named"},{"value":"beta"}]}`)}
	attrs, err := userAttributes(c, u, "https://x/scim/v2")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(attrs["entitlements"])
	if want := `[{"display":"Service Desk - Named","type":"named","value":"service-desk:named"},{"value":"beta"}]`; string(got) != want {
		t.Errorf("entitlements %s, want %s", got, want)
	}
	u.Assignments, u.Doc = nil, json.RawMessage(`{"entitlements":[{"value":"remote-support-v5:named"}]}`)
	if attrs, _ = userAttributes(c, u, "https://x/scim/v2"); attrs["entitlements"] != nil {
		t.Errorf("entitlements %v, want none", attrs["entitlements"])
	}
}
