package scim

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"github.com/elimity-com/scim"

	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/schemas"
)

// This file reads and writes the licensing extension of User
// (rt.LicensingURN): one string attribute per catalog product, with
// the value named, concurrent or none (case-insensitive on input).
//
// The extension is not kept in the user's JSON document: it is
// User.Assignments, which the store writes with the user under the seat
// rules. Every representation of a user carries the whole extension, every
// catalog product with none for those the user does not hold, because
// Okta rebuilds its PUT from a GET: a product missing there would be an
// assignment lost. A PUT is a whole replacement: a product its extension
// does not name (or a PUT without the extension) becomes none.
//
// elimity validates bodies against the schema but silently drops
// attributes the schema does not have, does not check canonical values,
// and finds an extension object only under its exact URN. So POST and PUT
// bodies go through normalizeLicensingBody, and PATCH bodies through
// checkLicensingPatch, before elimity sees them; both refuse unknown
// products and bad values with a detail that lists what is allowed.

// licenseValuesText lists the values of a licensing attribute for messages.
const licenseValuesText = "named, concurrent or none"

// errUnknownProduct refuses a licensing attribute the catalog does not have.
func errUnknownProduct(rt schemas.Resource, attr string) *requestError {
	known := make([]string, 0, len(rt.Catalog.Products))
	for _, p := range rt.Catalog.Products {
		known = append(known, p.Attribute())
	}
	return errInvalidValue("The licensing extension has no product attribute %q: the products are %s.", attr, strings.Join(known, ", "))
}

// errLicenseValue refuses a value of a product's licensing attribute.
func errLicenseValue(p licensing.Product, v any) *requestError {
	shown, err := json.Marshal(v)
	if err != nil || len(shown) > 100 {
		shown = []byte("the value given")
	}
	return errInvalidValue("The licensing attribute %q (%s) must be %s, not %s.", p.Attribute(), p.Name, licenseValuesText, shown)
}

// parseLicense reads the value of a product's licensing attribute: a
// string named, concurrent or none in any case ("" and null mean none).
func parseLicense(p licensing.Product, v any) (licensing.LicenseType, error) {
	switch v := v.(type) {
	case nil:
		return licensing.LicenseNone, nil
	case string:
		t, err := licensing.ParseLicenseType(v)
		if err != nil {
			return "", errLicenseValue(p, v)
		}
		return t, nil
	}
	return "", errLicenseValue(p, v)
}

// assignmentsFrom reads the licensing extension of validated attributes
// (attribute names as the schema spells them) into assignments, without
// the products set to none. A user without the extension holds nothing.
func assignmentsFrom(rt schemas.Resource, attrs scim.ResourceAttributes) (licensing.Assignments, error) {
	raw, present := attrs[rt.LicensingURN]
	if !present || raw == nil {
		return nil, nil
	}
	ext, ok := raw.(map[string]any)
	if !ok {
		return nil, errInvalidValue("The value of %q must be an object of product attributes.", rt.LicensingURN)
	}
	var out licensing.Assignments
	for attr, v := range ext {
		if readOnlyLicensing(rt, attr) {
			continue
		}
		p, ok := rt.Catalog.ByAttribute(attr)
		if !ok {
			return nil, errUnknownProduct(rt, attr)
		}
		t, err := parseLicense(p, v)
		if err != nil {
			return nil, err
		}
		if t == licensing.LicenseNone {
			continue
		}
		if out == nil {
			out = licensing.Assignments{}
		}
		out[p.ID] = t
	}
	return out, nil
}

// licensingAttributes renders a user's assignments as the licensing
// extension: every catalog product, none for those not held.
func licensingAttributes(c licensing.Catalog, a licensing.Assignments) map[string]any {
	ext := make(map[string]any, len(c.Products))
	for _, p := range c.Products {
		ext[p.Attribute()] = string(a.Of(p.ID))
	}
	return ext
}

// keepUnlisted returns next with the assignments cur has of products the
// catalog no longer lists: SCIM cannot show or change them, so a SCIM
// write must not drop them.
func keepUnlisted(c licensing.Catalog, next, cur licensing.Assignments) licensing.Assignments {
	for id, t := range cur {
		if _, listed := c.Product(id); listed || t == licensing.LicenseNone {
			continue
		}
		if _, set := next[id]; set {
			continue
		}
		a := make(licensing.Assignments, len(next)+1)
		maps.Copy(a, next)
		a[id] = t
		next = a
	}
	return next
}

// licensesValue renders a user's licenses in force and pending as the
// read-only licenses attribute of the licensing extension.
func licensesValue(ls []licensing.License) []any {
	out := make([]any, 0, len(ls))
	for _, l := range ls {
		v := map[string]any{"product": l.ProductID, "license": string(l.License), "status": string(l.Status),
			"sources": slices.Clone(l.Sources)}
		if r := l.Reason(); r != "" {
			v["reason"] = r
		}
		out = append(out, v)
	}
	return out
}

// licensingPathAttr returns the attribute an attribute path names inside
// the licensing extension ("urn:...:licensing:2.0:User:remoteSupportV5",
// the URN in any case, gives "remoteSupportV5"); ok is false for paths
// outside it.
func licensingPathAttr(urn, path string) (string, bool) {
	prefix := urn + ":"
	if len(path) <= len(prefix) || !strings.EqualFold(path[:len(prefix)], prefix) {
		return "", false
	}
	return path[len(prefix):], true
}

// normalizeLicensingBody prepares the licensing extension of a POST or PUT
// body for elimity: the extension object keyed by the canonical URN
// (clients may spell it in any case, and Entra leaves it out of
// schemas[], which elimity does not require), top-level keys that are URN
// attribute paths ("urn:...:licensing:2.0:User:remoteSupportV5": "named")
// folded into it, attribute names spelled as the schema does and values
// lower-cased. It refuses unknown products and values other than named,
// concurrent, none, "" or null with invalidValue. A body that is not a
// JSON object, or has no licensing attributes, is returned as is.
func normalizeLicensingBody(body []byte, rt schemas.Resource) ([]byte, error) {
	if rt.LicensingURN == "" {
		return body, nil
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil || top == nil {
		return body, nil // elimity reports the malformed body
	}
	keys := sortedKeys(top)
	ext := map[string]any{}
	found := false
	put := func(attr string, raw json.RawMessage) error {
		if readOnlyLicensing(rt, attr) {
			return nil // ignored, as RFC 7643 section 7 has it for readOnly
		}
		p, ok := rt.Catalog.ByAttribute(attr)
		if !ok {
			return errUnknownProduct(rt, attr)
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return errInvalidSyntax("The request body is not valid JSON.")
		}
		t, err := parseLicense(p, v)
		if err != nil {
			return err
		}
		if prev, dup := ext[p.Attribute()]; dup && prev != string(t) {
			return errInvalidValue("The licensing attribute %q is given twice with different values.", p.Attribute())
		}
		ext[p.Attribute()] = string(t)
		return nil
	}
	for _, key := range keys {
		raw := top[key]
		if strings.EqualFold(key, rt.LicensingURN) {
			found = true
			delete(top, key)
			if string(raw) == "null" {
				continue
			}
			var obj map[string]json.RawMessage
			if json.Unmarshal(raw, &obj) != nil || obj == nil {
				return nil, errInvalidValue("The value of %q must be an object of product attributes.", rt.LicensingURN)
			}
			for _, k := range sortedKeys(obj) {
				if err := put(k, obj[k]); err != nil {
					return nil, err
				}
			}
			continue
		}
		if attr, ok := licensingPathAttr(rt.LicensingURN, key); ok {
			found = true
			delete(top, key)
			if err := put(attr, raw); err != nil {
				return nil, err
			}
		}
	}
	if !found {
		return body, nil
	}
	top[rt.LicensingURN] = mustMarshal(ext)
	return mustMarshal(top), nil
}

// checkLicensingPatch refuses, with invalidValue, PATCH operations that
// name a product the catalog does not have or set a licensing attribute
// to anything but named, concurrent, none or "" (elimity would answer an
// unknown attribute with a bare invalidPath and accept any string). It
// looks at paths ("urn:...:licensing:2.0:User:remoteSupportV5"), at the
// keys of path-less values (URN attribute paths, or the extension URN
// holding an object of product attributes), and at the values they set.
// It runs after normalizePatchBody, so a path that is the whole extension
// has become a path-less value. Anything else is left to elimity and
// applyPatch.
func checkLicensingPatch(body []byte, rt schemas.Resource) error {
	if rt.LicensingURN == "" {
		return nil
	}
	var patch map[string]json.RawMessage
	if json.Unmarshal(body, &patch) != nil {
		return nil // elimity reports the malformed body
	}
	var ops []map[string]json.RawMessage
	for k, v := range patch {
		if strings.EqualFold(k, "Operations") {
			_ = json.Unmarshal(v, &ops)
		}
	}
	check := func(attr string, raw json.RawMessage, setting, byPath bool) error {
		name := attr
		if i := strings.IndexAny(name, ".["); i >= 0 {
			name = name[:i]
		}
		if readOnlyLicensing(rt, name) {
			if byPath {
				return errMutability("The attribute %q is read-only.", licensing.LicensesAttr)
			}
			return nil // dropped by validation, as for a PUT
		}
		p, ok := rt.Catalog.ByAttribute(name)
		if !ok {
			return errUnknownProduct(rt, name)
		}
		if name != attr {
			return errInvalidPath("The licensing attribute %q has no sub-attributes and holds one value.", p.Attribute())
		}
		if !setting || raw == nil || string(raw) == "null" {
			return nil // elimity refuses a missing or null value
		}
		var v any
		if json.Unmarshal(raw, &v) != nil {
			return nil
		}
		_, err := parseLicense(p, v)
		return err
	}
	for _, op := range ops {
		if op == nil {
			continue
		}
		keys := findOpKeys(op)
		kind := strings.ToLower(keys.op(op))
		setting := kind == patchAdd || kind == patchReplace
		if path := keys.path(op); path != "" {
			if attr, ok := licensingPathAttr(rt.LicensingURN, strings.TrimSpace(path)); ok {
				if err := check(attr, op[keys.valueKey], setting, true); err != nil {
					return err
				}
			}
			continue
		}
		var obj map[string]json.RawMessage
		if !setting || json.Unmarshal(op[keys.valueKey], &obj) != nil {
			continue
		}
		for _, key := range sortedKeys(obj) {
			raw := obj[key]
			if attr, ok := licensingPathAttr(rt.LicensingURN, key); ok {
				if err := check(attr, raw, true, false); err != nil {
					return err
				}
				continue
			}
			if !strings.EqualFold(key, rt.LicensingURN) {
				continue
			}
			var inner map[string]json.RawMessage
			if json.Unmarshal(raw, &inner) != nil {
				continue // applyPatch refuses a value that is not an object
			}
			for _, attr := range sortedKeys(inner) {
				if err := check(attr, inner[attr], true, false); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// readOnlyLicensing tells whether attr is the read-only licenses attribute
// of the User licensing extension, which a write never sets: the licenses
// in force follow from the assignments and the groups.
func readOnlyLicensing(rt schemas.Resource, attr string) bool {
	return rt.LicensingURN == schemas.LicensingURN && strings.EqualFold(attr, licensing.LicensesAttr)
}

// sortedKeys returns the keys of m in order, so that the first problem
// reported does not depend on map order.
func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
