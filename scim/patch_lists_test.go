package scim

import (
	"reflect"
	"slices"
	"testing"

	"github.com/elimity-com/scim"

	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/schemas"
)

// TestPatchAddsAcrossOperations: the patcher changes the lists add and
// remove operations name in place and compacts them later
// (patch_lists.go); a PATCH of several operations must still end where
// applying them one PATCH at a time ends, whatever other operations
// change the list in between.
func TestPatchAddsAcrossOperations(t *testing.T) {
	user, group := schemas.User(licensing.DefaultCatalog()), schemas.Group(licensing.DefaultCatalog())
	email := func(v, typ string, primary bool) tObj {
		e := tObj{"value": v, "type": typ}
		if primary {
			e["primary"] = true
		}
		return e
	}
	add := func(v any) scim.PatchOperation { return patchOp("add", "emails", v) }
	for _, c := range []struct {
		name string
		rt   schemas.Resource
		res  func() map[string]any
		ops  []scim.PatchOperation
	}{
		{"adds and duplicates", user, patchTestUser, []scim.PatchOperation{
			add(tList{email("a@x", "work", false)}), add(tList{email("A@X", "home", false)}),
			add(tList{email("b@x", "work", false), email("b@x", "home", false)}), add(email("ann@example.com", "other", false)),
		}},
		{"primary moves with each add", user, patchTestUser, []scim.PatchOperation{
			add(tList{email("a@x", "work", true)}), add(tList{email("b@x", "work", false)}),
			add(tList{email("c@x", "work", false), email("d@x", "work", true)}), add(tList{email("a@x", "work", true)}),
			patchOp("remove", `emails[value ne "d@x"]`, nil), add(tList{email("e@x", "work", false)}),
		}},
		{"primary moves to values that are there", user, patchTestUser, []scim.PatchOperation{
			add(tList{email("ann@home.example", "home", true)}), add(tList{email("a@x", "work", false), email("A@X", "home", true)}),
			add(tList{email("ann@example.com", "work", true)}), patchOp("remove", `emails[value eq "ann@example.com"]`, nil),
			add(tList{email("ann@example.com", "work", false), email("ann@example.com", "work", true)}), add(tList{email("a@x", "work", true)}),
		}},
		{"a replace between adds", user, patchTestUser, []scim.PatchOperation{
			add(tList{email("a@x", "work", true)}), patchOp("replace", "emails", tList{email("a@x", "home", false)}),
			add(tList{email("a@x", "work", false), email("b@x", "work", true)}),
		}},
		{"a removal between adds", user, patchTestUser, []scim.PatchOperation{
			add(tList{email("a@x", "work", false)}), patchOp("remove", `emails[value eq "a@x"]`, nil),
			add(tList{email("a@x", "home", false)}), patchOp("remove", "emails", tList{tObj{"value": "ANN@example.com"}}),
			add(tList{email("ann@example.com", "home", true)}),
		}},
		{"a filter edit between adds", user, patchTestUser, []scim.PatchOperation{
			add(tList{email("a@x", "work", false)}), patchOp("replace", `emails[value eq "a@x"].value`, "b@x"),
			add(tList{email("a@x", "work", false), email("b@x", "work", false)}), patchOp("remove", "emails", nil),
			add(tList{email("c@x", "work", true)}),
		}},
		{"values without a value", user, patchTestUser, []scim.PatchOperation{
			patchOp("add", "addresses", tList{tObj{"locality": "Oslo"}}), patchOp("add", "addresses", tList{tObj{"locality": "Oslo"}, tObj{"locality": "Rome", "primary": true}}),
			patchOp("add", "addresses", tList{tObj{"locality": "Paris", "primary": true}}),
		}},
		{"members removed one by one", group, patchTestGroup, []scim.PatchOperation{
			patchOp("add", "members", tList{tObj{"value": "u3"}, tObj{"value": "u4"}}), patchOp("remove", `members[value eq "U1"]`, nil),
			patchOp("remove", "members", tList{tObj{"value": "u3"}, tObj{"value": "u9"}}), patchOp("remove", "members", tList{tObj{"value": "u3"}}),
			patchOp("add", "members", tList{tObj{"value": "u3"}}), patchOp("remove", `members[value eq "u3"]`, nil),
		}},
		{"every member removed", group, patchTestGroup, []scim.PatchOperation{
			patchOp("remove", `members[value eq "u1"]`, nil), patchOp("remove", "members", tList{tObj{"value": "u2"}}),
		}},
		{"every member removed and one added", group, patchTestGroup, []scim.PatchOperation{
			patchOp("remove", `members[value eq "u1"]`, nil), patchOp("remove", "members", tList{tObj{"value": "u2"}}),
			patchOp("add", "members", tList{tObj{"value": "u5"}}),
		}},
		{"removals around other operations", user, patchTestUser, []scim.PatchOperation{
			patchOp("remove", `emails[value eq "ann@home.example"]`, nil), patchOp("replace", `emails[type eq "work"].display`, "W"),
			add(tList{email("ann@home.example", "home", true)}), patchOp("remove", "emails", tList{tObj{"value": "ann@example.com"}}),
			patchOp("replace", "displayName", "Ann"), patchOp("remove", `emails[value eq "ann@home.example"]`, nil),
		}},
		{"members added one by one", group, patchTestGroup, []scim.PatchOperation{
			patchOp("add", "members", tList{tObj{"value": "u3"}}), patchOp("add", "members", tList{tObj{"value": "u3"}, tObj{"value": "u4"}}),
			patchOp("remove", "members", tList{tObj{"value": "u1"}}), patchOp("add", "members", tList{tObj{"value": "u1"}}),
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			together := c.res()
			if _, err := applyPatch(together, c.ops, c.rt); err != nil {
				t.Fatal(err)
			}
			oneByOne := c.res()
			for i, op := range c.ops {
				if _, err := applyPatch(oneByOne, []scim.PatchOperation{op}, c.rt); err != nil {
					t.Fatalf("operation %d alone: %v", i+1, err)
				}
			}
			if got, want := normalJSON(t, together), normalJSON(t, oneByOne); !reflect.DeepEqual(got, want) {
				t.Errorf("applied together:\n%v\none by one:\n%v", got, want)
			}
			general := c.res()
			if _, err := applyPatchWith(general, c.ops, c.rt, false); err != nil {
				t.Fatalf("without changes in place: %v", err)
			}
			if got, want := normalJSON(t, together), normalJSON(t, general); !reflect.DeepEqual(got, want) {
				t.Errorf("applied in place:\n%v\nwithout:\n%v", got, want)
			}
			for _, attr := range []string{"emails", "addresses", "members"} {
				list, _ := listValue(together[attr])
				if n := len(slices.DeleteFunc(slices.Clone(list), func(e any) bool { return !isPrimary(e) })); n > 1 {
					t.Errorf("%d %s are primary: %v", n, attr, list)
				}
			}
		})
	}
}

// TestPatchAddReadOnlyList: adding to the read-only groups of a User the
// groups it already has changes nothing and is allowed; adding another is
// refused, also after an add that changed nothing.
func TestPatchAddReadOnlyList(t *testing.T) {
	rt := schemas.User(licensing.DefaultCatalog())
	res := func() map[string]any {
		m := patchTestUser()
		m["groups"] = tList{tObj{"value": "g1", "display": "Sales"}}
		return m
	}
	same := patchOp("add", "groups", tList{tObj{"value": "g1"}})
	if changed, err := applyPatch(res(), []scim.PatchOperation{same, same}, rt); err != nil || changed {
		t.Errorf("adding the groups the user has: changed %v, %v", changed, err)
	}
	_, err := applyPatch(res(), []scim.PatchOperation{same, patchOp("add", "groups", tList{tObj{"value": "g2"}})}, rt)
	if re, ok := err.(*requestError); !ok || re.ScimType != "mutability" {
		t.Errorf("adding a group: %v, want a mutability error", err)
	}
}

// TestPatchRemoveErrorsAcrossOperations: a removal by filter that
// matches nothing is refused with noTarget, also when an earlier
// operation of the same PATCH removed the element.
func TestPatchRemoveErrorsAcrossOperations(t *testing.T) {
	for _, ops := range [][]scim.PatchOperation{
		{patchOp("remove", `members[value eq "u9"]`, nil)},
		{patchOp("remove", `members[value eq "u1"]`, nil), patchOp("remove", `members[value eq "u1"]`, nil)},
		{patchOp("remove", "members", tList{tObj{"value": "u1"}}), patchOp("remove", `members[value eq "u1"]`, nil)},
	} {
		res := patchTestGroup()
		_, err := applyPatch(res, ops, schemas.Group(licensing.DefaultCatalog()))
		if re, ok := err.(*requestError); !ok || re.ScimType != "noTarget" {
			t.Errorf("%d operations: %v, want noTarget", len(ops), err)
		}
		if !reflect.DeepEqual(res, patchTestGroup()) {
			t.Errorf("a refused PATCH changed the group: %v", res)
		}
	}
}
