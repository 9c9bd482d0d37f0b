package scim

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/elimity-com/scim/schema"
)

// This file holds what patch.go needs to handle the elements of
// multi-valued attributes in time linear in their number: an index of
// elements by identity, and the patcher's memory of the lists it appends
// to, so that a PATCH of n add operations on one attribute costs O(n),
// not O(n²) (each operation used to copy and re-index the whole list).

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
	if k, ok := ix.key(e); ok {
		ix.keys[k]++
		return
	}
	ix.others = append(ix.others, e)
}

// contains reports whether an element equal to e was recorded.
func (ix *elementIndex) contains(e any) bool {
	if k, ok := ix.key(e); ok {
		return ix.keys[k] > 0
	}
	return slices.ContainsFunc(ix.others, func(o any) bool { return sameElement(ix.attr, o, e) })
}

// key returns the identity of an element: its string value (folded to
// lower case unless case-exact), else its value as JSON, else (no value)
// the whole element as JSON, whose object keys encoding/json sorts. Keys
// of the three kinds never collide. ok is false when e cannot be encoded.
func (ix *elementIndex) key(e any) (string, bool) {
	v, caseExact, ok := elementValue(ix.attr, e)
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

// clearPrimary sets primary to false on an element marked primary.
func clearPrimary(e any) {
	m := e.(map[string]any)
	key, _, _ := lookupKey(m, "primary")
	m[key] = false
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

// appended is what the patcher remembers of a multi-valued attribute it
// appended values to: the list it left in its container (its own, as the
// patcher's document is a private copy) with the list's index and the
// positions of the elements marked primary. The next add to the same
// attribute reuses them if the container still holds that very list.
type appended struct {
	list      []any
	index     *elementIndex
	primaries []int
}

// sameList reports whether a and b are the same slice (not only equal).
func sameList(a, b []any) bool {
	return len(a) == len(b) && len(a) > 0 && &a[0] == &b[0]
}

// appendValues applies an add of values, without a filter or
// sub-attribute, to the multi-valued attribute t.attr held by cont: the
// values not already present are appended (RFC 7644 section 3.5.2.1),
// and when one of them is primary every other element loses the mark. It
// costs time in the number of values added, plus the list's length the
// first time the patcher sees the list. It reports false when the
// attribute holds something other than a list, for whole to handle.
func (p *patcher) appendValues(cont map[string]any, t patchTarget, value any) (bool, error) {
	key, cur, present := lookupKey(cont, t.attr.Name())
	list, isList := listValue(cur)
	if present && !isList {
		return false, nil
	}
	vals, err := coerceList(t.attr, value, t.text)
	if err != nil {
		return true, err
	}
	name := t.attr.Name()
	if t.ext != nil {
		name = t.ext.ID + ":" + name
	}
	st := p.appended[name]
	if st == nil || !sameList(st.list, list) {
		st = &appended{list: slices.Clip(list), index: newElementIndex(t.attr, list)}
		for i, e := range list {
			if isPrimary(e) {
				st.primaries = append(st.primaries, i)
			}
		}
		p.appended[name] = st
	}
	newPrimary := -1
	n := len(st.list)
	for _, v := range vals {
		if st.index.contains(v) {
			continue
		}
		st.index.add(v)
		if isPrimary(v) {
			newPrimary = len(st.list)
		}
		st.list = append(st.list, v)
	}
	added := len(st.list) > n
	// An empty list present before is dropped, as whole drops it.
	if !added && (!present || len(st.list) > 0) {
		return true, nil
	}
	if err := checkMutability(t, present); err != nil {
		return true, err
	}
	if newPrimary >= 0 {
		for _, i := range st.primaries {
			if i != newPrimary {
				clearPrimary(st.list[i])
			}
		}
		for _, e := range st.list[n:newPrimary] {
			if isPrimary(e) {
				clearPrimary(e)
			}
		}
		st.primaries = append(st.primaries[:0], newPrimary)
	}
	if present {
		delete(cont, key)
	}
	if len(st.list) == 0 {
		delete(p.appended, name)
		return true, nil
	}
	cont[t.attr.Name()] = st.list
	return true, nil
}
