package schemas

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/scimd/scimd/licensing"
)

func TestLicensingSchema(t *testing.T) {
	c := licensing.Catalog{Products: []licensing.Product{
		{ID: "remote-support-v5", Name: "Remote Support v5"},
		{ID: "service-desk", Name: "Service Desk"},
	}}
	s := Licensing(c)
	if s.ID != LicensingURN {
		t.Fatalf("id %q", s.ID)
	}
	raw, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		ID         string `json:"id"`
		Attributes []struct {
			Name            string   `json:"name"`
			Type            string   `json:"type"`
			MultiValued     bool     `json:"multiValued"`
			CaseExact       bool     `json:"caseExact"`
			Mutability      string   `json:"mutability"`
			Description     string   `json:"description"`
			CanonicalValues []string `json:"canonicalValues"`
		} `json:"attributes"`
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Attributes) != 3 {
		t.Fatalf("attributes: %s", raw)
	}
	if l := got.Attributes[2]; l.Name != "licenses" || l.Type != "complex" || !l.MultiValued || l.Mutability != "readOnly" {
		t.Errorf("licenses attribute: %+v", l)
	}
	for i, want := range []struct{ name, product string }{{"remoteSupportV5", "Remote Support v5"}, {"serviceDesk", "Service Desk"}} {
		a := got.Attributes[i]
		if a.Name != want.name || a.Type != "string" || a.MultiValued || a.CaseExact || a.Mutability != "readWrite" ||
			!slices.Equal(a.CanonicalValues, []string{"named", "concurrent", "none"}) || !strings.Contains(a.Description, want.product) {
			t.Errorf("attribute %d: %+v", i, a)
		}
	}
}

func TestUserHasTheExtensions(t *testing.T) {
	u := User(licensing.DefaultCatalog())
	for _, urn := range []string{EnterpriseURN, LicensingURN, strings.ToUpper(LicensingURN)} {
		if _, ok := u.Extension(urn); !ok {
			t.Errorf("User has no extension %s", urn)
		}
	}
	ext, _ := u.Extension(LicensingURN)
	if len(ext.Attributes) != len(licensing.DefaultCatalog().Products)+1 {
		t.Errorf("licensing extension has %d attributes", len(ext.Attributes))
	}
	g := Group(licensing.DefaultCatalog())
	gext, ok := g.Extension(GroupLicensingURN)
	if !ok || g.LicensingURN != GroupLicensingURN || len(gext.Attributes) != len(licensing.DefaultCatalog().Products) {
		t.Errorf("Group's licensing extension: %v, %d attributes", ok, len(gext.Attributes))
	}
	for _, a := range gext.Attributes {
		if a.Mutability() != "readWrite" || !strings.Contains(a.Description(), "group's members") {
			t.Errorf("group attribute %s: %s, %q", a.Name(), a.Mutability(), a.Description())
		}
	}
	if len(u.Catalog.Products) == 0 {
		t.Error("User does not carry its catalog")
	}
}
