package scim

import (
	"slices"
	"strings"
	"time"

	"github.com/scimd/scimd/licensing"
)

// This file evaluates, in memory, the value filter of a PATCH path
// (emails[type eq "work"], members[value eq "id"]) against one element of
// a multi-valued attribute. filter.go compiles the filter into a
// licensing.Cond; evalCond gives it the meaning the store gives it in
// SQL (licensing.Compare).

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
		b, ok := storedBool(got)
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

// storedBool reads a stored boolean, accepting "true"/"false" strings.
func storedBool(v any) (bool, bool) {
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
