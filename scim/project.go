package scim

import (
	"strings"

	"github.com/elimity-com/scim/schema"

	"github.com/scimd/scimd/schemas"
)

// This file applies the "attributes" and "excludedAttributes" parameters
// (RFC 7644 sections 3.4.2.5 and 3.9) and the "returned" characteristic of
// RFC 7643 section 7 to a resource representation.

// selection is a set of attributes named by "attributes" or
// "excludedAttributes", resolved against a resource type. Keys are
// lower-cased: containers are "" for the core schema, commonContainer for
// the common attributes, else the extension URN.
type selection struct {
	// given is set when at least one path was listed, known or not.
	given bool
	// containers holds the containers named as a whole: an extension URN
	// alone, or the core schema URN alone.
	containers map[string]bool
	// attrs holds, per container and attribute, the selection of that
	// attribute.
	attrs map[string]map[string]*attrSelection
}

// attrSelection says which part of one attribute is named.
type attrSelection struct {
	// whole is set when the attribute itself is named.
	whole bool
	// subs holds the lower-cased sub-attributes named (name.givenName).
	subs map[string]bool
}

// commonContainer is the selection container of the common attributes
// (externalId, meta), which belong to no schema.
const commonContainer = "#common"

// containerOf returns the selection container of a top-level attribute.
func containerOf(rt schemas.Resource, ext *schema.Schema, attr schema.CoreAttribute) string {
	if ext != nil {
		return strings.ToLower(ext.ID)
	}
	if _, core := findAttribute(rt.Core.Attributes, attr.Name()); !core {
		return commonContainer
	}
	return ""
}

// lookup returns the selection of an attribute, nil when neither it nor a
// sub-attribute of it is named.
func (s selection) lookup(container, name string) *attrSelection {
	return s.attrs[strings.ToLower(container)][strings.ToLower(name)]
}

// newSelection resolves attribute paths against rt. Paths that name
// nothing the resource type has are ignored, as RFC 7644 allows.
func newSelection(rt schemas.Resource, paths []string) selection {
	if len(paths) == 0 {
		return selection{} // names nothing: its nil maps read as empty
	}
	s := selection{containers: map[string]bool{}, attrs: map[string]map[string]*attrSelection{}}
	for _, raw := range paths {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		s.given = true
		if strings.EqualFold(raw, rt.Core.ID) {
			s.containers[""] = true
			continue
		}
		if ext, ok := rt.Extension(raw); ok {
			s.containers[strings.ToLower(ext.ID)] = true
			continue
		}
		uri, rest := splitSchemaPrefix(rt, raw)
		name, sub, _ := strings.Cut(rest, ".")
		if strings.ContainsAny(name, ":[]") || strings.Contains(sub, ".") {
			continue
		}
		ext, attr, ok := resolveTopAttribute(rt, uri, name)
		if !ok {
			continue
		}
		container := containerOf(rt, ext, attr)
		if s.attrs[container] == nil {
			s.attrs[container] = map[string]*attrSelection{}
		}
		key := strings.ToLower(attr.Name())
		as := s.attrs[container][key]
		if as == nil {
			as = &attrSelection{subs: map[string]bool{}}
			s.attrs[container][key] = as
		}
		if sub == "" {
			as.whole = true
			continue
		}
		if subAttr, ok := findAttribute(attr.SubAttributes(), sub); ok {
			as.subs[strings.ToLower(subAttr.Name())] = true
		} else if len(as.subs) == 0 && !as.whole {
			// An unknown sub-attribute names nothing.
			delete(s.attrs[container], key)
		}
	}
	return s
}

// splitSchemaPrefix splits a schema URN prefix (the core schema's or an
// extension's, compared case-insensitively) from an attribute path. It
// returns an empty URI when the path has none of them.
func splitSchemaPrefix(rt schemas.Resource, path string) (uri, rest string) {
	ids := []string{rt.Core.ID}
	for _, e := range rt.Extensions {
		ids = append(ids, e.ID)
	}
	for _, id := range ids {
		if len(path) > len(id)+1 && strings.EqualFold(path[:len(id)], id) && path[len(id)] == ':' {
			return id, path[len(id)+1:]
		}
	}
	return "", path
}

// project returns the representation of res that RFC 7644 section 3.9
// asks for, without modifying res. The answer shares the values it keeps
// whole with res (an answer is built for one response and encoded at
// once): neither may be changed afterwards.
//
// res is a full representation with canonical keys: "schemas", "id",
// "externalId", "meta", the core attributes, and each extension's
// attributes in an object keyed by the extension URN. attributes and
// excluded are the comma-separated parts of the "attributes" and
// "excludedAttributes" parameters: attribute paths such as "userName",
// "name.givenName", "emails", "emails.value", URN-prefixed paths, a whole
// extension URN or the core schema URN, all case-insensitive. Unknown
// names are ignored.
//
// "schemas" and "id" (and any attribute whose returned characteristic is
// "always") are always kept; attributes returned "never" (password) never
// are, and those returned "request" only when attributes names them. When
// attributes is non-empty only the named attributes are returned;
// excluded then removes the named ones. An extension object left empty is
// dropped.
func project(res map[string]any, rt schemas.Resource, attributes, excluded []string) map[string]any {
	inc := newSelection(rt, attributes)
	exc := newSelection(rt, excluded)
	out := make(map[string]any, len(res))
	for key, value := range res {
		if strings.EqualFold(key, "schemas") || strings.EqualFold(key, "id") {
			out[key] = value
			continue
		}
		if ext, ok := rt.Extension(key); ok {
			obj, isObj := value.(map[string]any)
			if !isObj {
				if !inc.given && !exc.containers[strings.ToLower(ext.ID)] {
					out[key] = value
				}
				continue
			}
			if p := projectContainer(obj, ext.Attributes, strings.ToLower(ext.ID), inc, exc); len(p) > 0 {
				out[key] = p
			}
			continue
		}
		_, attr, known := resolveTopAttribute(rt, "", key)
		if !known {
			// Not in the schemas: returned by default like any attribute.
			if !inc.given {
				out[key] = value
			}
			continue
		}
		if v, keep := projectAttribute(value, attr, containerOf(rt, nil, attr), inc, exc); keep {
			out[key] = v
		}
	}
	return out
}

// projectContainer projects the attributes of one extension object.
func projectContainer(obj map[string]any, attrs []schema.CoreAttribute, container string, inc, exc selection) map[string]any {
	out := map[string]any{}
	for key, value := range obj {
		attr, known := findAttribute(attrs, key)
		if !known {
			if !inc.given && !exc.containers[container] {
				out[key] = value
			}
			continue
		}
		if v, keep := projectAttribute(value, attr, container, inc, exc); keep {
			out[key] = v
		}
	}
	return out
}

// projectAttribute decides whether one attribute (with its value) is
// returned and which of its sub-attributes are.
func projectAttribute(value any, attr schema.CoreAttribute, container string, inc, exc selection) (any, bool) {
	switch attr.Returned() {
	case "never":
		return nil, false
	case "always":
		return value, true
	}
	named := inc.lookup(container, attr.Name())
	excludedSel := exc.lookup(container, attr.Name())
	if exc.containers[container] || (excludedSel != nil && excludedSel.whole) {
		return nil, false
	}
	// keepSub decides for one sub-attribute; nil keeps every returnable
	// sub-attribute.
	var keepSub func(sub schema.CoreAttribute) bool
	switch {
	case inc.given && named == nil && !inc.containers[container]:
		return nil, false
	case attr.Returned() == "request" && (named == nil || (!named.whole && len(named.subs) == 0)):
		return nil, false
	case inc.given && named != nil && !named.whole && len(named.subs) > 0:
		keepSub = func(sub schema.CoreAttribute) bool { return named.subs[strings.ToLower(sub.Name())] }
	}
	if attr.AttributeType() != "complex" {
		return value, true
	}
	filterSub := func(key string) bool {
		sub, known := findAttribute(attr.SubAttributes(), key)
		switch {
		case !known:
			// Not in the schema: returned unless specific sub-attributes
			// were asked for.
			return keepSub == nil
		case sub.Returned() == "never":
			return false
		case excludedSel != nil && excludedSel.subs[strings.ToLower(sub.Name())]:
			return false
		case keepSub != nil:
			return keepSub(sub)
		case sub.Returned() == "request":
			return named != nil && named.subs[strings.ToLower(sub.Name())]
		}
		return true
	}
	return projectComplex(value, filterSub)
}

// projectComplex keeps the sub-attributes whose keys keep accepts in a
// complex value (one object, or a list of them for a multi-valued
// attribute). Objects left empty are dropped, and so is the attribute when
// nothing remains.
func projectComplex(value any, keep func(key string) bool) (any, bool) {
	keep = remembered(keep)
	one := func(v any) (any, bool) {
		obj, ok := v.(map[string]any)
		if !ok {
			return v, true
		}
		whole := true
		for k := range obj {
			if !keep(k) {
				whole = false
				break
			}
		}
		if whole {
			return obj, len(obj) > 0
		}
		out := map[string]any{}
		for k, sv := range obj {
			if keep(k) {
				out[k] = sv
			}
		}
		return out, len(out) > 0
	}
	list, isList := listValue(value)
	if !isList {
		return one(value)
	}
	out := make([]any, 0, len(list))
	for _, elem := range list {
		if v, ok := one(elem); ok {
			out = append(out, v)
		}
	}
	if len(out) == 0 && len(list) > 0 {
		return nil, false
	}
	return out, true
}

// remembered returns keep answering again from memory for the keys it
// was asked about before: the elements of a multi-valued attribute (a
// user's 50 groups) repeat the same few keys, each of which keep would
// look up among the sub-attributes again.
func remembered(keep func(key string) bool) func(key string) bool {
	var keys [8]string
	var answers [8]bool
	n := 0
	return func(key string) bool {
		for i := range n {
			if keys[i] == key {
				return answers[i]
			}
		}
		answer := keep(key)
		if n < len(keys) {
			keys[n], answers[n] = key, answer
			n++
		}
		return answer
	}
}
