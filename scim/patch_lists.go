package scim

import (
	"slices"

	"github.com/elimity-com/scim/schema"

	"github.com/scimd/scimd/licensing"
)

// This file applies, in place, the PATCH operations that add values to or
// remove values from a multi-valued attribute (applyInPlace): the
// patcher's memory of the lists it adds to and removes from, so that a
// PATCH of n operations adding or removing one value each costs O(n), not
// O(n²) (each operation used to copy and re-index or rescan the whole
// list). Elements are identified as elements.go says.

// listState is what the patcher keeps of a multi-valued attribute that
// add and remove operations change in place, so that each costs time in
// its own values rather than in the list's length: the list the
// container holds (the patcher's own, as its document is a private
// copy), which elements operations removed, where each element is by its
// identity, and which elements are primary. Removed elements stay in the
// list until flush compacts it, which the patcher does before any other
// kind of operation and at the end; until then the container holds a
// list with elements it no longer has, which only listState reads.
type listState struct {
	cont map[string]any
	// key is the container's key of the attribute.
	key     string
	list    []any
	removed []bool
	// dirty tells that some element was removed.
	dirty bool
	live  int
	// positions maps the identity of each live element (elementKey) to
	// its positions; unkeyed holds the live elements without one.
	positions map[string][]int
	unkeyed   []any
	primaries []int
}

// listName names a multi-valued attribute among the patcher's lists.
func listName(t patchTarget) string {
	if t.ext != nil {
		return t.ext.ID + ":" + t.attr.Name()
	}
	return t.attr.Name()
}

// listOf returns the state of the target's attribute in cont, made from
// the list cont holds unless the patcher has it already. ok is false
// when cont holds no list, or an empty one, for the general code to
// handle (an empty list counts as present, and changing it removes it).
func (p *patcher) listOf(cont map[string]any, t patchTarget) (*listState, bool) {
	name := listName(t)
	key, cur, present := lookupKey(cont, t.attr.Name())
	list, isList := listValue(cur)
	if present && (!isList || len(list) == 0) {
		return nil, false
	}
	if st := p.lists[name]; st != nil && sameList(st.list, list) {
		return st, true
	}
	if !present {
		key = t.attr.Name()
	}
	st := &listState{cont: cont, key: key, list: slices.Clip(list), removed: make([]bool, len(list)), live: len(list),
		positions: make(map[string][]int, len(list))}
	for i, e := range list {
		if k, ok := elementKey(t.attr, e); ok {
			st.positions[k] = append(st.positions[k], i)
		} else {
			st.unkeyed = append(st.unkeyed, e)
		}
		if isPrimary(e) {
			st.primaries = append(st.primaries, i)
		}
	}
	if present {
		// The list as the container holds it from now on, so that the
		// next operation finds st (listValue copies lists of other types).
		cont[key] = st.list
	}
	p.lists[name] = st
	return st, true
}

// flush writes every list operations removed elements from, without
// them, to its container (removing an attribute left without values),
// and forgets the lists.
func (p *patcher) flush() {
	for _, st := range p.lists {
		if !st.dirty {
			continue
		}
		out := make([]any, 0, st.live)
		for i, e := range st.list {
			if !st.removed[i] {
				out = append(out, e)
			}
		}
		if len(out) == 0 {
			delete(st.cont, st.key)
		} else {
			st.cont[st.key] = out
		}
	}
	clear(p.lists)
}

// sameList reports whether a and b are the same slice (not only equal).
func sameList(a, b []any) bool {
	return len(a) == len(b) && len(a) > 0 && &a[0] == &b[0]
}

// contains reports whether the list has a live element equal to e (see
// sameElement).
func (st *listState) contains(a schema.CoreAttribute, e any) bool {
	if k, ok := elementKey(a, e); ok {
		return len(st.positions[k]) > 0
	}
	return slices.ContainsFunc(st.unkeyed, func(o any) bool { return sameElement(a, o, e) })
}

// primaryMoves reports whether making the element at i primary changes
// the list: it is not primary yet, or another live element is. It is
// false when i is -1.
func (st *listState) primaryMoves(i int) bool {
	if i < 0 {
		return false
	}
	if !isPrimary(st.list[i]) {
		return true
	}
	return slices.ContainsFunc(st.primaries, func(j int) bool { return j != i && !st.removed[j] && isPrimary(st.list[j]) })
}

// firstLive returns the position of the first live element with e's
// identity (elementKey), -1 when there is none or e has no key.
func (st *listState) firstLive(a schema.CoreAttribute, e any) int {
	k, ok := elementKey(a, e)
	if !ok || len(st.positions[k]) == 0 {
		return -1
	}
	return st.positions[k][0] // positions are kept in increasing order
}

// removeKey removes the live elements whose identity is k and reports
// whether there were any.
func (st *listState) removeKey(k string) bool {
	at := st.positions[k]
	for _, i := range at {
		st.removed[i] = true
	}
	delete(st.positions, k)
	st.live -= len(at)
	st.dirty = st.dirty || len(at) > 0
	return len(at) > 0
}

// appendValues applies an add of values, without a filter or
// sub-attribute, to the multi-valued attribute t.attr held by cont: the
// values not already present are appended (RFC 7644 section 3.5.2.1),
// and when one of them is primary every other element loses the mark. It
// costs time in the number of values added (plus the list's length the
// first time the patcher sees the list). It reports false when nextWhole
// must apply the operation instead.
func (p *patcher) appendValues(cont map[string]any, t patchTarget, value any) (bool, error) {
	st, ok := p.listOf(cont, t)
	if !ok {
		return false, nil
	}
	vals, err := coerceList(t.attr, value, t.text)
	if err != nil {
		return true, err
	}
	if err := onePrimary(listName(t), vals, true); err != nil {
		return true, err
	}
	present := st.live > 0
	newPrimary := -1
	n := len(st.list)
	for _, v := range vals {
		if st.contains(t.attr, v) {
			if at := st.firstLive(t.attr, v); at >= 0 && isPrimary(v) {
				// The value is there: an add marking it primary makes
				// the element it stands for primary (see markPrimary).
				newPrimary = at
			}
			continue
		}
		if k, ok := elementKey(t.attr, v); ok {
			st.positions[k] = append(st.positions[k], len(st.list))
		} else {
			st.unkeyed = append(st.unkeyed, v)
		}
		if isPrimary(v) {
			newPrimary = len(st.list)
		}
		st.list = append(st.list, v)
		st.removed = append(st.removed, false)
		st.live++
	}
	if len(st.list) == n && !st.primaryMoves(newPrimary) {
		return true, nil
	}
	if err := checkMutability(t, present); err != nil {
		return true, err
	}
	if newPrimary >= 0 {
		markPrimary(st.list[newPrimary])
		for _, i := range st.primaries {
			if i != newPrimary {
				clearPrimary(st.list[i])
			}
		}
		if newPrimary > n {
			for _, e := range st.list[n:newPrimary] {
				if isPrimary(e) {
					clearPrimary(e)
				}
			}
		}
		st.primaries = append(st.primaries[:0], newPrimary)
	}
	if st.key != t.attr.Name() {
		delete(cont, st.key)
		st.key = t.attr.Name()
	}
	cont[st.key] = st.list
	return true, nil
}

// removeValues applies a remove with values (Entra's member removal) to
// the multi-valued attribute t.attr held by cont: the elements equal to
// one of them go. It costs time in the number of values. It reports
// false when nextWhole must apply the operation instead.
func (p *patcher) removeValues(cont map[string]any, t patchTarget, value any) (bool, error) {
	gone, err := coerceList(t.attr, value, t.text)
	if err != nil {
		return true, err
	}
	keys := make([]string, len(gone))
	for i, g := range gone {
		k, ok := elementKey(t.attr, g)
		if !ok {
			return false, nil
		}
		keys[i] = k
	}
	st, ok := p.listOf(cont, t)
	if !ok {
		return false, nil
	}
	removed := false
	for _, k := range keys {
		removed = st.removeKey(k) || removed
	}
	if !removed {
		return true, nil
	}
	return true, checkMutability(t, true)
}

// removeMatching applies a remove whose path is attr[value eq "x"]
// (Okta's member removal) to the multi-valued complex attribute t.attr
// held by cont, in time independent of the list's length. It reports
// false when nextFiltered must apply the operation instead: for any other
// filter, or a path that goes on to a sub-attribute.
func (p *patcher) removeMatching(cont map[string]any, t patchTarget) (bool, error) {
	c, isCompare := t.filter.(licensing.Compare)
	if !isCompare || t.sub != nil || t.attr.AttributeType() != "complex" || c.Op != licensing.OpEq ||
		len(c.Attr.Path) != 1 || c.Attr.Path[0] != "value" || c.Attr.Kind != licensing.KindString {
		return false, nil
	}
	v, isString := c.Value.(string)
	if !isString || v == "" {
		return false, nil
	}
	sub, _ := findAttribute(t.attr.SubAttributes(), "value")
	if sub.CaseExact() != c.Attr.CaseExact {
		return false, nil
	}
	st, ok := p.listOf(cont, t)
	if !ok {
		return false, nil
	}
	k, _ := elementKey(t.attr, map[string]any{"value": v})
	if !st.removeKey(k) {
		return true, errNoTarget("No value of %q matches the path %q.", t.attr.Name(), t.text)
	}
	return true, checkMutability(t, true)
}

// applyInPlace applies the operations on multi-valued attributes that change
// the list in place (see listState): adding values, removing values, and
// removing by attr[value eq "x"]. It reports false for any other
// operation.
func (p *patcher) applyInPlace(kind string, cont map[string]any, t patchTarget, value any) (bool, error) {
	switch {
	case !p.inPlace || !t.attr.MultiValued():
		return false, nil
	case kind == patchAdd && t.filter == nil && t.sub == nil:
		return p.appendValues(cont, t, value)
	case kind == patchRemove && t.filter == nil && t.sub == nil && !isEmptyValue(value):
		return p.removeValues(cont, t, value)
	case kind == patchRemove && t.filter != nil:
		return p.removeMatching(cont, t)
	}
	return false, nil
}
