package schemas

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/elimity-com/scim/schema"

	"github.com/scimd/scimd/licensing"
)

// TestGroupSchema: the Group schema is RFC 7643's, as elimity defines it,
// but for the members' display, which is readOnly (the server shows the
// member's name; a client's is ignored).
func TestGroupSchema(t *testing.T) {
	type attr struct {
		Name          string `json:"name"`
		Type          string `json:"type"`
		MultiValued   bool   `json:"multiValued"`
		Required      bool   `json:"required"`
		Mutability    string `json:"mutability"`
		SubAttributes []attr `json:"subAttributes"`
	}
	decode := func(s schema.Schema) (out struct {
		ID         string `json:"id"`
		Attributes []attr `json:"attributes"`
	}) {
		raw, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	got, want := decode(Group(licensing.DefaultCatalog()).Core), decode(schema.CoreGroupSchema())
	if got.ID != GroupURN || len(want.Attributes) != 2 || len(want.Attributes[1].SubAttributes) != 4 {
		t.Fatalf("unexpected schemas: %+v, elimity's %+v", got, want)
	}
	for i, sub := range want.Attributes[1].SubAttributes {
		if sub.Name == "display" {
			want.Attributes[1].SubAttributes[i].Mutability = "readOnly"
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Group schema\n got %+v\nwant %+v", got, want)
	}
}
