package scim

import (
	"slices"

	"github.com/elimity-com/scim/schema"
)

// This file computes, for one PATCH operation, the next value of the one
// attribute its target names, from the value the attribute has: as a
// whole (nextWhole), through a sub-attribute of a single-valued
// (nextSubOfOne) or of each element of a multi-valued attribute
// (nextSubOfEach), or through a value filter (nextFiltered); and the new
// value of one complex element (setSub, mergeElement, replaceElement).
// These are functions of their arguments only; the patcher writes the
// result back (applyTarget). The operations that change a long list in
// place are in patch_lists.go.

// nextWhole computes the new state of an attribute targeted as a whole.
func nextWhole(kind string, t patchTarget, cur any, present bool, value any) (any, bool, error) {
	a := t.attr
	switch {
	case kind == patchRemove && a.MultiValued() && !isEmptyValue(value):
		// Remove only the listed values (Entra's member removal).
		gone, err := coerceList(a, value, t.text)
		if err != nil {
			return nil, false, err
		}
		list, _ := listValue(cur)
		out := make([]any, 0, len(list))
		goneIndex := newElementIndex(a, gone)
		for _, elem := range list {
			if !goneIndex.contains(elem) {
				out = append(out, elem)
			}
		}
		if !present {
			return nil, false, nil
		}
		return out, len(out) > 0, nil
	case kind == patchRemove:
		return nil, false, nil
	case a.MultiValued():
		vals, err := coerceList(a, value, t.text)
		if err != nil {
			return nil, false, err
		}
		if err := onePrimary(listName(t), vals, true); err != nil {
			return nil, false, err
		}
		if kind == patchReplace {
			vals = distinctValues(vals)
			touched := make([]bool, len(vals))
			for i := range touched {
				touched[i] = true
			}
			normalizePrimary(vals, touched)
			return vals, len(vals) > 0, nil
		}
		list, _ := listValue(deepCopyValue(cur))
		out := append(make([]any, 0, len(list)+len(vals)), list...)
		touched := make([]bool, len(list), len(list)+len(vals))
		index := newElementIndex(a, out)
		for _, v := range vals {
			if index.contains(v) {
				if k, ok := elementKey(a, v); ok && isPrimary(v) {
					// The value is there: it becomes primary.
					if i := slices.IndexFunc(out, func(e any) bool { ek, _ := elementKey(a, e); return ek == k }); i >= 0 {
						markPrimary(out[i])
						touched[i] = true
					}
				}
				continue
			}
			index.add(v)
			out = append(out, v)
			touched = append(touched, true)
		}
		normalizePrimary(out, touched)
		return out, len(out) > 0, nil
	case isEmptyValue(value):
		return nil, false, nil
	case a.AttributeType() == "complex":
		obj, ok := value.(map[string]any)
		if !ok {
			return nil, false, errInvalidValue("The value of %q must be an object.", t.text)
		}
		old, _ := cur.(map[string]any)
		merged, err := mergeElement(a, old, obj, t.text)
		if err != nil {
			return nil, false, err
		}
		return merged, len(merged) > 0, nil
	default:
		v, err := coerceValue(a, value)
		if err != nil {
			return nil, false, errInvalidValue("The value of %q must be %s.", t.text, err.Error())
		}
		return v, true, nil
	}
}

// nextSubOfOne computes the new state of a single-valued complex attribute
// when a path names one of its sub-attributes (name.givenName).
func nextSubOfOne(kind string, t patchTarget, cur any, present bool, value any) (any, bool, error) {
	old, _ := cur.(map[string]any)
	next, err := setSub(t, old, kind, value)
	if err != nil {
		return nil, false, err
	}
	if !present && len(next) == 0 {
		return nil, false, nil
	}
	return next, len(next) > 0, nil
}

// nextSubOfEach computes the new state of a multi-valued complex attribute
// when a path without filter names a sub-attribute (emails.type): the
// operation applies to every element, and an add or replace on an empty
// attribute adds one element.
func nextSubOfEach(kind string, t patchTarget, cur any, present bool, value any) (any, bool, error) {
	list, _ := listValue(deepCopyValue(cur))
	if len(list) == 0 {
		if kind == patchRemove || isEmptyValue(value) {
			return cur, present, nil
		}
		elem, err := setSub(t, nil, kind, value)
		if err != nil {
			return nil, false, err
		}
		return []any{elem}, true, nil
	}
	out := make([]any, 0, len(list))
	for _, elem := range list {
		old, _ := elem.(map[string]any)
		next, err := setSub(t, old, kind, value)
		if err != nil {
			return nil, false, err
		}
		if len(next) > 0 {
			out = append(out, next)
		}
	}
	touched := make([]bool, len(out))
	for i := range touched {
		touched[i] = true
	}
	normalizePrimary(out, touched)
	return out, len(out) > 0, nil
}

// nextFiltered computes the new state of a multi-valued attribute for a path
// with a value filter.
func nextFiltered(kind string, t patchTarget, cur any, present bool, value any) (any, bool, error) {
	a := t.attr
	list, _ := listValue(deepCopyValue(cur))
	var matched []int
	isMatched := make([]bool, len(list))
	for i, elem := range list {
		if evalCond(t.filter, elem) {
			matched = append(matched, i)
			isMatched[i] = true
		}
	}
	touched := make([]bool, len(list))
	switch {
	case kind == patchRemove && len(matched) == 0:
		return nil, false, errNoTarget("No value of %q matches the path %q.", a.Name(), t.text)
	case kind == patchRemove && t.sub == nil:
		out := make([]any, 0, len(list))
		for i, elem := range list {
			if !isMatched[i] {
				out = append(out, elem)
			}
		}
		return out, len(out) > 0, nil
	case t.sub != nil && kind != patchRemove && isEmptyValue(value) && len(matched) == 0:
		// Setting a sub-attribute of nothing to unassigned changes nothing.
		return cur, present, nil
	case t.sub != nil && len(matched) == 0:
		if t.eqValues == nil {
			return nil, false, errNoTarget("No value of %q matches the path %q.", a.Name(), t.text)
		}
		elem, err := setSub(t, deepCopyValue(t.eqValues).(map[string]any), kind, value)
		if err != nil {
			return nil, false, err
		}
		list = append(list, elem)
		touched = append(touched, true)
	case t.sub != nil:
		out := make([]any, 0, len(list))
		outTouched := make([]bool, 0, len(list))
		for i, elem := range list {
			if isMatched[i] {
				old, _ := elem.(map[string]any)
				next, err := setSub(t, old, kind, value)
				if err != nil {
					return nil, false, err
				}
				if len(next) == 0 {
					continue
				}
				elem = next
			}
			out = append(out, elem)
			outTouched = append(outTouched, isMatched[i])
		}
		list, touched = out, outTouched
	case a.AttributeType() != "complex":
		// Elements of a multi-valued simple attribute: replace or add.
		if len(matched) == 0 && kind == patchReplace {
			return nil, false, errNoTarget("No value of %q matches the path %q.", a.Name(), t.text)
		}
		vals, err := coerceList(a, value, t.text)
		if err != nil {
			return nil, false, err
		}
		if len(vals) != 1 {
			return nil, false, errInvalidValue("The value of %q must be a single value.", t.text)
		}
		if len(matched) == 0 {
			list = append(list, vals[0])
			touched = append(touched, true)
			break
		}
		for _, i := range matched {
			list[i] = deepCopyValue(vals[0])
			touched[i] = true
		}
	default:
		obj, err := singleObject(value, t.text)
		if err != nil {
			return nil, false, err
		}
		if len(matched) == 0 {
			if kind == patchReplace || t.eqValues == nil {
				return nil, false, errNoTarget("No value of %q matches the path %q.", a.Name(), t.text)
			}
			elem, err := mergeElement(a, deepCopyValue(t.eqValues).(map[string]any), obj, t.text)
			if err != nil {
				return nil, false, err
			}
			list = append(list, elem)
			touched = append(touched, true)
			break
		}
		for _, i := range matched {
			old, _ := list[i].(map[string]any)
			var next map[string]any
			if kind == patchReplace {
				next, err = replaceElement(a, old, obj, t.text)
			} else {
				next, err = mergeElement(a, old, obj, t.text)
			}
			if err != nil {
				return nil, false, err
			}
			list[i] = next
			touched[i] = true
		}
	}
	normalizePrimary(list, touched)
	return list, len(list) > 0, nil
}

// singleObject returns the object a filtered path's value holds: the
// object itself or the only element of a list.
func singleObject(value any, text string) (map[string]any, error) {
	if l, ok := listValue(value); ok {
		if len(l) != 1 {
			return nil, errInvalidValue("The value of %q must be a single object.", text)
		}
		value = l[0]
	}
	obj, ok := value.(map[string]any)
	if !ok {
		return nil, errInvalidValue("The value of %q must be an object.", text)
	}
	return obj, nil
}

// setSub returns a copy of the complex value old with the target's
// sub-attribute set (add, replace) or removed (remove, or an empty
// value). A read-only or (when set) immutable sub-attribute cannot
// change.
func setSub(t patchTarget, old map[string]any, kind string, value any) (map[string]any, error) {
	sub := *t.sub
	next, _ := deepCopyValue(old).(map[string]any)
	if next == nil {
		next = map[string]any{}
	}
	key, cur, present := lookupKey(next, sub.Name())
	var nv any
	nextPresent := false
	if kind != patchRemove && !isEmptyValue(value) {
		v, err := coerceValue(sub, value)
		if err != nil {
			return nil, errInvalidValue("The value of %q must be %s.", t.text, err.Error())
		}
		nv, nextPresent = v, !isEmptyValue(v)
	}
	if present == nextPresent && (!present || jsonEqual(cur, nv)) {
		return next, nil
	}
	switch sub.Mutability() {
	case "readOnly":
		return nil, errMutability("The attribute %q is read-only.", t.text)
	case "immutable":
		if present {
			return nil, errMutability("The attribute %q is immutable.", t.text)
		}
	}
	if present {
		delete(next, key)
	}
	if nextPresent {
		next[sub.Name()] = nv
	}
	return next, nil
}

// mergeElement returns a copy of the complex value old with the
// sub-attributes of obj set (an empty value unassigns one). Unknown and
// read-only sub-attributes of obj are ignored, as elimity does;
// immutable ones cannot change a value old has.
func mergeElement(a schema.CoreAttribute, old, obj map[string]any, text string) (map[string]any, error) {
	next, _ := deepCopyValue(old).(map[string]any)
	if next == nil {
		next = map[string]any{}
	}
	seen := map[string]bool{}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		sub, ok := findAttribute(a.SubAttributes(), k)
		if !ok || (sub.Mutability() == "readOnly" && a.Mutability() != "readOnly") {
			continue
		}
		if seen[sub.Name()] {
			return nil, errInvalidSyntax("The value of %q names the sub-attribute %q twice.", text, sub.Name())
		}
		seen[sub.Name()] = true
		key, cur, present := lookupKey(next, sub.Name())
		var nv any
		nextPresent := false
		if v := obj[k]; !isEmptyValue(v) {
			c, err := coerceValue(sub, v)
			if err != nil {
				return nil, errInvalidValue("The value of %q.%s must be %s.", text, sub.Name(), err.Error())
			}
			nv, nextPresent = c, true
		}
		if present == nextPresent && (!present || jsonEqual(cur, nv)) {
			continue
		}
		if sub.Mutability() == "immutable" && present {
			return nil, errMutability("The attribute %q.%s is immutable.", text, sub.Name())
		}
		if present {
			delete(next, key)
		}
		if nextPresent {
			next[sub.Name()] = nv
		}
	}
	return next, nil
}

// replaceElement returns the element that replaces old: obj's
// sub-attributes, keeping old's read-only ones (which clients cannot
// set) and the immutable ones obj leaves out (which cannot go: a group
// member replaced by {"value": id} keeps its $ref and type). An
// immutable sub-attribute of old cannot change.
func replaceElement(a schema.CoreAttribute, old, obj map[string]any, text string) (map[string]any, error) {
	cv, err := coerceValue(a, obj)
	if err != nil {
		return nil, errInvalidValue("The value of %q must be %s.", text, err.Error())
	}
	next, _ := cv.(map[string]any)
	if next == nil {
		next = map[string]any{}
	}
	for _, sub := range a.SubAttributes() {
		_, ov, had := lookupKey(old, sub.Name())
		nv, has := next[sub.Name()]
		switch sub.Mutability() {
		case "readOnly":
			if had {
				next[sub.Name()] = deepCopyValue(ov)
			}
		case "immutable":
			switch {
			case had && !has:
				next[sub.Name()] = deepCopyValue(ov)
			case had && !jsonEqual(ov, nv):
				return nil, errMutability("The attribute %q.%s is immutable.", text, sub.Name())
			}
		}
	}
	return next, nil
}
