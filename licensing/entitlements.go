package licensing

import (
	"fmt"
	"strings"
)

// This file names the catalog's products and license types as
// entitlements: what SCIM clients that assign licenses as entitlement or
// role values (Okta Identity Governance, Microsoft Entra app roles) see
// and send. An entitlement is one more way to write a direct assignment,
// never a different thing.

// maxRoleLength is the longest role value a catalog may configure.
const maxRoleLength = 128

// Entitlement is a product of the catalog with one license type.
type Entitlement struct {
	Product Product
	// Type is LicenseNamed or LicenseConcurrent.
	Type LicenseType
}

// EntitlementTypes are the license types an entitlement can have, in the
// order entitlements are listed.
var EntitlementTypes = []LicenseType{LicenseNamed, LicenseConcurrent}

// ID is the entitlement's stable identifier: the product id and the
// license type joined by a colon (remote-support-v5:concurrent).
func (e Entitlement) ID() string { return e.Product.ID + ":" + string(e.Type) }

// DisplayName is the entitlement's name for people, as the vendor's help
// page words it: "Remote Support v5 - Concurrent".
func (e Entitlement) DisplayName() string {
	t := string(e.Type)
	return e.Product.Name + " - " + strings.ToUpper(t[:1]) + t[1:]
}

// Description says what holding the entitlement means.
func (e Entitlement) Description() string {
	if e.Type == LicenseNamed {
		return fmt.Sprintf("%s with a named license: a seat of the user's own, counted against the plan's named seats while the user is active.", e.Product.Name)
	}
	return fmt.Sprintf("%s with a concurrent license: a seat from the plan's shared pool, held only while the user is in a session.", e.Product.Name)
}

// Roles returns the role values the catalog configures for the
// entitlement (without its id).
func (e Entitlement) Roles() []string {
	if e.Type == LicenseNamed {
		return e.Product.Roles.Named
	}
	return e.Product.Roles.Concurrent
}

// Entitlements lists the catalog's entitlements: per product in catalog
// order, named then concurrent.
func (c Catalog) Entitlements() []Entitlement {
	out := make([]Entitlement, 0, 2*len(c.Products))
	for _, p := range c.Products {
		for _, t := range EntitlementTypes {
			out = append(out, Entitlement{Product: p, Type: t})
		}
	}
	return out
}

// Entitlement returns the entitlement whose id is id, compared
// case-insensitively, and whether there is one.
func (c Catalog) Entitlement(id string) (Entitlement, bool) {
	for _, e := range c.Entitlements() {
		if strings.EqualFold(e.ID(), id) {
			return e, true
		}
	}
	return Entitlement{}, false
}

// EntitlementByRole returns the entitlement a role value assigns: the one
// whose id is the value, or whose configured roles hold it, compared
// case-insensitively; ok is false for any other value.
func (c Catalog) EntitlementByRole(value string) (Entitlement, bool) {
	if e, ok := c.Entitlement(value); ok {
		return e, true
	}
	for _, e := range c.Entitlements() {
		for _, r := range e.Roles() {
			if strings.EqualFold(r, value) {
				return e, true
			}
		}
	}
	return Entitlement{}, false
}

// EntitlementOf returns the product an entitlement-like value names
// ("remote-support-v5:whatever" names remote-support-v5), and whether the
// part before the last colon is a product of the catalog.
func (c Catalog) EntitlementOf(value string) (Product, bool) {
	i := strings.LastIndex(value, ":")
	if i < 0 {
		return Product{}, false
	}
	for _, p := range c.Products {
		if strings.EqualFold(p.ID, value[:i]) {
			return p, true
		}
	}
	return Product{}, false
}

// validateRoles reports the problems of the catalog's role values.
func (c Catalog) validateRoles() []error {
	var errs []error
	seen := map[string]string{}
	for _, e := range c.Entitlements() {
		seen[strings.ToLower(e.ID())] = e.ID()
	}
	for _, e := range c.Entitlements() {
		for _, r := range e.Roles() {
			switch key := strings.ToLower(strings.TrimSpace(r)); {
			case key == "":
				errs = append(errs, fmt.Errorf("product %s: a %s role is empty", e.Product.ID, e.Type))
			case len(r) > maxRoleLength:
				errs = append(errs, fmt.Errorf("product %s: the %s role %.20q... is longer than %d characters", e.Product.ID, e.Type, r, maxRoleLength))
			case seen[key] != "":
				errs = append(errs, fmt.Errorf("product %s: the %s role %q is already %s", e.Product.ID, e.Type, r, seen[key]))
			default:
				seen[key] = "a role of " + e.ID()
			}
		}
	}
	return errs
}
