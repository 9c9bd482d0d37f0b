package scim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/elimity-com/scim/schema"
)

// This file coerces the values a PATCH operation carries to the type of
// the attribute they target (RFC 7643 section 2.3): strings, Entra's
// "True" and "False", numbers as JSON numbers or numeric strings, base64
// binaries, dateTimes and complex values keyed by canonical sub-attribute
// names.

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
