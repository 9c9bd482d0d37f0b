package scim

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/elimity-com/scim"
	"github.com/elimity-com/scim/schema"
	filter "github.com/scim2/filter-parser/v2"

	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/schemas"
)

// This file applies SCIM PATCH operations (RFC 7644 section 3.5.2) to a
// resource representation.
//
// What elimity-com/scim hands the Patch handler. Its validatePatch
// (resource_type.go, internal/patch) decodes the body with UseNumber,
// lower-cases "op", parses "path" with filter.ParsePath and validates
// path and value against the schemas before the handler runs:
//
//   - Op is "add", "replace" or "remove"; any other op is answered 400
//     invalidValue before the handler.
//   - Path is nil when the operation has none. Otherwise it is the parsed
//     path with the client's spelling: names are matched
//     case-insensitively, but schema URNs must match exactly (a
//     mis-cased URN is answered 400 invalidPath). "id", "meta" and
//     "schemas" are not accepted as paths (400 invalidPath). Numbers in a
//     value filter (emails[...]) are int or float64.
//   - A remove without a path is answered 400 noTarget. A remove's Value
//     is nil unless the client sent one; for a multi-valued attribute it
//     is a []interface{} (a single value is wrapped), as in Entra's
//     {"op":"Remove","path":"members","value":[{"value":"id"}]}.
//   - An add or replace without a value is answered 400 invalidValue
//     (so are null values, also inside a path-less map).
//   - Path-less add/replace: Value is a map[string]interface{} whose keys
//     are exactly as the client sent them: attribute names in any case,
//     dotted sub-attribute paths ("name.familyName"), URN attribute paths
//     ("urn:...:enterprise:2.0:User:employeeNumber", "...:manager.value"),
//     even value-filter paths; a key that exactly equals a schema URN holds
//     a map of that schema's attributes (the nested extension form). A
//     top-level key "id" (any case) is deleted (Okta sends the id).
//     Unknown keys, "schemas" and "meta" are answered 400 invalidValue.
//   - Values are sanitised per target attribute: strings stay strings;
//     booleans are bool, and with schema.SetAllowStringValues(true) the
//     strings "True"/"False" (Entra) become bool; integers are int64 and
//     decimals float64 (converted from json.Number); dateTime stays the
//     string. A complex value becomes a map keyed by the canonical
//     sub-attribute names, with unknown sub-attributes and read-only ones
//     (manager.displayName) dropped. A multi-valued target gets a
//     []interface{} (a single value is wrapped in one; an empty JSON list
//     arrives as a nil []interface{}), except when the path has a value
//     filter (addresses[type eq "work"]): then a single value stays
//     unwrapped.
//
// Shapes elimity rejects before the handler, which normalizePatchBody
// rewrites: a mis-cased schema URN in a path or path-less key; a path that
// is a whole extension URN; and Entra's manager forms (see
// rewriteEntraManager): a bare string, an empty string, null, or a
// one-element list as the value of the complex manager attribute.

// The PATCH operations.
const (
	patchAdd     = "add"
	patchReplace = "replace"
	patchRemove  = "remove"
)

// applyPatch applies PATCH operations in order to res, the full resource
// representation as a GET shows it without meta, following RFC 7644
// section 3.5.2. It is all or nothing: the operations run on a copy, and
// res is updated only when they all succeed. It reports whether the
// resulting representation differs from the one given (so a PATCH that
// sets the values the resource already has reports false). Lists it
// writes are []any and objects map[string]any; values are strings, bools,
// int64 (integers) and float64 (decimals).
//
// Supported are add, replace and remove (in any case), with a path or, for
// add and replace, without one; sub-attribute paths (name.givenName);
// value-filter paths (emails[type eq "work"].value, members[value eq
// "id"]) whose filter is evaluated here with every operator; paths with
// the core or an extension URN prefix; and path-less maps keyed by
// attribute names, dotted paths, URN attribute paths or extension URNs.
//
// The rules, beyond the RFC's: add to a multi-valued attribute appends the
// values not already present (equal "value", or equal element); at most
// one element is primary, the newly set one, and one operation whose
// value marks two values primary is refused (invalidValue); replace of
// a multi-valued attribute keeps one of exact duplicates; remove of a
// multi-valued attribute with a value removes only the listed elements;
// replace of an element through a filter keeps the immutable
// sub-attributes the new value leaves out; an empty string
// or null sets a single-valued attribute to unassigned; add or replace of
// attr[a eq x and b eq y].sub that matches no element adds one made of the
// filter's values and the sub-attribute (and setting such a sub-attribute
// to an empty value then changes nothing). Errors are request errors:
// noTarget for a path-less remove and for replace or remove whose filter
// matches nothing; mutability for changing id, meta, schemas or a
// read-only or immutable attribute (setting the value it has is allowed);
// invalidPath for unknown attributes; invalidFilter for bad filters;
// invalidValue for values of the wrong type and for removing a required
// attribute.
func applyPatch(res map[string]any, ops []scim.PatchOperation, rt schemas.Resource) (changed bool, err error) {
	return applyPatchWith(res, ops, rt, true)
}

// applyPatchWith is applyPatch, changing lists in place (see listState)
// only when inPlace is set: tests compare both ways.
func applyPatchWith(res map[string]any, ops []scim.PatchOperation, rt schemas.Resource, inPlace bool) (changed bool, err error) {
	if res == nil {
		return false, errors.New("scim: applyPatch needs a resource map")
	}
	work, _ := deepCopyValue(res).(map[string]any)
	p := &patcher{rt: rt, doc: work, touched: map[string]bool{}, inPlace: inPlace, lists: map[string]*listState{}}
	for i, op := range ops {
		if err := p.apply(op); err != nil {
			var re *requestError
			if errors.As(err, &re) && len(ops) > 1 {
				re.Detail = fmt.Sprintf("Operation %d: %s", i+1, re.Detail)
			}
			return false, err
		}
	}
	p.flush()
	p.dropEmptyExtensions(res)
	if err := p.checkRequired(res); err != nil {
		return false, err
	}
	if jsonEqual(res, work) {
		return false, nil
	}
	clear(res)
	for k, v := range work {
		res[k] = v
	}
	return true, nil
}

// patcher applies operations to doc, a private copy of the resource.
type patcher struct {
	rt  schemas.Resource
	doc map[string]any
	// touched holds the URNs of the extensions operations wrote to.
	touched map[string]bool
	// lists holds the multi-valued attributes operations add values to
	// or remove values from in place, by listName (see listState), when
	// inPlace is set.
	inPlace bool
	lists   map[string]*listState
}

// patchTarget is a PATCH path resolved against the resource type.
type patchTarget struct {
	// text is the path as the client wrote it, for messages.
	text string
	ext  *schema.Schema
	attr schema.CoreAttribute
	// filter is the compiled value filter of a multi-valued attribute,
	// relative to one element; nil when the path has none.
	filter licensing.Cond
	// eqValues holds the sub-attribute values of a filter made only of eq
	// comparisons joined by and; nil otherwise.
	eqValues map[string]any
	// sub is the sub-attribute the path ends at, nil when none.
	sub *schema.CoreAttribute
}

// apply applies one operation.
func (p *patcher) apply(op scim.PatchOperation) error {
	kind := strings.ToLower(strings.TrimSpace(op.Op))
	switch kind {
	case patchAdd, patchReplace, patchRemove:
	default:
		return errInvalidSyntax("Unknown PATCH operation %q: use add, replace or remove.", op.Op)
	}
	if op.Path == nil {
		if kind == patchRemove {
			return errNoTarget("A remove operation needs a path.")
		}
		obj, ok := op.Value.(map[string]any)
		if !ok {
			return errInvalidValue("An %s operation without a path needs an object of attributes as its value.", kind)
		}
		return p.applyMap(kind, obj, nil, "")
	}
	t, err := p.resolvePath(*op.Path, "")
	if err != nil {
		return err
	}
	return p.applyTarget(kind, t, op.Value)
}

// applyMap applies a path-less add or replace: each key of obj names a
// target (an attribute, a dotted or URN path, or a schema URN holding an
// object of that schema's attributes). within is the extension the keys
// belong to (nil: any), withinURN the schema URN they belong to ("" when
// they may carry any). Keys are applied in sorted order, so that a whole
// attribute comes before its sub-attributes.
func (p *patcher) applyMap(kind string, obj map[string]any, within *schema.Schema, withinURN string) error {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, key := range keys {
		value := obj[key]
		if withinURN == "" {
			if strings.EqualFold(key, p.rt.Core.ID) {
				inner, ok := value.(map[string]any)
				if !ok {
					return errInvalidValue("The value of %q must be an object of attributes.", key)
				}
				if err := p.applyMap(kind, inner, nil, p.rt.Core.ID); err != nil {
					return err
				}
				continue
			}
			if ext, ok := p.rt.Extension(key); ok {
				inner, ok := value.(map[string]any)
				if !ok {
					return errInvalidValue("The value of %q must be an object of its attributes.", key)
				}
				if err := p.applyMap(kind, inner, &ext, ext.ID); err != nil {
					return err
				}
				continue
			}
		}
		path, err := parsePathSafely(key)
		if err != nil {
			return errInvalidPath("The attribute path %q cannot be parsed.", key)
		}
		if withinURN != "" {
			switch uri := path.AttributePath.URI(); {
			case uri == "":
				u := withinURN
				path.AttributePath.URIPrefix = &u
			case !strings.EqualFold(uri, withinURN):
				return errInvalidPath("The attribute %q does not belong to the schema %q.", key, withinURN)
			}
		}
		t, err := p.resolvePath(path, key)
		if err != nil {
			return err
		}
		if within != nil && (t.ext == nil || t.ext.ID != within.ID) {
			return errInvalidPath("The attribute %q does not belong to the schema %q.", key, within.ID)
		}
		if err := p.applyTarget(kind, t, value); err != nil {
			return err
		}
	}
	return nil
}

// resolvePath resolves a parsed PATCH path. text is the path as written,
// "" to render it from path.
func (p *patcher) resolvePath(path filter.Path, text string) (patchTarget, error) {
	if text == "" {
		text = path.String()
	}
	r, problem := resolveAttributePath(p.rt, path.AttributePath)
	if problem != "" {
		return patchTarget{}, errInvalidPath("The path %q names an %s.", text, problem)
	}
	t := patchTarget{text: text, ext: r.ext, attr: r.attr, sub: r.sub}
	if path.ValueExpression == nil {
		if path.SubAttribute != nil {
			return patchTarget{}, errInvalidPath("The path %q is malformed.", text)
		}
		return t, nil
	}
	if r.sub != nil {
		return patchTarget{}, errInvalidPath("The path %q puts a filter on a sub-attribute.", text)
	}
	if !r.attr.MultiValued() {
		return patchTarget{}, errInvalidPath("The path %q filters %q, which is not multi-valued.", text, r.attr.Name())
	}
	cond, err := filterCompiler{rt: p.rt}.element(r, path.ValueExpression, nil, 0)
	if err != nil {
		return patchTarget{}, err
	}
	t.filter = cond
	if r.attr.AttributeType() == "complex" {
		t.eqValues = eqConjunction(path.ValueExpression, r.attr)
	}
	if path.SubAttribute != nil {
		sub, ok := findAttribute(r.attr.SubAttributes(), *path.SubAttribute)
		if !ok {
			return patchTarget{}, errInvalidPath("The path %q names an unknown sub-attribute %q.", text, *path.SubAttribute)
		}
		t.sub = &sub
	}
	return t, nil
}

// eqConjunction returns the sub-attribute values of a filter made only of
// "sub eq value" comparisons joined by "and", or nil for any other filter.
func eqConjunction(e filter.Expression, attr schema.CoreAttribute) map[string]any {
	out := map[string]any{}
	var walk func(e filter.Expression) bool
	walk = func(e filter.Expression) bool {
		switch e := e.(type) {
		case *filter.LogicalExpression:
			return strings.EqualFold(string(e.Operator), string(filter.AND)) && walk(e.Left) && walk(e.Right)
		case *filter.AttributeExpression:
			p := e.AttributePath
			if !strings.EqualFold(string(e.Operator), string(filter.EQ)) || p.URIPrefix != nil || p.SubAttribute != nil || e.CompareValue == nil {
				return false
			}
			sub, ok := findAttribute(attr.SubAttributes(), p.AttributeName)
			if !ok || sub.Mutability() == "readOnly" {
				return false
			}
			v := e.CompareValue
			if s, ok := v.(string); ok {
				u, err := unescapeFilterString(s)
				if err != nil {
					return false
				}
				v = u
			}
			c, err := coerceValue(sub, v)
			if err != nil || isEmptyValue(c) {
				return false
			}
			if prev, dup := out[sub.Name()]; dup && !jsonEqual(prev, c) {
				return false
			}
			out[sub.Name()] = c
			return true
		default:
			return false
		}
	}
	if !walk(e) {
		return nil
	}
	return out
}

// container returns the object holding the target's attribute: the
// document for core attributes, else the extension's object, created when
// missing (and dropped again at the end if it stays empty).
func (p *patcher) container(t patchTarget) map[string]any {
	if t.ext == nil {
		return p.doc
	}
	p.touched[t.ext.ID] = true
	key, v, ok := lookupKey(p.doc, t.ext.ID)
	if m, isMap := v.(map[string]any); ok && isMap {
		return m
	}
	if ok {
		delete(p.doc, key)
	}
	m := map[string]any{}
	p.doc[t.ext.ID] = m
	return m
}

// applyTarget applies one operation to a resolved target.
func (p *patcher) applyTarget(kind string, t patchTarget, value any) error {
	cont := p.container(t)
	if done, err := p.applyInPlace(kind, cont, t, value); done {
		return err
	}
	p.flush()
	key, cur, present := lookupKey(cont, t.attr.Name())
	var (
		next        any
		nextPresent bool
		err         error
	)
	switch {
	case t.filter != nil:
		next, nextPresent, err = p.filtered(kind, t, cur, present, value)
	case t.sub != nil && t.attr.MultiValued():
		next, nextPresent, err = p.subOfEach(kind, t, cur, present, value)
	case t.sub != nil:
		next, nextPresent, err = p.subOfOne(kind, t, cur, present, value)
	default:
		next, nextPresent, err = p.whole(kind, t, cur, present, value)
	}
	if err != nil {
		return err
	}
	if present == nextPresent && (!present || jsonEqual(cur, next)) {
		return nil
	}
	if err := checkMutability(t, present); err != nil {
		return err
	}
	if present {
		delete(cont, key)
	}
	if nextPresent {
		cont[t.attr.Name()] = next
	}
	return nil
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

// checkMutability refuses to change a read-only attribute, or an
// immutable one that has a value (present).
func checkMutability(t patchTarget, present bool) error {
	switch t.attr.Mutability() {
	case "readOnly":
		return errMutability("The attribute %q is read-only.", t.text)
	case "immutable":
		if present {
			return errMutability("The attribute %q is immutable.", t.text)
		}
	}
	return nil
}

// whole computes the new state of an attribute targeted as a whole.
func (p *patcher) whole(kind string, t patchTarget, cur any, present bool, value any) (any, bool, error) {
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

// subOfOne computes the new state of a single-valued complex attribute
// when a path names one of its sub-attributes (name.givenName).
func (p *patcher) subOfOne(kind string, t patchTarget, cur any, present bool, value any) (any, bool, error) {
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

// subOfEach computes the new state of a multi-valued complex attribute
// when a path without filter names a sub-attribute (emails.type): the
// operation applies to every element, and an add or replace on an empty
// attribute adds one element.
func (p *patcher) subOfEach(kind string, t patchTarget, cur any, present bool, value any) (any, bool, error) {
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

// filtered computes the new state of a multi-valued attribute for a path
// with a value filter.
func (p *patcher) filtered(kind string, t patchTarget, cur any, present bool, value any) (any, bool, error) {
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

// coerceList converts the value of a multi-valued attribute (a list, or a
// single value standing for a list of one) to its elements. Empty
// elements are skipped.
func coerceList(a schema.CoreAttribute, value any, text string) ([]any, error) {
	items, ok := listValue(value)
	if !ok {
		if value == nil {
			return nil, nil
		}
		items = []any{value}
	}
	out := make([]any, 0, len(items))
	for _, item := range items {
		if isEmptyValue(item) {
			continue
		}
		v, err := coerceValue(a, item)
		if err != nil {
			return nil, errInvalidValue("The values of %q must be %s.", text, err.Error())
		}
		if !isEmptyValue(v) {
			out = append(out, v)
		}
	}
	return out, nil
}

// coerceValue converts one value (one element, for a multi-valued
// attribute) to the attribute's type. Complex values become maps keyed by
// canonical sub-attribute names, without unknown and empty sub-attributes
// and without read-only ones (unless the attribute itself is read-only, so
// that setting it is seen). The error says what was expected.
func coerceValue(a schema.CoreAttribute, v any) (any, error) {
	switch a.AttributeType() {
	case "complex":
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("an object")
		}
		out := map[string]any{}
		for k, sv := range obj {
			sub, ok := findAttribute(a.SubAttributes(), k)
			if !ok || isEmptyValue(sv) || (sub.Mutability() == "readOnly" && a.Mutability() != "readOnly") {
				continue
			}
			if _, dup := out[sub.Name()]; dup {
				return nil, fmt.Errorf("an object naming each sub-attribute once")
			}
			c, err := coerceValue(sub, sv)
			if err != nil {
				return nil, fmt.Errorf("an object whose %q is %s", sub.Name(), err.Error())
			}
			out[sub.Name()] = c
		}
		return out, nil
	case "string", "reference":
		if s, ok := v.(string); ok {
			return s, nil
		}
		return nil, fmt.Errorf("a string")
	case "binary":
		if s, ok := v.(string); ok {
			if _, err := base64.StdEncoding.DecodeString(s); err == nil {
				return s, nil
			}
		}
		return nil, fmt.Errorf("a base64 string")
	case "boolean":
		switch b := v.(type) {
		case bool:
			return b, nil
		case string:
			// Entra sends booleans as "True" and "False".
			switch strings.ToLower(strings.TrimSpace(b)) {
			case "true":
				return true, nil
			case "false":
				return false, nil
			}
		}
		return nil, fmt.Errorf("true or false")
	case "integer":
		if i, ok := toInt64(v); ok {
			return i, nil
		}
		return nil, fmt.Errorf("an integer")
	case "decimal":
		if f, ok := toFloat64(v); ok {
			return f, nil
		}
		return nil, fmt.Errorf("a number")
	case "dateTime":
		if s, ok := v.(string); ok && validDateTime(s) {
			return s, nil
		}
		return nil, fmt.Errorf("a date and time such as 2024-01-31T12:00:00Z")
	default:
		return nil, fmt.Errorf("of a known type")
	}
}

// validDateTime reports whether s is an xsd:dateTime, with or without a
// time zone.
func validDateTime(s string) bool {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if _, err := time.Parse(layout, s); err == nil {
			return true
		}
	}
	return false
}

// toInt64 converts a JSON-like number (or a numeric string, as Entra
// sends) to int64 when it is integral and in range.
func toInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int8:
		return int64(n), true
	case int16:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case uint8:
		return int64(n), true
	case uint16:
		return int64(n), true
	case uint32:
		return int64(n), true
	case uint64:
		if n <= math.MaxInt64 {
			return int64(n), true
		}
	case uint:
		if uint64(n) <= math.MaxInt64 {
			return int64(n), true
		}
	case float64:
		if n == math.Trunc(n) && n >= math.MinInt64 && n < math.MaxInt64 {
			return int64(n), true
		}
	case json.Number:
		if i, err := n.Int64(); err == nil {
			return i, true
		}
		if f, err := n.Float64(); err == nil {
			return toInt64(f)
		}
	case string:
		if i, err := strconv.ParseInt(strings.TrimSpace(n), 10, 64); err == nil {
			return i, true
		}
	}
	return 0, false
}

// toFloat64 converts a JSON-like number (or a numeric string) to a finite
// float64.
func toFloat64(v any) (float64, bool) {
	var f float64
	switch n := v.(type) {
	case float64:
		f = n
	case float32:
		f = float64(n)
	case json.Number:
		x, err := n.Float64()
		if err != nil {
			return 0, false
		}
		f = x
	case string:
		x, err := strconv.ParseFloat(strings.TrimSpace(n), 64)
		if err != nil {
			return 0, false
		}
		f = x
	default:
		i, ok := toInt64(v)
		if !ok {
			return 0, false
		}
		f = float64(i)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// isEmptyValue reports whether v counts as unassigned: null, an empty
// string, an empty object or an empty list (RFC 7643 section 2.5).
func isEmptyValue(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == ""
	case map[string]any:
		return len(v) == 0
	default:
		if l, ok := listValue(v); ok {
			return len(l) == 0
		}
		return false
	}
}

// lookupKey finds name among m's keys, exactly or else case-insensitively.
func lookupKey(m map[string]any, name string) (key string, value any, ok bool) {
	if v, ok := m[name]; ok {
		return name, v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return k, v, true
		}
	}
	return "", nil, false
}

// dropEmptyExtensions removes the extension objects operations left
// empty (unless the resource before the patch had it empty already).
func (p *patcher) dropEmptyExtensions(before map[string]any) {
	for urn := range p.touched {
		key, v, ok := lookupKey(p.doc, urn)
		if !ok || !isEmptyValue(v) {
			continue
		}
		if _, old, had := lookupKey(before, urn); had && isEmptyValue(old) {
			continue
		}
		delete(p.doc, key)
	}
}

// checkRequired refuses to leave a required attribute unassigned when the
// resource had it.
func (p *patcher) checkRequired(before map[string]any) error {
	check := func(attrs []schema.CoreAttribute, was, is map[string]any) error {
		for _, a := range attrs {
			if !a.Required() {
				continue
			}
			_, old, had := lookupKey(was, a.Name())
			_, cur, has := lookupKey(is, a.Name())
			if had && !isEmptyValue(old) && (!has || isEmptyValue(cur)) {
				return errMutability("The attribute %q is required and cannot be removed.", a.Name())
			}
		}
		return nil
	}
	if err := check(p.rt.Core.Attributes, before, p.doc); err != nil {
		return err
	}
	for _, ext := range p.rt.Extensions {
		_, was, _ := lookupKey(before, ext.ID)
		_, is, _ := lookupKey(p.doc, ext.ID)
		wm, _ := was.(map[string]any)
		im, _ := is.(map[string]any)
		if err := check(ext.Attributes, wm, im); err != nil {
			return err
		}
	}
	return nil
}

// jsonEqual reports whether two JSON-like values are equal: numbers
// compare by value whatever their Go type, lists whatever their slice
// type.
func jsonEqual(a, b any) bool {
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok || len(av) != len(bv) {
			return false
		}
		for k, x := range av {
			y, ok := bv[k]
			if !ok || !jsonEqual(x, y) {
				return false
			}
		}
		return true
	case string, bool, nil:
		return a == b
	}
	if al, ok := listValue(a); ok {
		bl, ok := listValue(b)
		if !ok || len(al) != len(bl) {
			return false
		}
		for i := range al {
			if !jsonEqual(al[i], bl[i]) {
				return false
			}
		}
		return true
	}
	if ai, ok := toInt64Strict(a); ok {
		if bi, ok := toInt64Strict(b); ok {
			return ai == bi
		}
	}
	if af, ok := toFloatStrict(a); ok {
		bf, ok := toFloatStrict(b)
		return ok && af == bf
	}
	return reflect.DeepEqual(a, b)
}

// toInt64Strict converts a number (not a string) to int64 when integral.
func toInt64Strict(v any) (int64, bool) {
	if _, isString := v.(string); isString {
		return 0, false
	}
	return toInt64(v)
}

// toFloatStrict converts a number (not a string) to float64.
func toFloatStrict(v any) (float64, bool) {
	if _, isString := v.(string); isString {
		return 0, false
	}
	return toFloat64(v)
}

// evalCond evaluates a condition compiled relative to one element of a
// multi-valued attribute against that element (a map, or a scalar for a
// simple attribute). It follows the semantics of licensing.Compare.
func evalCond(c licensing.Cond, v any) bool {
	switch c := c.(type) {
	case licensing.And:
		return !slices.ContainsFunc(c, func(x licensing.Cond) bool { return !evalCond(x, v) })
	case licensing.Or:
		return slices.ContainsFunc(c, func(x licensing.Cond) bool { return evalCond(x, v) })
	case licensing.Not:
		return !evalCond(c.Cond, v)
	case licensing.Any:
		got, _ := valueAt(v, c.Attr.Path)
		list, _ := listValue(got)
		return slices.ContainsFunc(list, func(e any) bool { return evalCond(c.Cond, e) })
	case licensing.Compare:
		got, ok := valueAt(v, c.Attr.Path)
		return evalCompare(c, got, ok && !isEmptyValue(got))
	default:
		return false
	}
}

// valueAt follows a path of names (case-insensitively) into v.
func valueAt(v any, path []string) (any, bool) {
	for _, name := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if _, v, ok = lookupKey(m, name); !ok {
			return nil, false
		}
	}
	return v, true
}

// evalCompare evaluates one comparison against the value found.
func evalCompare(c licensing.Compare, got any, present bool) bool {
	if c.Op == licensing.OpPr {
		return present
	}
	if !present {
		return c.Op == licensing.OpNe
	}
	var cmp int
	switch c.Attr.Kind {
	case licensing.KindString:
		s, ok1 := got.(string)
		want, ok2 := c.Value.(string)
		if !ok1 || !ok2 {
			return c.Op == licensing.OpNe
		}
		if !c.Attr.CaseExact {
			s, want = strings.ToLower(s), strings.ToLower(want)
		}
		switch c.Op {
		case licensing.OpCo:
			return strings.Contains(s, want)
		case licensing.OpSw:
			return strings.HasPrefix(s, want)
		case licensing.OpEw:
			return strings.HasSuffix(s, want)
		}
		cmp = strings.Compare(s, want)
	case licensing.KindBool:
		b, ok := coerceBool(got)
		want, _ := c.Value.(bool)
		switch {
		case !ok:
			return c.Op == licensing.OpNe
		case c.Op == licensing.OpEq:
			return b == want
		case c.Op == licensing.OpNe:
			return b != want
		}
		return false
	case licensing.KindInt, licensing.KindDecimal:
		f, ok1 := toFloat64(got)
		want, ok2 := toFloat64(c.Value)
		if !ok1 || !ok2 {
			return c.Op == licensing.OpNe
		}
		switch {
		case f < want:
			cmp = -1
		case f > want:
			cmp = 1
		}
	case licensing.KindDateTime:
		s, _ := got.(string)
		t, err := time.Parse(time.RFC3339Nano, s)
		want, ok := c.Value.(time.Time)
		if err != nil || !ok {
			return c.Op == licensing.OpNe
		}
		cmp = t.Compare(want)
	default:
		return false
	}
	switch c.Op {
	case licensing.OpEq:
		return cmp == 0
	case licensing.OpNe:
		return cmp != 0
	case licensing.OpGt:
		return cmp > 0
	case licensing.OpGe:
		return cmp >= 0
	case licensing.OpLt:
		return cmp < 0
	case licensing.OpLe:
		return cmp <= 0
	}
	return false
}

// coerceBool reads a stored boolean, accepting "true"/"false" strings.
func coerceBool(v any) (bool, bool) {
	switch b := v.(type) {
	case bool:
		return b, true
	case string:
		switch strings.ToLower(b) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}

// managerURN is the path of the enterprise extension's manager attribute.
const managerURN = schemas.EnterpriseURN + ":manager"

// rewriteEntraManager rewrites the manager operations Microsoft Entra ID
// sends, which elimity rejects because manager is a complex attribute,
// into ones it accepts:
//
//   - {"op":"Replace","path":"urn:...:enterprise:2.0:User:manager","value":"<id>"}
//     (also a one-element list, as Entra sometimes sends) gets the value
//     {"value":"<id>"};
//   - the same with the value "", null, [] or {"value":""} becomes
//     {"op":"remove","path":"urn:...:manager"}, clearing the manager;
//   - in a path-less add or replace, a "urn:...:enterprise:2.0:User:manager"
//     key, or a "manager" key inside a "urn:...:enterprise:2.0:User"
//     object, is rewritten the same way; a clearing one is taken out of
//     the map and followed by a remove operation.
//
// Op names and URNs compare case-insensitively. A body with nothing to
// rewrite is returned as is, byte for byte. A body that is not JSON is an
// invalidSyntax request error.
func rewriteEntraManager(body []byte) ([]byte, error) {
	return rewriteOperations(body, func(op map[string]json.RawMessage, keys opKeys) ([]map[string]json.RawMessage, bool) {
		kind := strings.ToLower(keys.op(op))
		path := keys.path(op)
		// Entra also names the manager without its URN ("manager"),
		// which the core User schema does not have.
		bare := strings.EqualFold(path, "manager")
		isManager := bare || strings.EqualFold(path, managerURN)
		if kind == patchRemove {
			// Entra removes the manager with its value as a list, which
			// elimity rejects for a complex attribute: drop the value.
			if !isManager || (!bare && keys.valueKey == "") {
				return nil, false
			}
			return []map[string]json.RawMessage{removeOp(managerURN)}, true
		}
		if kind != patchAdd && kind != patchReplace {
			return nil, false
		}
		if path != "" {
			if !isManager {
				return nil, false
			}
			v, clearIt, ok := managerValue(op[keys.valueKey])
			switch {
			case !ok && !bare:
				return nil, false
			case !ok:
				v = op[keys.valueKey]
			case clearIt:
				return []map[string]json.RawMessage{removeOp(managerURN)}, true
			}
			op[keys.valueValueKey()] = v
			op[keys.pathKey] = mustMarshal(managerURN)
			return []map[string]json.RawMessage{op}, true
		}
		var obj map[string]json.RawMessage
		if raw, ok := op[keys.valueKey]; !ok || json.Unmarshal(raw, &obj) != nil || obj == nil {
			return nil, false
		}
		var removals []map[string]json.RawMessage
		changed := false
		for k, raw := range obj {
			switch {
			case strings.EqualFold(k, managerURN):
				v, clearIt, ok := managerValue(raw)
				switch {
				case !ok:
				case clearIt:
					delete(obj, k)
					removals = append(removals, removeOp(k))
					changed = true
				default:
					obj[k] = v
					changed = true
				}
			case strings.EqualFold(k, schemas.EnterpriseURN):
				var ext map[string]json.RawMessage
				if json.Unmarshal(raw, &ext) != nil || ext == nil {
					continue
				}
				extChanged := false
				for ek, eraw := range ext {
					if !strings.EqualFold(ek, "manager") {
						continue
					}
					v, clearIt, ok := managerValue(eraw)
					switch {
					case !ok:
					case clearIt:
						delete(ext, ek)
						removals = append(removals, removeOp(k+":"+ek))
						extChanged = true
					default:
						ext[ek] = v
						extChanged = true
					}
				}
				if extChanged {
					changed = true
					if len(ext) == 0 {
						delete(obj, k)
					} else {
						obj[k] = mustMarshal(ext)
					}
				}
			}
		}
		if !changed {
			return nil, false
		}
		slices.SortFunc(removals, func(a, b map[string]json.RawMessage) int {
			return strings.Compare(string(a["path"]), string(b["path"]))
		})
		if len(obj) == 0 {
			return removals, true
		}
		op[keys.valueKey] = mustMarshal(obj)
		return append([]map[string]json.RawMessage{op}, removals...), true
	})
}

// managerValue rewrites one value Entra sends for manager: a non-empty
// string or a one-element list becomes {"value": ...}; "", null, [] and
// {"value":""} mean clearing it. ok is false for values to leave alone.
func managerValue(raw json.RawMessage) (v json.RawMessage, clearIt bool, ok bool) {
	var x any
	if raw == nil || json.Unmarshal(raw, &x) != nil {
		return nil, false, false
	}
	switch x := x.(type) {
	case nil:
		return nil, true, true
	case string:
		if strings.TrimSpace(x) == "" {
			return nil, true, true
		}
		return mustMarshal(map[string]string{"value": x}), false, true
	case []any:
		var elems []json.RawMessage
		if json.Unmarshal(raw, &elems) != nil {
			return nil, false, false
		}
		switch len(elems) {
		case 0:
			return nil, true, true
		case 1:
			if v, clearIt, ok := managerValue(elems[0]); ok {
				return v, clearIt, true
			}
			return elems[0], false, true
		}
		return nil, false, false
	case map[string]any:
		for k, sv := range x {
			if strings.EqualFold(k, "value") && isEmptyValue(sv) {
				return nil, true, true
			}
		}
		return nil, false, false
	default:
		return nil, false, false
	}
}

// opKeys holds the spelling the client used for an operation's members
// (encoding/json, and so elimity, matches them case-insensitively).
type opKeys struct {
	opKey, pathKey, valueKey string
}

// findOpKeys finds the members of an operation. When a member is spelled
// several ways, the lower-case spelling wins, else the first in sorted
// order, so that the choice does not depend on map order.
func findOpKeys(op map[string]json.RawMessage) opKeys {
	pick := func(name string) string {
		if _, ok := op[name]; ok {
			return name
		}
		found := ""
		for key := range op {
			if strings.EqualFold(key, name) && (found == "" || key < found) {
				found = key
			}
		}
		return found
	}
	return opKeys{opKey: pick("op"), pathKey: pick("path"), valueKey: pick("value")}
}

// op returns the operation's name, "" when it has none.
func (k opKeys) op(op map[string]json.RawMessage) string {
	var s string
	if k.opKey != "" {
		_ = json.Unmarshal(op[k.opKey], &s)
	}
	return s
}

// path returns the operation's path, "" when it has none.
func (k opKeys) path(op map[string]json.RawMessage) string {
	var s string
	if k.pathKey != "" {
		_ = json.Unmarshal(op[k.pathKey], &s)
	}
	return s
}

// valueValueKey is the key to write the value under.
func (k opKeys) valueValueKey() string {
	if k.valueKey == "" {
		return "value"
	}
	return k.valueKey
}

// removeOp builds {"op":"remove","path":path}.
func removeOp(path string) map[string]json.RawMessage {
	return map[string]json.RawMessage{
		"op":   mustMarshal(patchRemove),
		"path": mustMarshal(path),
	}
}

// mustMarshal marshals values that cannot fail to marshal.
func mustMarshal(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("scim: marshal %T: %v", v, err))
	}
	return b
}

// rewriteOperations applies rewrite to each operation object of a PATCH
// body. rewrite returns the operations replacing the one given and
// whether it changed anything. When nothing changes the body is returned
// as is.
func rewriteOperations(body []byte, rewrite func(op map[string]json.RawMessage, keys opKeys) ([]map[string]json.RawMessage, bool)) ([]byte, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil || top == nil {
		return nil, errInvalidSyntax("The PATCH body is not a JSON object.")
	}
	opsKey := ""
	for k := range top {
		if strings.EqualFold(k, "Operations") {
			opsKey = k
		}
	}
	var ops []json.RawMessage
	if opsKey == "" || json.Unmarshal(top[opsKey], &ops) != nil {
		return body, nil
	}
	out := make([]json.RawMessage, 0, len(ops))
	changed := false
	for _, raw := range ops {
		var op map[string]json.RawMessage
		if json.Unmarshal(raw, &op) != nil || op == nil {
			out = append(out, raw)
			continue
		}
		replacement, did := rewrite(op, findOpKeys(op))
		if !did {
			out = append(out, raw)
			continue
		}
		changed = true
		for _, r := range replacement {
			out = append(out, mustMarshal(r))
		}
	}
	if !changed {
		return body, nil
	}
	top[opsKey] = mustMarshal(out)
	return mustMarshal(top), nil
}

// normalizePatchBody rewrites a raw PATCH body into shapes elimity
// accepts, before elimity parses it. It applies rewriteEntraManager when
// rt has the enterprise extension, and:
//
//   - spells schema URNs canonically in paths and path-less keys
//     (elimity compares URNs case-sensitively);
//   - turns an add or replace whose path is a whole extension URN into a
//     path-less one with {"<URN>": value}, and a remove of a whole
//     extension into a remove of each of its attributes;
//   - turns an add or replace whose path is the core schema URN into a
//     path-less one.
//
// Path-less maps keyed by dotted or URN attribute paths need no rewrite:
// elimity accepts them and applyPatch applies them. A body with nothing
// to rewrite is returned as is, byte for byte; one that is not JSON is an
// invalidSyntax request error.
func normalizePatchBody(body []byte, rt schemas.Resource) ([]byte, error) {
	if _, ok := rt.Extension(schemas.EnterpriseURN); ok {
		var err error
		if body, err = rewriteEntraManager(body); err != nil {
			return nil, err
		}
	}
	return rewriteOperations(body, func(op map[string]json.RawMessage, keys opKeys) ([]map[string]json.RawMessage, bool) {
		kind := strings.ToLower(keys.op(op))
		path := keys.path(op)
		if path != "" {
			if ext, ok := rt.Extension(path); ok {
				switch kind {
				case patchAdd, patchReplace:
					if !isJSONObject(op[keys.valueKey]) {
						return nil, false
					}
					delete(op, keys.pathKey)
					value, _ := withoutSchemasKey(op[keys.valueKey])
					op[keys.valueKey] = mustMarshal(map[string]json.RawMessage{ext.ID: value})
					return []map[string]json.RawMessage{op}, true
				case patchRemove:
					var out []map[string]json.RawMessage
					for _, a := range ext.Attributes {
						out = append(out, removeOp(ext.ID+":"+a.Name()))
					}
					return out, len(out) > 0
				}
				return nil, false
			}
			if strings.EqualFold(path, rt.Core.ID) {
				if (kind == patchAdd || kind == patchReplace) && isJSONObject(op[keys.valueKey]) {
					delete(op, keys.pathKey)
					return []map[string]json.RawMessage{op}, true
				}
				return nil, false
			}
			if canonical := canonicalSchemaPrefix(rt, path); canonical != path {
				op[keys.pathKey] = mustMarshal(canonical)
				return []map[string]json.RawMessage{op}, true
			}
			return nil, false
		}
		if kind != patchAdd && kind != patchReplace {
			return nil, false
		}
		var obj map[string]json.RawMessage
		if raw, ok := op[keys.valueKey]; !ok || json.Unmarshal(raw, &obj) != nil || obj == nil {
			return nil, false
		}
		renamed := make(map[string]json.RawMessage, len(obj))
		changed := false
		for k, v := range obj {
			canonical := canonicalSchemaPrefix(rt, k)
			if strings.EqualFold(k, rt.Core.ID) {
				canonical = rt.Core.ID
			} else if ext, ok := rt.Extension(k); ok {
				canonical = ext.ID
				if stripped, did := withoutSchemasKey(v); did {
					v, changed = stripped, true
				}
			}
			if _, dup := renamed[canonical]; dup {
				return nil, false
			}
			renamed[canonical] = v
			changed = changed || canonical != k
		}
		if !changed {
			return nil, false
		}
		op[keys.valueKey] = mustMarshal(renamed)
		return []map[string]json.RawMessage{op}, true
	})
}

// canonicalSchemaPrefix spells the schema URN prefix of an attribute path
// as rt's schemas do; other paths are returned as they are.
func canonicalSchemaPrefix(rt schemas.Resource, path string) string {
	uri, rest := splitSchemaPrefix(rt, path)
	if uri == "" {
		return path
	}
	return uri + ":" + rest
}

// isJSONObject reports whether raw is a JSON object.
func isJSONObject(raw json.RawMessage) bool {
	var obj map[string]json.RawMessage
	return raw != nil && json.Unmarshal(raw, &obj) == nil && obj != nil
}
