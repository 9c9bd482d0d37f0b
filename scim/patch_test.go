package scim

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"

	"github.com/elimity-com/scim"
	"github.com/elimity-com/scim/schema"
	filter "github.com/scim2/filter-parser/v2"

	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/schemas"
)

// TestMain sets elimity's process-wide option as cmd does in production,
// so that Entra's "False" arrives as false.
func TestMain(m *testing.M) {
	schema.SetAllowStringValues(true)
	os.Exit(m.Run())
}

// Shorthands for JSON-like values in tests.
type (
	tObj  = map[string]any
	tList = []any
)

// patchOp builds an operation as elimity hands it over: path parsed.
func patchOp(kind, path string, value any) scim.PatchOperation {
	o := scim.PatchOperation{Op: kind, Value: value}
	if path != "" {
		p, err := filter.ParsePath([]byte(path))
		if err != nil {
			panic(err)
		}
		o.Path = &p
	}
	return o
}

// patchTestUser is a User as patchable builds it: a full representation
// without meta.
func patchTestUser() map[string]any {
	return tObj{
		"schemas":     tList{schemas.UserURN},
		"id":          "u1",
		"externalId":  "ext-1",
		"userName":    "ann@example.com",
		"displayName": "Ann Lee",
		"active":      true,
		"name":        tObj{"givenName": "Ann", "familyName": "Lee"},
		"emails": tList{
			tObj{"value": "ann@example.com", "type": "work", "primary": true},
			tObj{"value": "ann@home.example", "type": "home"},
		},
		schemas.EnterpriseURN: tObj{"employeeNumber": "7", "manager": tObj{"value": "m1"}},
	}
}

// patchTestGroup is a Group as patchable builds it.
func patchTestGroup() map[string]any {
	return tObj{
		"schemas":     tList{schemas.GroupURN},
		"id":          "g1",
		"displayName": "Sales",
		"members": tList{
			tObj{"value": "u1", "display": "Ann"},
			tObj{"value": "u2", "display": "Bob"},
		},
	}
}

// normalJSON round-trips a value through JSON, so that values compare
// whatever their Go types.
func normalJSON(t testing.TB, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %#v: %v", v, err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestApplyPatch(t *testing.T) {
	user, group, ext := schemas.User(licensing.DefaultCatalog()), schemas.Group(licensing.DefaultCatalog()), schemas.EnterpriseURN
	tests := []struct {
		name string
		rt   schemas.Resource
		res  func() map[string]any
		ops  []scim.PatchOperation
		// want changes the original into the expected result; nil when
		// nothing changes.
		want func(m tObj)
		// errType is the expected scimType, "" when the patch succeeds.
		errType, errDetail string
	}{
		{name: "okta deactivation", rt: user, res: patchTestUser,
			ops:  []scim.PatchOperation{patchOp("replace", "", tObj{"active": false})},
			want: func(m tObj) { m["active"] = false }},
		{name: "deactivating an inactive user changes nothing", rt: user,
			res: func() map[string]any { m := patchTestUser(); m["active"] = false; return m },
			ops: []scim.PatchOperation{patchOp("replace", "", tObj{"active": false})}},
		{name: "entra boolean string", rt: user, res: patchTestUser,
			ops:  []scim.PatchOperation{patchOp("Replace", "active", "False")},
			want: func(m tObj) { m["active"] = false }},
		{name: "okta group rename with id", rt: group, res: patchTestGroup,
			ops:  []scim.PatchOperation{patchOp("replace", "", tObj{"id": "g1", "displayName": "Sales EMEA"})},
			want: func(m tObj) { m["displayName"] = "Sales EMEA" }},
		{name: "a different id", rt: group, res: patchTestGroup,
			ops:     []scim.PatchOperation{patchOp("replace", "", tObj{"id": "g2", "displayName": "Sales EMEA"})},
			errType: "mutability", errDetail: `"id"`},
		{name: "entra path-less map of paths", rt: user, res: patchTestUser,
			ops: []scim.PatchOperation{patchOp("Replace", "", tObj{
				ext + ":employeeNumber": "8", "active": false, "name.familyName": "Lee-Smith", "DISPLAYNAME": "Ann Lee-Smith"})},
			want: func(m tObj) {
				m["active"] = false
				m["displayName"] = "Ann Lee-Smith"
				m["name"].(tObj)["familyName"] = "Lee-Smith"
				m[ext].(tObj)["employeeNumber"] = "8"
			}},
		{name: "path-less core URN object", rt: user, res: patchTestUser,
			ops:  []scim.PatchOperation{patchOp("replace", "", tObj{schemas.UserURN: tObj{"displayName": "A"}})},
			want: func(m tObj) { m["displayName"] = "A" }},
		{name: "nested extension object", rt: user, res: patchTestUser,
			ops:  []scim.PatchOperation{patchOp("add", "", tObj{ext: tObj{"employeeNumber": "9", "manager.value": "m2"}})},
			want: func(m tObj) { m[ext] = tObj{"employeeNumber": "9", "manager": tObj{"value": "m2"}} }},
		{name: "nested extension object with a foreign attribute", rt: user, res: patchTestUser,
			ops:     []scim.PatchOperation{patchOp("add", "", tObj{ext: tObj{"userName": "x"}})},
			errType: "invalidPath", errDetail: `"userName"`},
		{name: "add sub-attribute", rt: user, res: patchTestUser,
			ops:  []scim.PatchOperation{patchOp("Add", "name.givenName", "Barbara")},
			want: func(m tObj) { m["name"].(tObj)["givenName"] = "Barbara" }},
		{name: "replace complex merges", rt: user, res: patchTestUser,
			ops:  []scim.PatchOperation{patchOp("replace", "name", tObj{"givenName": "Anna", "middleName": "B"})},
			want: func(m tObj) { m["name"] = tObj{"givenName": "Anna", "familyName": "Lee", "middleName": "B"} }},
		{name: "remove sub-attribute", rt: user, res: patchTestUser,
			ops:  []scim.PatchOperation{patchOp("remove", "name.givenName", nil)},
			want: func(m tObj) { m["name"] = tObj{"familyName": "Lee"} }},
		{name: "remove last sub-attribute removes the attribute", rt: user, res: patchTestUser,
			ops:  []scim.PatchOperation{patchOp("remove", "name.givenName", nil), patchOp("remove", "name.familyName", nil)},
			want: func(m tObj) { delete(m, "name") }},
		{name: "replace with an empty string unassigns", rt: user, res: patchTestUser,
			ops:  []scim.PatchOperation{patchOp("replace", "displayName", "")},
			want: func(m tObj) { delete(m, "displayName") }},
		{name: "replace with null unassigns", rt: user, res: patchTestUser,
			ops:  []scim.PatchOperation{patchOp("replace", "", tObj{"displayName": nil})},
			want: func(m tObj) { delete(m, "displayName") }},
		{name: "required attribute", rt: user, res: patchTestUser,
			ops:     []scim.PatchOperation{patchOp("replace", "userName", "")},
			errType: "mutability", errDetail: `"userName" is required`},
		{name: "required attribute removed and added back", rt: user, res: patchTestUser,
			ops:  []scim.PatchOperation{patchOp("remove", "userName", nil), patchOp("add", "userName", "ann2@example.com")},
			want: func(m tObj) { m["userName"] = "ann2@example.com" }},
		{name: "value filter sub-attribute", rt: user, res: patchTestUser,
			ops: []scim.PatchOperation{patchOp("replace", `emails[type eq "work"].value`, "ann@new.example")},
			want: func(m tObj) {
				m["emails"].(tList)[0].(tObj)["value"] = "ann@new.example"
			}},
		{name: "value filter compares case-insensitively", rt: user, res: patchTestUser,
			ops: []scim.PatchOperation{patchOp("replace", `emails[type eq "WORK"].display`, "Work")},
			want: func(m tObj) {
				m["emails"].(tList)[0].(tObj)["display"] = "Work"
			}},
		{name: "entra adds a work email by filter", rt: user,
			res: func() map[string]any { m := patchTestUser(); delete(m, "emails"); return m },
			ops: []scim.PatchOperation{patchOp("Add", `emails[type eq "work"].value`, "ann@example.com")},
			want: func(m tObj) {
				m["emails"] = tList{tObj{"type": "work", "value": "ann@example.com"}}
			}},
		{name: "replace by eq conjunction that matches nothing adds", rt: user, res: patchTestUser,
			ops: []scim.PatchOperation{patchOp("replace", `phoneNumbers[type eq "mobile" and primary eq true].value`, "+1 555")},
			want: func(m tObj) {
				m["phoneNumbers"] = tList{tObj{"type": "mobile", "primary": true, "value": "+1 555"}}
			}},
		{name: "new primary element takes primary", rt: user, res: patchTestUser,
			ops: []scim.PatchOperation{patchOp("add", `emails[type eq "other" and primary eq true].value`, "x@example.com")},
			want: func(m tObj) {
				m["emails"].(tList)[0].(tObj)["primary"] = false
				m["emails"] = append(m["emails"].(tList), tObj{"type": "other", "primary": true, "value": "x@example.com"})
			}},
		{name: "setting primary by filter", rt: user, res: patchTestUser,
			ops: []scim.PatchOperation{patchOp("replace", `emails[type eq "home"].primary`, true)},
			want: func(m tObj) {
				m["emails"].(tList)[0].(tObj)["primary"] = false
				m["emails"].(tList)[1].(tObj)["primary"] = true
			}},
		{name: "empty value by filter that matches nothing", rt: user, res: patchTestUser,
			ops: []scim.PatchOperation{patchOp("replace", `phoneNumbers[type eq "mobile"].value`, "")}},
		{name: "non-conjunction filter that matches nothing", rt: user, res: patchTestUser,
			ops:     []scim.PatchOperation{patchOp("replace", `emails[type eq "x" or type eq "y"].value`, "a@b")},
			errType: "noTarget", errDetail: "emails"},
		{name: "replace element by filter", rt: user, res: patchTestUser,
			ops: []scim.PatchOperation{patchOp("replace", `emails[type eq "home"]`, tObj{"value": "h@example.com", "type": "home"})},
			want: func(m tObj) {
				m["emails"].(tList)[1] = tObj{"value": "h@example.com", "type": "home"}
			}},
		{name: "replace element by filter that matches nothing", rt: user, res: patchTestUser,
			ops:     []scim.PatchOperation{patchOp("replace", `addresses[type eq "work"]`, tObj{"locality": "Paris"})},
			errType: "noTarget"},
		{name: "add element by filter that matches nothing", rt: user, res: patchTestUser,
			ops: []scim.PatchOperation{patchOp("add", `addresses[type eq "work"]`, tObj{"locality": "Paris"})},
			want: func(m tObj) {
				m["addresses"] = tList{tObj{"type": "work", "locality": "Paris"}}
			}},
		{name: "remove by filter", rt: user, res: patchTestUser,
			ops: []scim.PatchOperation{patchOp("remove", `emails[type eq "home"]`, nil)},
			want: func(m tObj) {
				m["emails"] = m["emails"].(tList)[:1]
			}},
		{name: "remove by filter with not and pr", rt: user, res: patchTestUser,
			ops: []scim.PatchOperation{patchOp("remove", `emails[not (primary pr)]`, nil)},
			want: func(m tObj) {
				m["emails"] = m["emails"].(tList)[:1]
			}},
		{name: "remove by filter with ew and ne", rt: user, res: patchTestUser,
			ops: []scim.PatchOperation{patchOp("remove", `emails[value ew "HOME.example" and type ne "work"]`, nil)},
			want: func(m tObj) {
				m["emails"] = m["emails"].(tList)[:1]
			}},
		{name: "remove by filter that matches nothing", rt: user, res: patchTestUser,
			ops:     []scim.PatchOperation{patchOp("remove", `emails[type eq "other"]`, nil)},
			errType: "noTarget"},
		{name: "remove sub-attribute by filter", rt: user, res: patchTestUser,
			ops: []scim.PatchOperation{patchOp("remove", `emails[value sw "ann@ex"].primary`, nil)},
			want: func(m tObj) {
				delete(m["emails"].(tList)[0].(tObj), "primary")
			}},
		{name: "bad value filter", rt: user, res: patchTestUser,
			ops:     []scim.PatchOperation{patchOp("remove", `emails[kind eq "x"]`, nil)},
			errType: "invalidFilter", errDetail: "emails.kind"},
		{name: "sub-attribute of each element", rt: user, res: patchTestUser,
			ops: []scim.PatchOperation{patchOp("replace", "emails.type", "work")},
			want: func(m tObj) {
				m["emails"].(tList)[1].(tObj)["type"] = "work"
			}},
		{name: "add to a multi-valued attribute", rt: user, res: patchTestUser,
			ops: []scim.PatchOperation{patchOp("add", "emails", tList{tObj{"value": "new@example.com", "type": "other", "primary": true}})},
			want: func(m tObj) {
				m["emails"].(tList)[0].(tObj)["primary"] = false
				m["emails"] = append(m["emails"].(tList), tObj{"value": "new@example.com", "type": "other", "primary": true})
			}},
		{name: "add a value already present", rt: user, res: patchTestUser,
			ops: []scim.PatchOperation{patchOp("add", "emails", tList{tObj{"value": "ANN@example.com", "type": "work"}})}},
		{name: "add a single value to a multi-valued attribute", rt: user, res: patchTestUser,
			ops: []scim.PatchOperation{patchOp("add", "emails", tObj{"value": "third@example.com"})},
			want: func(m tObj) {
				m["emails"] = append(m["emails"].(tList), tObj{"value": "third@example.com"})
			}},
		{name: "replace a multi-valued attribute", rt: user, res: patchTestUser,
			ops: []scim.PatchOperation{patchOp("replace", "emails", tList{tObj{"value": "only@example.com", "primary": true}})},
			want: func(m tObj) {
				m["emails"] = tList{tObj{"value": "only@example.com", "primary": true}}
			}},
		{name: "replace a multi-valued attribute with two primaries", rt: user, res: patchTestUser,
			ops:     []scim.PatchOperation{patchOp("replace", "emails", tList{tObj{"value": "a@x", "primary": true}, tObj{"value": "b@x", "primary": true}})},
			errType: "invalidValue", errDetail: `"emails" has 2 values marked primary`},
		{name: "add two primaries in one operation", rt: user, res: patchTestUser,
			ops:     []scim.PatchOperation{patchOp("add", "emails", tList{tObj{"value": "a@x", "primary": true}, tObj{"value": "b@x", "primary": true}})},
			errType: "invalidValue", errDetail: `"emails" has 2 values marked primary`},
		{name: "add an exact duplicate marked primary twice", rt: user, res: patchTestUser,
			ops: []scim.PatchOperation{patchOp("add", "emails", tList{tObj{"value": "a@x", "primary": true}, tObj{"value": "a@x", "primary": true}})},
			want: func(m tObj) {
				m["emails"] = tList{tObj{"value": "ann@example.com", "type": "work", "primary": false}, tObj{"value": "ann@home.example", "type": "home"}, tObj{"value": "a@x", "primary": true}}
			}},
		{name: "add a value that is there as primary", rt: user, res: patchTestUser,
			ops: []scim.PatchOperation{patchOp("add", "emails", tList{tObj{"value": "ANN@home.example", "type": "other", "primary": true}})},
			want: func(m tObj) {
				m["emails"] = tList{tObj{"value": "ann@example.com", "type": "work", "primary": false}, tObj{"value": "ann@home.example", "type": "home", "primary": true}}
			}},
		{name: "add the primary value as primary again", rt: user, res: patchTestUser,
			ops: []scim.PatchOperation{patchOp("add", "emails", tList{tObj{"value": "ann@example.com", "primary": true}})}},
		{name: "replace with exact duplicates keeps one", rt: user, res: patchTestUser,
			ops: []scim.PatchOperation{patchOp("replace", "emails", tList{tObj{"value": "a@x", "type": "work"}, tObj{"value": "A@x", "type": "work"}, tObj{"value": "a@x", "type": "work"}})},
			want: func(m tObj) {
				m["emails"] = tList{tObj{"value": "a@x", "type": "work"}, tObj{"value": "A@x", "type": "work"}}
			}},
		{name: "replace a member by filter without its immutable sub-attributes", rt: group, res: func() map[string]any {
			return tObj{"schemas": tList{schemas.GroupURN}, "id": "g1", "displayName": "Sales",
				"members": tList{tObj{"value": "u1", "type": "User", "$ref": "https://x/Users/u1", "display": "Ann"}}}
		}, ops: []scim.PatchOperation{patchOp("replace", `members[value eq "u1"]`, tObj{"value": "u1", "display": "Someone"})}},
		{name: "replace a member by filter with another type", rt: group, res: func() map[string]any {
			return tObj{"schemas": tList{schemas.GroupURN}, "id": "g1", "displayName": "Sales",
				"members": tList{tObj{"value": "u1", "type": "User", "display": "Ann"}}}
		}, ops: []scim.PatchOperation{patchOp("replace", `members[value eq "u1"]`, tObj{"value": "u1", "type": "Group"})},
			errType: "mutability", errDetail: "type is immutable"},
		{name: "replace a multi-valued attribute with nothing", rt: user, res: patchTestUser,
			ops:  []scim.PatchOperation{patchOp("replace", "emails", tList{})},
			want: func(m tObj) { delete(m, "emails") }},
		{name: "remove a multi-valued attribute", rt: user, res: patchTestUser,
			ops:  []scim.PatchOperation{patchOp("remove", "emails", nil)},
			want: func(m tObj) { delete(m, "emails") }},
		{name: "remove an absent attribute", rt: user, res: patchTestUser,
			ops: []scim.PatchOperation{patchOp("remove", "nickName", nil)}},
		{name: "remove without path", rt: user, res: patchTestUser,
			ops:     []scim.PatchOperation{patchOp("remove", "", nil)},
			errType: "noTarget"},
		{name: "unknown operation", rt: user, res: patchTestUser,
			ops:     []scim.PatchOperation{patchOp("move", "userName", "x")},
			errType: "invalidSyntax", errDetail: `"move"`},
		{name: "path-less value that is not an object", rt: user, res: patchTestUser,
			ops:     []scim.PatchOperation{patchOp("add", "", "x")},
			errType: "invalidValue"},
		{name: "unknown attribute", rt: user, res: patchTestUser,
			ops:     []scim.PatchOperation{patchOp("add", "shoeSize", "42")},
			errType: "invalidPath", errDetail: `"shoeSize"`},
		{name: "unknown attribute in a path-less map", rt: user, res: patchTestUser,
			ops:     []scim.PatchOperation{patchOp("replace", "", tObj{"active": false, "shoeSize": "42"})},
			errType: "invalidPath", errDetail: `"shoeSize"`},
		{name: "unknown sub-attribute", rt: user, res: patchTestUser,
			ops:     []scim.PatchOperation{patchOp("add", "name.nick", "x")},
			errType: "invalidPath", errDetail: `"name.nick"`},
		{name: "unknown extension", rt: user, res: patchTestUser,
			ops:     []scim.PatchOperation{patchOp("add", "urn:ietf:params:scim:schemas:extension:other:2.0:User:x", "1")},
			errType: "invalidPath", errDetail: "extension:other"},
		{name: "wrong type", rt: user, res: patchTestUser,
			ops:     []scim.PatchOperation{patchOp("replace", "active", "maybe")},
			errType: "invalidValue", errDetail: `"active"`},
		{name: "object for a simple attribute", rt: user, res: patchTestUser,
			ops:     []scim.PatchOperation{patchOp("replace", "userName", tObj{"value": "x"})},
			errType: "invalidValue", errDetail: `"userName"`},
		{name: "string for a complex attribute", rt: user, res: patchTestUser,
			ops:     []scim.PatchOperation{patchOp("replace", "name", "Ann")},
			errType: "invalidValue", errDetail: `"name"`},
		{name: "id", rt: user, res: patchTestUser,
			ops:     []scim.PatchOperation{patchOp("replace", "id", "u9")},
			errType: "mutability", errDetail: `"id"`},
		{name: "id with its own value", rt: user, res: patchTestUser,
			ops: []scim.PatchOperation{patchOp("replace", "id", "u1")}},
		{name: "meta", rt: user, res: patchTestUser,
			ops:     []scim.PatchOperation{patchOp("replace", "meta.created", "2024-01-01T00:00:00Z")},
			errType: "mutability", errDetail: `"meta.created"`},
		{name: "schemas", rt: user, res: patchTestUser,
			ops:     []scim.PatchOperation{patchOp("replace", "schemas", tList{"urn:x"})},
			errType: "mutability", errDetail: `"schemas"`},
		{name: "schemas with its own value", rt: user, res: patchTestUser,
			ops: []scim.PatchOperation{patchOp("replace", "schemas", tList{schemas.UserURN})}},
		{name: "read-only groups", rt: user, res: patchTestUser,
			ops:     []scim.PatchOperation{patchOp("add", "groups", tList{tObj{"value": "g1"}})},
			errType: "mutability", errDetail: `"groups"`},
		{name: "read-only sub-attribute", rt: user, res: patchTestUser,
			ops:     []scim.PatchOperation{patchOp("replace", ext+":manager.displayName", "Boss")},
			errType: "mutability", errDetail: "manager.displayName"},
		{name: "read-only sub-attribute in a value is ignored", rt: user, res: patchTestUser,
			ops: []scim.PatchOperation{patchOp("replace", ext+":manager", tObj{"value": "m2", "displayName": "Boss"})},
			want: func(m tObj) {
				m[ext].(tObj)["manager"] = tObj{"value": "m2"}
			}},
		{name: "password is written", rt: user, res: patchTestUser,
			ops:  []scim.PatchOperation{patchOp("replace", "", tObj{"password": "s3cret!"})},
			want: func(m tObj) { m["password"] = "s3cret!" }},
		{name: "extension attribute by URN path", rt: user, res: patchTestUser,
			ops:  []scim.PatchOperation{patchOp("replace", ext+":employeeNumber", "8")},
			want: func(m tObj) { m[ext].(tObj)["employeeNumber"] = "8" }},
		{name: "extension sub-attribute by URN path", rt: user, res: patchTestUser,
			ops:  []scim.PatchOperation{patchOp("replace", ext+":manager.value", "m2")},
			want: func(m tObj) { m[ext].(tObj)["manager"] = tObj{"value": "m2"} }},
		{name: "core URN path", rt: user, res: patchTestUser,
			ops:  []scim.PatchOperation{patchOp("replace", schemas.UserURN+":displayName", "A")},
			want: func(m tObj) { m["displayName"] = "A" }},
		{name: "entra clears manager with an empty value", rt: user, res: patchTestUser,
			ops:  []scim.PatchOperation{patchOp("replace", ext+":manager", tObj{})},
			want: func(m tObj) { delete(m[ext].(tObj), "manager") }},
		{name: "emptied extension is dropped", rt: user, res: patchTestUser,
			ops:  []scim.PatchOperation{patchOp("remove", ext+":manager", nil), patchOp("remove", ext+":employeeNumber", nil)},
			want: func(m tObj) { delete(m, ext) }},
		{name: "extension added", rt: user,
			res:  func() map[string]any { m := patchTestUser(); delete(m, ext); return m },
			ops:  []scim.PatchOperation{patchOp("add", ext+":costCenter", "CC1")},
			want: func(m tObj) { m[ext] = tObj{"costCenter": "CC1"} }},
		{name: "an empty extension object stays", rt: user,
			res: func() map[string]any { m := patchTestUser(); m[ext] = tObj{}; return m },
			ops: []scim.PatchOperation{patchOp("remove", ext+":costCenter", nil)}},
		{name: "removing from an absent extension", rt: user,
			res: func() map[string]any { m := patchTestUser(); delete(m, ext); return m },
			ops: []scim.PatchOperation{patchOp("remove", ext+":costCenter", nil)}},
		{name: "operations apply in order", rt: user, res: patchTestUser,
			ops: []scim.PatchOperation{
				patchOp("add", "nickName", "Annie"),
				patchOp("replace", "nickName", "An"),
				patchOp("remove", "title", nil),
				patchOp("add", "title", "CEO"),
			},
			want: func(m tObj) { m["nickName"] = "An"; m["title"] = "CEO" }},
		{name: "all or nothing", rt: user, res: patchTestUser,
			ops: []scim.PatchOperation{
				patchOp("replace", "displayName", "Changed"),
				patchOp("remove", "emails", nil),
				patchOp("replace", "id", "other"),
			},
			errType: "mutability", errDetail: "Operation 3"},
		{name: "okta adds group members", rt: group, res: patchTestGroup,
			ops: []scim.PatchOperation{patchOp("add", "members", tList{tObj{"value": "u3", "display": "Cy"}, tObj{"value": "u1", "display": "Ann"}})},
			want: func(m tObj) {
				// display is read-only: the store fills in the member's name.
				m["members"] = append(m["members"].(tList), tObj{"value": "u3"})
			}},
		{name: "okta removes a member by filter", rt: group, res: patchTestGroup,
			ops: []scim.PatchOperation{patchOp("remove", `members[value eq "u1"]`, nil)},
			want: func(m tObj) {
				m["members"] = tList{tObj{"value": "u2", "display": "Bob"}}
			}},
		{name: "entra removes listed members", rt: group, res: patchTestGroup,
			ops: []scim.PatchOperation{patchOp("Remove", "members", tList{tObj{"value": "u2"}, tObj{"value": "u9"}})},
			want: func(m tObj) {
				m["members"] = tList{tObj{"value": "u1", "display": "Ann"}}
			}},
		{name: "entra removes a member that is not one", rt: group, res: patchTestGroup,
			ops: []scim.PatchOperation{patchOp("Remove", "members", tList{tObj{"value": "u9"}})}},
		{name: "removing every member", rt: group, res: patchTestGroup,
			ops:  []scim.PatchOperation{patchOp("remove", "members", tList{tObj{"value": "u1"}, tObj{"value": "u2"}})},
			want: func(m tObj) { delete(m, "members") }},
		{name: "read-only member display", rt: group, res: patchTestGroup,
			ops:     []scim.PatchOperation{patchOp("replace", `members[value eq "u1"].display`, "Annie")},
			errType: "mutability", errDetail: "display"},
		{name: "read-only member display set to its value", rt: group, res: patchTestGroup,
			ops: []scim.PatchOperation{patchOp("replace", `members[value eq "u1"].display`, "Ann")}},
		{name: "replacing all members", rt: group, res: patchTestGroup,
			ops:  []scim.PatchOperation{patchOp("replace", "members", tList{tObj{"value": "u3"}})},
			want: func(m tObj) { m["members"] = tList{tObj{"value": "u3"}} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := tt.res()
			changed, err := applyPatch(res, tt.ops, tt.rt)
			if tt.errType != "" {
				if err == nil {
					t.Fatalf("applyPatch succeeded with %v, want a %s error", res, tt.errType)
				}
				requireRequestErr(t, err, tt.errType, tt.errDetail)
				if !reflect.DeepEqual(res, tt.res()) {
					t.Errorf("failed patch changed the resource: %v", res)
				}
				return
			}
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
			if !changed && !reflect.DeepEqual(res, tt.res()) {
				t.Errorf("unchanged patch touched the map: %v", res)
			}
		})
	}
}

func TestApplyPatchTypes(t *testing.T) {
	rt := typedTestResource()
	x := typedExtURN
	base := func() map[string]any {
		return tObj{"schemas": tList{schemas.UserURN}, "id": "u1", "userName": "a",
			x: tObj{"code": "C1", "tags": tList{"red"}, "locked": "L"}}
	}
	tests := []struct {
		name       string
		ops        []scim.PatchOperation
		wantExt    tObj // the extension object afterwards, nil when unchanged
		errType    string
		errDetails string
	}{
		{name: "integer from json.Number", ops: []scim.PatchOperation{patchOp("add", x+":count", json.Number("5"))},
			wantExt: tObj{"code": "C1", "tags": tList{"red"}, "locked": "L", "count": int64(5)}},
		{name: "integer from a string", ops: []scim.PatchOperation{patchOp("add", x+":count", "6")},
			wantExt: tObj{"code": "C1", "tags": tList{"red"}, "locked": "L", "count": int64(6)}},
		{name: "decimal", ops: []scim.PatchOperation{patchOp("add", x+":ratio", json.Number("0.25"))},
			wantExt: tObj{"code": "C1", "tags": tList{"red"}, "locked": "L", "ratio": 0.25}},
		{name: "fractional integer", ops: []scim.PatchOperation{patchOp("add", x+":count", json.Number("1.5"))},
			errType: "invalidValue", errDetails: "an integer"},
		{name: "binary", ops: []scim.PatchOperation{patchOp("add", x+":blob", "aGVsbG8=")},
			wantExt: tObj{"code": "C1", "tags": tList{"red"}, "locked": "L", "blob": "aGVsbG8="}},
		{name: "bad binary", ops: []scim.PatchOperation{patchOp("add", x+":blob", "%%%")},
			errType: "invalidValue", errDetails: "base64"},
		{name: "dateTime", ops: []scim.PatchOperation{patchOp("add", x+":born", "2001-02-03T04:05:06Z")},
			wantExt: tObj{"code": "C1", "tags": tList{"red"}, "locked": "L", "born": "2001-02-03T04:05:06Z"}},
		{name: "bad dateTime", ops: []scim.PatchOperation{patchOp("add", x+":born", "yesterday")},
			errType: "invalidValue", errDetails: "date"},
		{name: "simple multi-valued add", ops: []scim.PatchOperation{patchOp("add", x+":tags", tList{"blue", "RED"})},
			wantExt: tObj{"code": "C1", "tags": tList{"red", "blue"}, "locked": "L"}},
		{name: "simple multi-valued remove by filter", ops: []scim.PatchOperation{patchOp("remove", x+`:tags[value eq "red"]`, nil)},
			wantExt: tObj{"code": "C1", "locked": "L"}},
		{name: "simple multi-valued replace by filter", ops: []scim.PatchOperation{patchOp("replace", x+`:tags[value eq "red"]`, "green")},
			wantExt: tObj{"code": "C1", "tags": tList{"green"}, "locked": "L"}},
		{name: "immutable attribute", ops: []scim.PatchOperation{patchOp("replace", x+":code", "C2")},
			errType: "mutability", errDetails: "immutable"},
		{name: "immutable attribute removed", ops: []scim.PatchOperation{patchOp("remove", x+":code", nil)},
			errType: "mutability", errDetails: "immutable"},
		{name: "immutable attribute set to its value", ops: []scim.PatchOperation{patchOp("replace", x+":code", "C1")}},
		{name: "read-only attribute", ops: []scim.PatchOperation{patchOp("replace", x+":locked", "M")},
			errType: "mutability", errDetails: "read-only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := base()
			changed, err := applyPatch(res, tt.ops, rt)
			if tt.errType != "" {
				requireRequestErr(t, err, tt.errType, tt.errDetails)
				if !reflect.DeepEqual(res, base()) {
					t.Errorf("failed patch changed the resource: %v", res)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := base()
			if tt.wantExt != nil {
				want[x] = tt.wantExt
			}
			if !reflect.DeepEqual(res, want) {
				t.Errorf("got %#v\nwant %#v", res, want)
			}
			if changed != (tt.wantExt != nil) {
				t.Errorf("changed = %v", changed)
			}
		})
	}
	// An immutable attribute may be defined when it has no value.
	res := base()
	delete(res[x].(tObj), "code")
	if changed, err := applyPatch(res, []scim.PatchOperation{patchOp("add", x+":code", "C9")}, rt); err != nil || !changed {
		t.Errorf("defining an immutable attribute: changed %v, error %v", changed, err)
	}
}

func TestApplyPatchInputShapes(t *testing.T) {
	// The store may hand lists as []map[string]any and numbers in any
	// type; a no-op patch must report no change and leave them alone.
	res := tObj{
		"schemas":  []string{schemas.UserURN},
		"id":       "u1",
		"userName": "a",
		"emails":   []map[string]any{{"value": "a@x", "primary": true}},
	}
	ops := []scim.PatchOperation{
		patchOp("add", "emails", tList{tObj{"value": "A@X"}}),
		patchOp("replace", "userName", "a"),
		patchOp("replace", "schemas", tList{schemas.UserURN}),
	}
	changed, err := applyPatch(res, ops, schemas.User(licensing.DefaultCatalog()))
	if err != nil || changed {
		t.Fatalf("changed %v, error %v", changed, err)
	}
	if _, ok := res["emails"].([]map[string]any); !ok {
		t.Errorf("emails became %T", res["emails"])
	}
	changed, err = applyPatch(res, []scim.PatchOperation{patchOp("add", "emails", tList{tObj{"value": "b@x", "primary": true}})}, schemas.User(licensing.DefaultCatalog()))
	if err != nil || !changed {
		t.Fatalf("changed %v, error %v", changed, err)
	}
	want := tList{tObj{"value": "a@x", "primary": false}, tObj{"value": "b@x", "primary": true}}
	if !reflect.DeepEqual(res["emails"], want) {
		t.Errorf("emails = %#v, want %#v", res["emails"], want)
	}
	if _, err := applyPatch(nil, nil, schemas.User(licensing.DefaultCatalog())); err == nil {
		t.Error("applyPatch(nil) succeeded")
	}
}

func TestApplyPatchDoesNotAliasValues(t *testing.T) {
	res := patchTestUser()
	value := tList{tObj{"value": "new@example.com"}}
	if _, err := applyPatch(res, []scim.PatchOperation{patchOp("replace", "emails", value)}, schemas.User(licensing.DefaultCatalog())); err != nil {
		t.Fatal(err)
	}
	res["emails"].(tList)[0].(tObj)["value"] = "changed"
	if value[0].(tObj)["value"] != "new@example.com" {
		t.Error("the result shares the operation's value")
	}
}
