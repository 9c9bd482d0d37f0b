package licensing_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/scimd/scimd/licensing"
)

func TestCatalogEntitlements(t *testing.T) {
	c, err := licensing.ParseCatalog([]byte(`{"products":[
		{"id":"remote-support-v5","name":"Remote Support v5","roles":{"concurrent":["RS5 Shared","rs5-floating"],"named":["RS5 Named"]}},
		{"id":"service-desk","name":"Service Desk"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range c.Entitlements() {
		ids = append(ids, e.ID()+"="+e.DisplayName())
	}
	want := "remote-support-v5:named=Remote Support v5 - Named,remote-support-v5:concurrent=Remote Support v5 - Concurrent," +
		"service-desk:named=Service Desk - Named,service-desk:concurrent=Service Desk - Concurrent"
	if got := strings.Join(ids, ","); got != want {
		t.Errorf("entitlements %s, want %s", got, want)
	}
	for value, want := range map[string]string{
		"RS5 SHARED":                   "remote-support-v5:concurrent",
		"rs5-floating":                 "remote-support-v5:concurrent",
		"rs5 named":                    "remote-support-v5:named",
		"Service-Desk:Named":           "service-desk:named",
		"remote-support-v5:concurrent": "remote-support-v5:concurrent",
		"Reader":                       "",
		"service-desk:none":            "",
		"":                             "",
	} {
		e, ok := c.EntitlementByRole(value)
		if got := map[bool]string{true: e.ID(), false: ""}[ok]; got != want {
			t.Errorf("EntitlementByRole(%q) = %q, want %q", value, got, want)
		}
	}
	if _, ok := c.Entitlement("RS5 Shared"); ok {
		t.Error("a role is not an entitlement id")
	}
	if p, ok := c.EntitlementOf("service-desk:bogus"); !ok || p.ID != "service-desk" {
		t.Errorf("EntitlementOf(service-desk:bogus) = %v %v", p, ok)
	}
	if _, ok := c.EntitlementOf("other:named"); ok {
		t.Error("EntitlementOf names a product the catalog does not have")
	}
}

func TestCatalogRolesValidate(t *testing.T) {
	for name, tc := range map[string]struct{ json, want string }{
		"empty":       {`{"products":[{"id":"a","name":"A","roles":{"named":[" "]}}]}`, "a named role is empty"},
		"twice":       {`{"products":[{"id":"a","name":"A","roles":{"named":["X"],"concurrent":["x"]}}]}`, `the concurrent role "x" is already a role of a:named`},
		"across":      {`{"products":[{"id":"a","name":"A","roles":{"named":["X"]}},{"id":"b","name":"B","roles":{"named":["X"]}}]}`, "already a role of a:named"},
		"an id":       {`{"products":[{"id":"a","name":"A"},{"id":"b","name":"B","roles":{"named":["A:Concurrent"]}}]}`, `the named role "A:Concurrent" is already a:concurrent`},
		"too long":    {`{"products":[{"id":"a","name":"A","roles":{"named":["` + strings.Repeat("r", 129) + `"]}}]}`, "longer than 128 characters"},
		"unknown key": {`{"products":[{"id":"a","name":"A","roles":{"none":["X"]}}]}`, "not valid JSON"},
	} {
		_, err := licensing.ParseCatalog([]byte(tc.json))
		if err == nil || !errors.Is(err, licensing.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an ErrInvalid containing %q", name, err, tc.want)
		}
	}
	if err := licensing.DefaultCatalog().Validate(); err != nil {
		t.Errorf("the built-in catalog: %v", err)
	}
	if e, ok := licensing.DefaultCatalog().EntitlementByRole("RemoteSupportV5Concurrent"); !ok || e.ID() != "remote-support-v5:concurrent" {
		t.Errorf("the built-in role RemoteSupportV5Concurrent = %v %v", e, ok)
	}
}
