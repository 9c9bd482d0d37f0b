package licensing

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Product is something an account can license.
type Product struct {
	// ID is the product's stable key, e.g. remote-support-v5.
	ID string `json:"id"`
	// Name is shown to people, e.g. "Remote Support v5".
	Name string `json:"name"`
	// Roles lists, per license type, the role values (besides the
	// entitlement ids, see Entitlement) that assign the product with that
	// license when a SCIM client sends them in a user's roles: the values
	// of Microsoft Entra app roles, e.g. RemoteSupportV5Concurrent.
	Roles ProductRoles `json:"roles,omitzero"`
}

// ProductRoles are the role values that assign a product, per license
// type. Values compare case-insensitively.
type ProductRoles struct {
	Named      []string `json:"named,omitempty"`
	Concurrent []string `json:"concurrent,omitempty"`
}

// Attribute is the product's attribute name in the SCIM licensing
// extension: the id in camelCase (remote-support-v5 -> remoteSupportV5).
func (p Product) Attribute() string {
	var b strings.Builder
	upper := false
	for _, r := range p.ID {
		if r == '-' {
			upper = true
			continue
		}
		if upper {
			r = toUpperASCII(r)
			upper = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

func toUpperASCII(r rune) rune {
	if 'a' <= r && r <= 'z' {
		return r - 'a' + 'A'
	}
	return r
}

// Catalog is the list of products accounts can license.
type Catalog struct {
	Products []Product `json:"products"`
}

// DefaultCatalog is the built-in catalog. Each product's roles are its
// attribute name in PascalCase followed by the license type
// (RemoteSupportV5Named, RemoteSupportV5Concurrent): the app role values
// the README suggests for Microsoft Entra.
func DefaultCatalog() Catalog {
	c := Catalog{Products: []Product{
		{ID: "remote-support-v5", Name: "Remote Support v5"},
		{ID: "remote-support-v4", Name: "Remote Support v4"},
		{ID: "service-desk", Name: "Service Desk"},
	}}
	for i, p := range c.Products {
		pascal := string(toUpperASCII(rune(p.Attribute()[0]))) + p.Attribute()[1:]
		c.Products[i].Roles = ProductRoles{Named: []string{pascal + "Named"}, Concurrent: []string{pascal + "Concurrent"}}
	}
	return c
}

var productID = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)

// ParseCatalog reads a catalog from JSON
// ({"products":[{"id":..,"name":..,"roles":{"named":[..],"concurrent":[..]}}]},
// roles optional) and validates it, reporting every problem at once.
func ParseCatalog(data []byte) (Catalog, error) {
	var c Catalog
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Catalog{}, fmt.Errorf("%w: catalog is not valid JSON of the form {\"products\":[{\"id\":\"...\",\"name\":\"...\"}]}: %v", ErrInvalid, err)
	}
	return c, c.Validate()
}

// Validate reports every problem of the catalog at once: it needs at
// least one product; ids must be lower-case words joined by dashes
// (remote-support-v5), unique, with unique attribute names; names must
// not be empty; role values must not be empty, longer than 128 characters
// or given twice (compared case-insensitively, entitlement ids
// included).
func (c Catalog) Validate() error {
	var errs []error
	if len(c.Products) == 0 {
		errs = append(errs, errors.New("the catalog has no products"))
	}
	ids, attrs := map[string]bool{}, map[string]string{}
	for i, p := range c.Products {
		if !productID.MatchString(p.ID) || len(p.ID) > 64 {
			errs = append(errs, fmt.Errorf("product %d: id %q must be lower-case letters and digits in words joined by '-', at most 64 characters", i+1, p.ID))
		}
		if strings.TrimSpace(p.Name) == "" {
			errs = append(errs, fmt.Errorf("product %d (%s): name must not be empty", i+1, p.ID))
		}
		if ids[p.ID] {
			errs = append(errs, fmt.Errorf("product %d: id %q appears twice", i+1, p.ID))
		}
		ids[p.ID] = true
		if other, ok := attrs[strings.ToLower(p.Attribute())]; ok && other != p.ID {
			errs = append(errs, fmt.Errorf("products %q and %q have the same attribute name %q", other, p.ID, p.Attribute()))
		}
		attrs[strings.ToLower(p.Attribute())] = p.ID
	}
	errs = append(errs, c.validateRoles()...)
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalid, errors.Join(errs...))
	}
	return nil
}

// Product returns the product with the id and whether there is one.
func (c Catalog) Product(id string) (Product, bool) {
	for _, p := range c.Products {
		if p.ID == id {
			return p, true
		}
	}
	return Product{}, false
}

// ByAttribute returns the product whose attribute name is attr, compared
// case-insensitively, and whether there is one.
func (c Catalog) ByAttribute(attr string) (Product, bool) {
	for _, p := range c.Products {
		if strings.EqualFold(p.Attribute(), attr) {
			return p, true
		}
	}
	return Product{}, false
}
