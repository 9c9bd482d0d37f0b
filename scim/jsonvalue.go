package scim

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// This file holds the helpers for the JSON-like values the adapter
// passes around (map[string]any objects, lists of any slice type,
// strings, bools and numbers of any Go type): emptiness as RFC 7643
// section 2.5 defines it, case-insensitive key lookup, equality by value,
// deep copies and marshalling.

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

// mustMarshal marshals values that cannot fail to marshal.
func mustMarshal(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("scim: marshal %T: %v", v, err))
	}
	return b
}

// listValue returns the elements of a JSON-like list ([]any, []map[string]any
// or []string) as []any; ok is false for other values. The elements are
// shared, not copied.
func listValue(v any) ([]any, bool) {
	switch l := v.(type) {
	case []any:
		return l, true
	case []map[string]any:
		out := make([]any, len(l))
		for i, e := range l {
			out[i] = e
		}
		return out, true
	case []string:
		out := make([]any, len(l))
		for i, e := range l {
			out[i] = e
		}
		return out, true
	default:
		return nil, false
	}
}

// deepCopyValue copies a JSON-like value (maps, lists and scalars) so that
// changing the copy cannot change the original. Lists keep their Go type.
func deepCopyValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = deepCopyValue(e)
		}
		return out
	case []any:
		if v == nil {
			return v
		}
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = deepCopyValue(e)
		}
		return out
	case []map[string]any:
		if v == nil {
			return v
		}
		out := make([]map[string]any, len(v))
		for i, e := range v {
			out[i], _ = deepCopyValue(e).(map[string]any)
		}
		return out
	case []string:
		if v == nil {
			return v
		}
		return append([]string(nil), v...)
	default:
		return v
	}
}
