package scim

import (
	"encoding/json"
	"slices"
	"strconv"
	"unicode/utf8"
)

// appendJSON appends v to buf as json.Marshal encodes it, byte for byte,
// for the JSON-like values the adapter builds its answers from (maps with
// string keys, lists, strings, booleans, integers, nil): keys sorted,
// strings escaped as encoding/json escapes them (HTML characters, U+2028
// and U+2029, invalid UTF-8 as U+FFFD). It walks those values without
// reflection, which made a list answer of a user in 50 groups twice as
// slow to encode with json.Marshal; any other value (a struct, a float, a
// raw message) is handed to json.Marshal. FuzzEncodeJSON holds it to
// json.Marshal's output.
func appendJSON(buf []byte, v any) ([]byte, error) {
	var err error
	switch v := v.(type) {
	case nil:
		return append(buf, "null"...), nil
	case string:
		return appendJSONString(buf, v), nil
	case bool:
		return strconv.AppendBool(buf, v), nil
	case int:
		return strconv.AppendInt(buf, int64(v), 10), nil
	case int64:
		return strconv.AppendInt(buf, v, 10), nil
	case map[string]any:
		if v == nil {
			return append(buf, "null"...), nil
		}
		var small [8]string // most objects have few keys: no allocation
		keys := small[:0]
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		buf = append(buf, '{')
		for i, k := range keys {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendJSONString(buf, k)
			buf = append(buf, ':')
			if buf, err = appendJSON(buf, v[k]); err != nil {
				return nil, err
			}
		}
		return append(buf, '}'), nil
	case []any:
		if v == nil {
			return append(buf, "null"...), nil
		}
		return appendElements(buf, v)
	case []string:
		if v == nil {
			return append(buf, "null"...), nil
		}
		buf = append(buf, '[')
		for i, e := range v {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendJSONString(buf, e)
		}
		return append(buf, ']'), nil
	case []map[string]any:
		if v == nil {
			return append(buf, "null"...), nil
		}
		return appendElements(buf, v)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(buf, b...), nil
}

// appendElements appends a list of values appendJSON encodes.
func appendElements[T any](buf []byte, list []T) ([]byte, error) {
	var err error
	buf = append(buf, '[')
	for i, e := range list {
		if i > 0 {
			buf = append(buf, ',')
		}
		if buf, err = appendJSON(buf, e); err != nil {
			return nil, err
		}
	}
	return append(buf, ']'), nil
}

// appendJSONString appends s as a JSON string, escaped as encoding/json
// escapes it with HTML escaping on.
func appendJSONString(buf []byte, s string) []byte {
	const hex = "0123456789abcdef"
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch b {
			case '"', '\\':
				buf = append(buf, '\\', b)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			case '\b':
				buf = append(buf, '\\', 'b')
			case '\f':
				buf = append(buf, '\\', 'f')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}
