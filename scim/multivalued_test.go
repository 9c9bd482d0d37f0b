package scim

import (
	"reflect"
	"testing"

	"github.com/elimity-com/scim"
	"github.com/elimity-com/scim/schema"

	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/schemas"
)

// badgesURN is an extension with a multi-valued complex attribute, to
// check that the rules reach extensions too.
const badgesURN = "urn:example:params:scim:schemas:extension:badges:2.0:User"

func badgesResource() schemas.Resource {
	rt := schemas.User(licensing.DefaultCatalog())
	rt.Extensions = append(rt.Extensions, schema.Schema{ID: badgesURN, Attributes: []schema.CoreAttribute{
		schema.ComplexCoreAttribute(schema.ComplexParams{Name: "badges", MultiValued: true, SubAttributes: []schema.SimpleParams{
			schema.SimpleStringParams(schema.StringParams{Name: "value"}),
			schema.SimpleBooleanParams(schema.BooleanParams{Name: "primary"}),
		}}),
	}})
	return rt
}

// TestDropDuplicateValues: exact duplicates go, in the core schema and in
// extensions, the first of each staying where it was; values that differ
// in anything (case, a sub-attribute) stay.
func TestDropDuplicateValues(t *testing.T) {
	rt := badgesResource()
	attrs := scim.ResourceAttributes{
		"userName": "ann",
		"emails": []any{
			map[string]any{"value": "a@x", "type": "work"}, map[string]any{"value": "b@x"},
			map[string]any{"type": "work", "value": "a@x"}, map[string]any{"value": "A@x", "type": "work"},
			map[string]any{"value": "b@x", "primary": true}, map[string]any{"value": "b@x"},
		},
		"roles":   []any{map[string]any{"value": "agent"}},
		badgesURN: map[string]any{"badges": []any{map[string]any{"value": "gold"}, map[string]any{"value": "gold"}}},
	}
	dropDuplicateValues(rt, attrs)
	want := scim.ResourceAttributes{
		"userName": "ann",
		"emails": []any{
			map[string]any{"value": "a@x", "type": "work"}, map[string]any{"value": "b@x"},
			map[string]any{"value": "A@x", "type": "work"}, map[string]any{"value": "b@x", "primary": true},
		},
		"roles":   []any{map[string]any{"value": "agent"}},
		badgesURN: map[string]any{"badges": []any{map[string]any{"value": "gold"}}},
	}
	if !reflect.DeepEqual(attrs, want) {
		t.Errorf("got  %v\nwant %v", attrs, want)
	}
}

// TestCheckPrimaries: a POST or PUT may mark one value of each
// multi-valued attribute primary; two answer invalidValue naming the
// attribute, extension attributes by their URN path.
func TestCheckPrimaries(t *testing.T) {
	rt := badgesResource()
	primary := func(v string) map[string]any { return map[string]any{"value": v, "primary": true} }
	plain := func(v string) map[string]any { return map[string]any{"value": v, "primary": false} }
	for _, c := range []struct {
		name   string
		attrs  scim.ResourceAttributes
		detail string
	}{
		{"none", scim.ResourceAttributes{"emails": []any{plain("a"), plain("b")}}, ""},
		{"one per attribute", scim.ResourceAttributes{"emails": []any{plain("a"), primary("b")}, "phoneNumbers": []any{primary("1")},
			badgesURN: map[string]any{"badges": []any{primary("gold"), plain("silver")}}}, ""},
		{"two emails", scim.ResourceAttributes{"emails": []any{primary("a"), plain("b"), primary("c")}},
			`The attribute "emails" has 2 values marked primary; at most one may be.`},
		{"three addresses", scim.ResourceAttributes{"addresses": []any{primary("a"), primary("b"), primary("c")}},
			`The attribute "addresses" has 3 values marked primary`},
		{"two badges", scim.ResourceAttributes{badgesURN: map[string]any{"badges": []any{primary("gold"), primary("silver")}}},
			`The attribute "` + badgesURN + `:badges" has 2 values marked primary`},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := checkPrimaries(rt, c.attrs)
			if c.detail == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			requireRequestErr(t, err, "invalidValue", c.detail)
		})
	}
}

// TestGroupWithoutMembers: a group without members is rendered without
// the attribute, not with an empty list (RFC 7643 section 2.5).
func TestGroupWithoutMembers(t *testing.T) {
	attrs, err := groupAttributes(licensing.Catalog{}, licensing.Group{ID: "g1", DisplayName: "Empty"}, "http://x/scim/v2", true)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := attrs["members"]; ok {
		t.Errorf("members = %#v, want no members attribute", v)
	}
	attrs, err = groupAttributes(licensing.Catalog{}, licensing.Group{ID: "g1", DisplayName: "One", Members: []licensing.Member{{ID: "u1", Type: licensing.MemberUser}}}, "http://x/scim/v2", true)
	if err != nil {
		t.Fatal(err)
	}
	if list, _ := attrs["members"].([]any); len(list) != 1 {
		t.Errorf("members = %#v, want one", attrs["members"])
	}
}
