package scim

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/elimity-com/scim/schema"
)

// This file identifies the elements of a multi-valued attribute (RFC 7644
// section 3.5.2: the "value" sub-attribute identifies an element when
// there is one): elementKey gives an element's identity, sameElement
// compares two, and elementIndex finds the elements equal to a value in
// time independent of the list's length.

// elementIndex finds the elements of a multi-valued attribute equal to a
// value, as sameElement compares them: by "value" sub-attribute when the
// element has one (folded to lower case unless case-exact), else whole.
type elementIndex struct {
	attr schema.CoreAttribute
	keys map[string]int
	// others holds the elements that have no key (not encodable as
	// JSON), compared one by one.
	others []any
}

// newElementIndex indexes the elements of a multi-valued attribute.
func newElementIndex(a schema.CoreAttribute, elems []any) *elementIndex {
	ix := &elementIndex{attr: a, keys: make(map[string]int, len(elems))}
	for _, e := range elems {
		ix.add(e)
	}
	return ix
}

// add records an element.
func (ix *elementIndex) add(e any) {
	if k, ok := elementKey(ix.attr, e); ok {
		ix.keys[k]++
		return
	}
	ix.others = append(ix.others, e)
}

// contains reports whether an element equal to e was recorded.
func (ix *elementIndex) contains(e any) bool {
	if k, ok := elementKey(ix.attr, e); ok {
		return ix.keys[k] > 0
	}
	return slices.ContainsFunc(ix.others, func(o any) bool { return sameElement(ix.attr, o, e) })
}

// elementKey returns the identity of an element of a multi-valued
// attribute: its string value (folded to lower case unless case-exact),
// else its value as JSON, else (no value) the whole element as JSON,
// whose object keys encoding/json sorts. Keys of the three kinds never
// collide. ok is false when e cannot be encoded.
func elementKey(a schema.CoreAttribute, e any) (string, bool) {
	v, caseExact, ok := elementValue(a, e)
	if ok {
		if s, isString := v.(string); isString {
			if !caseExact {
				s = strings.ToLower(s)
			}
			return "s" + s, true
		}
		b, err := json.Marshal(v)
		return "v" + string(b), err == nil
	}
	b, err := json.Marshal(e)
	return "w" + string(b), err == nil
}

// elementValue returns what identifies an element: the "value"
// sub-attribute of a complex element, the element itself for a simple
// attribute; ok is false for a complex element without one.
func elementValue(a schema.CoreAttribute, e any) (v any, caseExact bool, ok bool) {
	if a.AttributeType() != "complex" {
		return e, a.CaseExact(), e != nil
	}
	m, isMap := e.(map[string]any)
	if !isMap {
		return nil, false, false
	}
	_, v, ok = lookupKey(m, "value")
	if !ok {
		return nil, false, false
	}
	sub, _ := findAttribute(a.SubAttributes(), "value")
	return v, sub.CaseExact(), true
}

// sameElement reports whether two elements of a multi-valued attribute
// are the same value: equal "value" when the candidate has one, else
// equal as a whole.
func sameElement(a schema.CoreAttribute, existing, candidate any) bool {
	cv, caseExact, ok := elementValue(a, candidate)
	if !ok {
		return jsonEqual(existing, candidate)
	}
	ev, _, ok := elementValue(a, existing)
	if !ok {
		return false
	}
	es, eok := ev.(string)
	cs, cok := cv.(string)
	if eok && cok && !caseExact {
		return strings.EqualFold(es, cs)
	}
	return jsonEqual(ev, cv)
}
