package scim

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/elimity-com/scim"
	"github.com/elimity-com/scim/schema"

	"github.com/scimd/scimd/schemas"
)

// This file applies SCIM PATCH operations (RFC 7644 section 3.5.2) to a
// resource representation: applyPatch, the patcher that runs each
// operation, with or without a path, against the object holding its
// target, and the checks over the whole result (mutability, required
// attributes, extensions left empty). Its neighbours do the rest:
// patch_path.go resolves paths, patch_attribute.go computes an
// attribute's new value, patch_lists.go changes long lists in place,
// elements.go identifies elements, coerce.go coerces values,
// filter_eval.go evaluates value filters, multivalued.go keeps one
// primary, and patch_rewrite.go rewrites the body before elimity parses
// it.
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
// Shapes elimity rejects before the handler are rewritten by
// normalizePatchBody (patch_rewrite.go).

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
		next, nextPresent, err = nextFiltered(kind, t, cur, present, value)
	case t.sub != nil && t.attr.MultiValued():
		next, nextPresent, err = nextSubOfEach(kind, t, cur, present, value)
	case t.sub != nil:
		next, nextPresent, err = nextSubOfOne(kind, t, cur, present, value)
	default:
		next, nextPresent, err = nextWhole(kind, t, cur, present, value)
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
