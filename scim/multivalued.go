package scim

import (
	"encoding/json"

	"github.com/elimity-com/scim"
	"github.com/elimity-com/scim/schema"

	"github.com/scimd/scimd/schemas"
)

// This file holds the rules of RFC 7643 section 2.4 for the values of the
// multi-valued attributes a write leaves (issue 11, item 2): exact
// duplicates are one value, stored once, and at most one value is
// primary. A PATCH that marks a value primary clears the mark on the
// others (normalizePrimary, used by patch_attribute.go and
// patch_lists.go); a POST, a PUT, or one PATCH operation whose own values
// mark two of them primary is refused, as no rule can tell which one the
// client meant.

// dropDuplicateValues removes, in place, the exact duplicates from each
// multi-valued attribute of attrs (validated attributes, core and
// extensions), keeping the first of each in its place. Values are
// compared whole, as JSON: two e-mail addresses that differ in case or in
// type are two values.
func dropDuplicateValues(rt schemas.Resource, attrs scim.ResourceAttributes) {
	_ = eachMultiValued(rt, attrs, func(_ schema.CoreAttribute, _ string, values map[string]any, key string) error {
		if list, isList := values[key].([]any); isList {
			values[key] = distinctValues(list)
		}
		return nil
	})
}

// eachMultiValued calls fn for each multi-valued attribute of the
// resource type (core, then each extension) that attrs holds: with its
// definition, its path for messages ("emails", "urn:...:badges"), the
// object holding it and its key there. It stops at fn's first error.
func eachMultiValued(rt schemas.Resource, attrs map[string]any, fn func(a schema.CoreAttribute, path string, values map[string]any, key string) error) error {
	each := func(defs []schema.CoreAttribute, values map[string]any, prefix string) error {
		for _, a := range defs {
			if !a.MultiValued() {
				continue
			}
			if key, _, ok := lookupKey(values, a.Name()); ok {
				if err := fn(a, prefix+a.Name(), values, key); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := each(rt.Core.Attributes, attrs, ""); err != nil {
		return err
	}
	for _, ext := range rt.Extensions {
		if _, v, ok := lookupKey(attrs, ext.ID); ok {
			if values, isMap := v.(map[string]any); isMap {
				if err := each(ext.Attributes, values, ext.ID+":"); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// distinctValues removes the exact duplicates from list, in place,
// keeping the first of each where it is, and returns what remains.
func distinctValues(list []any) []any {
	if len(list) < 2 {
		return list
	}
	seen := make(map[string]bool, len(list))
	out := list[:0]
	for _, e := range list {
		k, ok := exactKey(e)
		if ok && seen[k] {
			continue
		}
		seen[k] = ok
		out = append(out, e)
	}
	clear(list[len(out):])
	return out
}

// exactKey returns a value's identity for exact comparison: its JSON,
// whose object keys encoding/json sorts. ok is false when it cannot be
// encoded.
func exactKey(e any) (string, bool) {
	b, err := json.Marshal(e)
	return string(b), err == nil
}

// checkPrimaries refuses, with invalidValue naming the attribute, a
// resource whose multi-valued attribute (of the core schema or an
// extension) has more than one value marked primary. It runs on the
// attributes of a POST or PUT, after dropDuplicateValues.
func checkPrimaries(rt schemas.Resource, attrs scim.ResourceAttributes) error {
	return eachMultiValued(rt, attrs, func(a schema.CoreAttribute, path string, values map[string]any, key string) error {
		if a.AttributeType() != "complex" {
			return nil
		}
		list, _ := listValue(values[key])
		return onePrimary(path, list, false)
	})
}

// onePrimary refuses, with invalidValue naming the attribute, values of
// which more than one is marked primary; exact duplicates count once when
// distinct is set (the values of one PATCH operation, which the patcher
// has not deduplicated yet).
func onePrimary(name string, values []any, distinct bool) error {
	n := 0
	var seen map[string]bool
	for _, e := range values {
		if !isPrimary(e) {
			continue
		}
		if distinct {
			if k, ok := exactKey(e); ok {
				if seen[k] {
					continue
				}
				if seen == nil {
					seen = map[string]bool{}
				}
				seen[k] = true
			}
		}
		n++
	}
	if n > 1 {
		return errInvalidValue("The attribute %q has %d values marked primary; at most one may be.", name, n)
	}
	return nil
}

// isPrimary reports whether an element has primary set to true.
func isPrimary(e any) bool {
	m, ok := e.(map[string]any)
	if !ok {
		return false
	}
	_, v, _ := lookupKey(m, "primary")
	b, _ := v.(bool)
	return b
}

// markPrimary sets primary to true on a complex element (a PATCH add
// naming a value the attribute holds, with primary true).
func markPrimary(e any) {
	if m, ok := e.(map[string]any); ok && !isPrimary(m) {
		key, _, found := lookupKey(m, "primary")
		if !found {
			key = "primary"
		}
		m[key] = true
	}
}

// clearPrimary sets primary to false on an element marked primary.
func clearPrimary(e any) {
	m := e.(map[string]any)
	key, _, _ := lookupKey(m, "primary")
	m[key] = false
}

// normalizePrimary keeps at most one element marked primary: when a
// touched element is primary, the last such one stays primary and every
// other loses the mark (RFC 7643 section 2.4).
func normalizePrimary(list []any, touched []bool) {
	last := -1
	for i, e := range list {
		if i < len(touched) && touched[i] && isPrimary(e) {
			last = i
		}
	}
	if last < 0 {
		return
	}
	for i, e := range list {
		if i != last && isPrimary(e) {
			clearPrimary(e)
		}
	}
}
