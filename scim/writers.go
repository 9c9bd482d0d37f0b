package scim

import (
	"encoding/json"
	"fmt"
	"maps"
	"strings"

	"github.com/elimity-com/scim"

	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/schemas"
)

// This file decides a user's direct assignments from the three ways a
// SCIM write can state them (docs/scim.md, "Three writers, one
// assignment"):
//
//   - the licensing extension (licensing.go): one attribute per product;
//   - the core entitlements: a value that is an entitlement id of the
//     catalog (remote-support-v5:concurrent) holds that product with
//     that license, and a product without one holds none;
//   - the core roles: a value that is an entitlement id or a role the
//     catalog configures (RemoteSupportV5Concurrent) holds that product
//     with that license. Roles are stored as sent; a product that a
//     write's roles stop naming is unassigned.
//
// A writer speaks for a product only when the write changes what it says
// about it, compared with the stored user: the representation shows the
// extension and the entitlements in agreement with the assignments, so a
// PATCH of one leaves the other as it was, and a GET-then-PUT changes
// nothing. When the writers that change a product disagree, the write is
// refused with 400 invalidValue naming both. A product no writer changes
// keeps its assignment. Catalog entitlements are not stored in the user's
// document: they are rendered from the assignments; other entitlement
// values are kept as plain entitlements (RFC 7643 lets them be anything).

// claim is what one writer of a request says about one product.
type claim struct {
	t licensing.LicenseType
	// by names the writer and its value for messages.
	by string
}

// entitlementValue returns the "value" of an element of entitlements or
// roles. An Entra app role sent as the JSON text of an object
// ({"id":..,"value":"Admin","displayName":..}) gives that object's value.
func entitlementValue(element any) string {
	m, _ := element.(map[string]any)
	v, _ := m["value"].(string)
	v = strings.TrimSpace(v)
	if strings.HasPrefix(v, "{") {
		var inner struct {
			Value string `json:"value"`
		}
		if json.Unmarshal([]byte(v), &inner) == nil && inner.Value != "" {
			return inner.Value
		}
	}
	return v
}

// entitlementClaims reads the catalog entitlements among the values of a
// user's entitlements: product id -> claim. It refuses two license types
// of one product, and a value that names a catalog product with a license
// type that is not one of its entitlements (remote-support-v5:none).
func entitlementClaims(c licensing.Catalog, list any) (map[string]claim, error) {
	return collectClaims(list, func(v string) (licensing.Entitlement, string, error) {
		e, ok := c.Entitlement(v)
		if !ok {
			if p, named := c.EntitlementOf(v); named {
				return e, "", errInvalidValue("The entitlement %q names %s but none of its license types: use %s:named or %s:concurrent.", quotable(v), p.Name, p.ID, p.ID)
			}
			return e, "", nil
		}
		return e, fmt.Sprintf("the entitlement %q", e.ID()), nil
	})
}

// roleClaims reads the roles that assign a catalog entitlement: product
// id -> claim. Other roles are plain roles. It refuses two license types
// of one product.
func roleClaims(c licensing.Catalog, list any) (map[string]claim, error) {
	return collectClaims(list, func(v string) (licensing.Entitlement, string, error) {
		e, ok := c.EntitlementByRole(v)
		if !ok {
			return e, "", nil
		}
		return e, fmt.Sprintf("the role %q", v), nil
	})
}

// collectClaims reads the values of a multi-valued attribute with find,
// which returns the entitlement a value assigns and how to name it ("" for
// a value that assigns nothing), into product id -> claim, refusing two
// license types of one product.
func collectClaims(list any, find func(v string) (licensing.Entitlement, string, error)) (map[string]claim, error) {
	out := map[string]claim{}
	elements, _ := list.([]any)
	for _, el := range elements {
		e, by, err := find(entitlementValue(el))
		if err != nil {
			return nil, err
		}
		if by == "" {
			continue
		}
		if prev, dup := out[e.Product.ID]; dup && prev.t != e.Type {
			return nil, errInvalidValue("%s and %s are two license types of %s: a user holds one.", upperFirst(prev.by), by, e.Product.Name)
		}
		out[e.Product.ID] = claim{t: e.Type, by: by}
	}
	return out, nil
}

// storedRoles returns the roles kept in a user's document.
func storedRoles(doc json.RawMessage) any {
	var d struct {
		Roles []any `json:"roles"`
	}
	if len(doc) == 0 || json.Unmarshal(doc, &d) != nil {
		return nil
	}
	return d.Roles
}

// resolveAssignments sets next.Assignments (the catalog's products) from
// the writers of the validated attributes of a write, against the stored
// user cur (nil on create). whole is set for a POST or PUT body, where an
// absent extension or entitlements attribute leaves the other to speak:
// a body with neither holds no product (as a PUT did before entitlements)
// but those its roles newly name. next.Assignments comes in as the
// extension's (assignmentsFrom).
func resolveAssignments(c licensing.Catalog, next *licensing.User, attrs scim.ResourceAttributes, cur *licensing.User, whole bool) error {
	var held licensing.Assignments
	var oldRoles map[string]claim
	if cur != nil {
		held = cur.Assignments
		// Stored roles were accepted by an earlier write; a catalog
		// changed since may make them disagree, which only drops those.
		oldRoles, _ = roleClaims(c, storedRoles(cur.Doc))
	}
	fromExt := next.Assignments
	_, hasExt := attrs[schemas.LicensingURN]
	entList, hasEnt := attrs["entitlements"]
	if !hasExt && whole && hasEnt {
		fromExt = held
	}
	ents, err := entitlementClaims(c, entList)
	if err != nil {
		return err
	}
	if !hasEnt && whole {
		ents = nil // the stored assignments speak for the entitlements
		for id, t := range held {
			ents = mapWith(ents, id, claim{t: t})
		}
	}
	roles, err := roleClaims(c, attrs["roles"])
	if err != nil {
		return err
	}
	out := licensing.Assignments{}
	for _, p := range c.Products {
		was := held.Of(p.ID)
		var claims []claim
		if t := fromExt.Of(p.ID); t != was {
			claims = append(claims, claim{t: t, by: fmt.Sprintf("the licensing extension attribute %q (%s)", p.Attribute(), t)})
		}
		if e, ok := ents[p.ID]; ok && e.t != was {
			claims = append(claims, e)
		} else if !ok && was != licensing.LicenseNone {
			claims = append(claims, claim{t: licensing.LicenseNone, by: fmt.Sprintf("the entitlements, without %s:%s", p.ID, was)})
		}
		newRole, inNew := roles[p.ID]
		oldRole, inOld := oldRoles[p.ID]
		switch {
		case inNew && (!inOld || newRole.t != oldRole.t):
			claims = append(claims, newRole)
		case !inNew && inOld:
			claims = append(claims, claim{t: licensing.LicenseNone, by: "the roles, without " + strings.TrimPrefix(oldRole.by, "the role ")})
		}
		t := was
		for i, cl := range claims {
			if i > 0 && cl.t != t {
				return errInvalidValue("%s and %s assign %s differently: send one of them, or both in agreement.", upperFirst(claims[0].by), cl.by, p.Name)
			}
			t = cl.t
		}
		if t != licensing.LicenseNone {
			out[p.ID] = t
		}
	}
	if len(out) == 0 {
		out = nil
	}
	next.Assignments = out
	return nil
}

// mapWith returns m (made if nil) with k set to v.
func mapWith[K comparable, V any](m map[K]V, k K, v V) map[K]V {
	if m == nil {
		m = map[K]V{}
	}
	m[k] = v
	return m
}

// upperFirst capitalises the first letter of a message part.
func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// withoutCatalogEntitlements returns attrs with only the plain values of
// entitlements (those that are no entitlement of the catalog): the
// catalog's are assignments, rendered from them (userEntitlements).
func withoutCatalogEntitlements(c licensing.Catalog, attrs scim.ResourceAttributes) scim.ResourceAttributes {
	list, ok := attrs["entitlements"].([]any)
	if !ok {
		return attrs
	}
	var plain []any
	for _, el := range list {
		if _, catalog := c.Entitlement(entitlementValue(el)); !catalog {
			plain = append(plain, el)
		}
	}
	out := maps.Clone(attrs)
	if len(plain) == 0 {
		delete(out, "entitlements")
	} else {
		out["entitlements"] = plain
	}
	return out
}

// userEntitlements renders a user's entitlements: one value per catalog
// product the user holds directly (in catalog order), then the plain
// values of the document.
func userEntitlements(c licensing.Catalog, a licensing.Assignments, plain any) []any {
	var out []any
	for _, p := range c.Products {
		if t := a.Of(p.ID); t != licensing.LicenseNone {
			e := licensing.Entitlement{Product: p, Type: t}
			out = append(out, map[string]any{"value": e.ID(), "display": e.DisplayName(), "type": string(t)})
		}
	}
	if list, ok := plain.([]any); ok {
		out = append(out, list...)
	}
	return out
}
