package scim

import (
	"strings"

	"github.com/elimity-com/scim/schema"
	filter "github.com/scim2/filter-parser/v2"

	"github.com/scimd/scimd/licensing"
)

// This file resolves a PATCH path (RFC 7644 section 3.5.2) against the
// resource type into a patchTarget: the schema and attribute it names,
// the compiled value filter and the sub-attribute it ends at.

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
