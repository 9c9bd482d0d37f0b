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
	if len(got.Attributes) != 2 {
		t.Fatalf("attributes: %s", raw)
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
	if len(ext.Attributes) != len(licensing.DefaultCatalog().Products) {
		t.Errorf("licensing extension has %d attributes", len(ext.Attributes))
	}
	if len(u.Catalog.Products) == 0 {
		t.Error("User does not carry its catalog")
	}
}
