package scim

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/schemas"
)

// projectFullUser is a full User representation as a GET would build it.
func projectFullUser() map[string]any {
	return map[string]any{
		"schemas":    []any{schemas.UserURN, schemas.EnterpriseURN},
		"id":         "u1",
		"externalId": "ext-1",
		"userName":   "ann@example.com",
		"name":       map[string]any{"givenName": "Ann", "familyName": "Lee"},
		"active":     true,
		"password":   "hash",
		"emails": []any{
			map[string]any{"value": "ann@example.com", "type": "work", "primary": true},
			map[string]any{"value": "ann@home.example", "type": "home"},
		},
		"meta": map[string]any{"resourceType": "User", "created": "2024-01-01T00:00:00Z", "lastModified": "2024-01-02T00:00:00Z"},
		schemas.EnterpriseURN: map[string]any{
			"employeeNumber": "7",
			"manager":        map[string]any{"value": "m1", "displayName": "Boss"},
		},
	}
}

func TestProject(t *testing.T) {
	user := schemas.User(licensing.DefaultCatalog())
	ent := schemas.EnterpriseURN
	schemasList := []any{schemas.UserURN, schemas.EnterpriseURN}
	tests := []struct {
		name                 string
		attributes, excluded []string
		want                 map[string]any
	}{
		{"default drops password", nil, nil, func() map[string]any {
			m := projectFullUser()
			delete(m, "password")
			return m
		}()},
		{"attributes keep only those plus id and schemas", []string{"userName"}, nil,
			map[string]any{"schemas": schemasList, "id": "u1", "userName": "ann@example.com"}},
		{"case-insensitive names", []string{"USERNAME", " Name.GivenName "}, nil,
			map[string]any{"schemas": schemasList, "id": "u1", "userName": "ann@example.com", "name": map[string]any{"givenName": "Ann"}}},
		{"multi-valued sub-attribute", []string{"emails.value"}, nil,
			map[string]any{"schemas": schemasList, "id": "u1", "emails": []any{
				map[string]any{"value": "ann@example.com"}, map[string]any{"value": "ann@home.example"}}}},
		{"whole multi-valued attribute", []string{"emails"}, nil,
			map[string]any{"schemas": schemasList, "id": "u1", "emails": projectFullUser()["emails"]}},
		{"URN-prefixed extension attribute", []string{ent + ":employeeNumber"}, nil,
			map[string]any{"schemas": schemasList, "id": "u1", ent: map[string]any{"employeeNumber": "7"}}},
		{"URN-prefixed extension sub-attribute", []string{ent + ":manager.value"}, nil,
			map[string]any{"schemas": schemasList, "id": "u1", ent: map[string]any{"manager": map[string]any{"value": "m1"}}}},
		{"whole extension", []string{"urn:ietf:params:scim:schemas:extension:ENTERPRISE:2.0:User"}, nil,
			map[string]any{"schemas": schemasList, "id": "u1", ent: projectFullUser()[ent]}},
		{"core URN prefix", []string{schemas.UserURN + ":userName"}, nil,
			map[string]any{"schemas": schemasList, "id": "u1", "userName": "ann@example.com"}},
		{"whole core schema", []string{schemas.UserURN}, nil,
			map[string]any{"schemas": schemasList, "id": "u1", "userName": "ann@example.com", "name": projectFullUser()["name"],
				"active": true, "emails": projectFullUser()["emails"]}},
		{"meta sub-attribute", []string{"meta.lastModified"}, nil,
			map[string]any{"schemas": schemasList, "id": "u1", "meta": map[string]any{"lastModified": "2024-01-02T00:00:00Z"}}},
		{"password is never returned even when asked", []string{"password", "userName"}, nil,
			map[string]any{"schemas": schemasList, "id": "u1", "userName": "ann@example.com"}},
		{"unknown names are ignored", []string{"shoeSize", "urn:x:y:z", "name.shoe", "userName"}, nil,
			map[string]any{"schemas": schemasList, "id": "u1", "userName": "ann@example.com"}},
		{"only unknown names", []string{"shoeSize"}, nil,
			map[string]any{"schemas": schemasList, "id": "u1"}},
		{"excluded", nil, []string{"emails", "name.familyName", "meta", ent + ":manager"},
			map[string]any{"schemas": schemasList, "id": "u1", "externalId": "ext-1", "userName": "ann@example.com",
				"name": map[string]any{"givenName": "Ann"}, "active": true, ent: map[string]any{"employeeNumber": "7"}}},
		{"excluded never removes id and schemas", []string{"userName"}, []string{"id", "schemas", "userName"},
			map[string]any{"schemas": schemasList, "id": "u1"}},
		{"excluding a whole extension", nil, []string{ent},
			func() map[string]any {
				m := projectFullUser()
				delete(m, "password")
				delete(m, ent)
				return m
			}()},
		{"empty extension is dropped", nil, []string{ent + ":employeeNumber", ent + ":manager"},
			func() map[string]any {
				m := projectFullUser()
				delete(m, "password")
				delete(m, ent)
				return m
			}()},
		{"excluded sub-attribute of a multi-valued attribute", []string{"emails"}, []string{"emails.primary", "emails.type"},
			map[string]any{"schemas": schemasList, "id": "u1", "emails": []any{
				map[string]any{"value": "ann@example.com"}, map[string]any{"value": "ann@home.example"}}}},
		{"attribute and its sub-attribute", []string{"name.givenName", "name"}, nil,
			map[string]any{"schemas": schemasList, "id": "u1", "name": projectFullUser()["name"]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := projectFullUser()
			got := project(in, user, tt.attributes, tt.excluded)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("project(%q, %q)\n got %v\nwant %v", tt.attributes, tt.excluded, got, tt.want)
			}
			if !reflect.DeepEqual(in, projectFullUser()) {
				t.Errorf("project modified its input: %v", in)
			}
		})
	}
}

func TestProjectGroup(t *testing.T) {
	group := schemas.Group(licensing.DefaultCatalog())
	in := map[string]any{
		"schemas":     []any{schemas.GroupURN},
		"id":          "g1",
		"displayName": "Sales",
		"members":     []any{map[string]any{"value": "u1", "display": "Ann"}},
		"meta":        map[string]any{"resourceType": "Group"},
	}
	// Entra: GET /Groups?filter=displayName eq "Sales"&excludedAttributes=members.
	got := project(in, group, nil, []string{"members"})
	want := map[string]any{"schemas": []any{schemas.GroupURN}, "id": "g1", "displayName": "Sales", "meta": map[string]any{"resourceType": "Group"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	got = project(in, group, []string{"members.value"}, nil)
	want = map[string]any{"schemas": []any{schemas.GroupURN}, "id": "g1", "members": []any{map[string]any{"value": "u1"}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestProjectReturnedCharacteristics(t *testing.T) {
	rt := typedTestResource()
	in := map[string]any{
		"schemas": []any{schemas.UserURN, typedExtURN},
		"id":      "u1",
		typedExtURN: map[string]any{
			"count":  json.Number("3"),
			"secret": "s",
			"always": "a",
		},
	}
	// returned=request only when named; returned=always always.
	got := project(in, rt, nil, nil)
	want := map[string]any{"schemas": in["schemas"], "id": "u1", typedExtURN: map[string]any{"count": json.Number("3"), "always": "a"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("default: got %v, want %v", got, want)
	}
	got = project(in, rt, []string{typedExtURN + ":secret"}, []string{typedExtURN + ":always"})
	want = map[string]any{"schemas": in["schemas"], "id": "u1", typedExtURN: map[string]any{"secret": "s", "always": "a"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("requested: got %v, want %v", got, want)
	}
	got = project(in, rt, []string{typedExtURN}, nil)
	want = map[string]any{"schemas": in["schemas"], "id": "u1", typedExtURN: map[string]any{"count": json.Number("3"), "always": "a"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("whole extension: got %v, want %v", got, want)
	}
}

// TestProjectLeavesInput: whatever it keeps, drops or narrows, project
// leaves the representation it was given as it was (its answer may share
// values with it, which nobody changes: it is encoded at once).
func TestProjectLeavesInput(t *testing.T) {
	rt := schemas.User(licensing.DefaultCatalog())
	for _, sel := range []struct{ attributes, excluded []string }{
		{nil, nil},
		{[]string{"emails.value", "name.givenName"}, nil},
		{nil, []string{"emails.type", "name", schemas.EnterpriseURN + ":manager"}},
		{[]string{schemas.EnterpriseURN + ":manager.value"}, []string{"emails"}},
	} {
		in := projectFullUser()
		project(in, rt, sel.attributes, sel.excluded)
		if !reflect.DeepEqual(in, projectFullUser()) {
			t.Errorf("attributes %v, excluded %v changed the input: %v", sel.attributes, sel.excluded, in)
		}
	}
}
