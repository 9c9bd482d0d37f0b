package scim

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"
)

// This file holds what normalizePatchBody forgives in a PATCH value that
// RFC 7644 lets a server accept (issue 11, item 3).

// withoutSchemasKey returns the JSON object raw without its "schemas"
// member (in any case), and whether it had one. A client that builds the
// value of a path naming a whole schema (an extension URN, or an object
// keyed by it in a path-less value) from a resource representation
// copies the schemas along; they say nothing an operation can apply, the
// path already names the schema, so they are ignored rather than refused
// as an unknown attribute. raw that is not an object is returned as is.
func withoutSchemasKey(raw json.RawMessage) (json.RawMessage, bool) {
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil || obj == nil {
		return raw, false
	}
	found := false
	for k := range obj {
		if strings.EqualFold(k, "schemas") {
			delete(obj, k)
			found = true
		}
	}
	if !found {
		return raw, false
	}
	return mustMarshal(obj), true
}

// nullsAsRemoves rewrites the PATCH operations that assign null into
// removes (RFC 7643 section 2.5: assigning null unassigns the attribute).
// An add or replace with a path and a null value becomes a remove of that
// path; a path-less add or replace loses its null members, each becoming
// a remove of its key, after the operation holding the rest (which is
// dropped when nothing is left). Nulls nested deeper are left to the
// operation as they are. A body with no null to rewrite is returned as is.
func nullsAsRemoves(body []byte) ([]byte, error) {
	return rewriteOperations(body, func(op map[string]json.RawMessage, keys opKeys) ([]map[string]json.RawMessage, bool) {
		kind := strings.ToLower(keys.op(op))
		if (kind != patchAdd && kind != patchReplace) || keys.valueKey == "" {
			return nil, false
		}
		if path := keys.path(op); path != "" {
			if !isJSONNull(op[keys.valueKey]) {
				return nil, false
			}
			return []map[string]json.RawMessage{removeOp(path)}, true
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(op[keys.valueKey], &obj) != nil || obj == nil {
			return nil, false
		}
		var nulls []string
		for k, v := range obj {
			if isJSONNull(v) {
				nulls = append(nulls, k)
			}
		}
		if len(nulls) == 0 {
			return nil, false
		}
		sort.Strings(nulls)
		var out []map[string]json.RawMessage
		for _, k := range nulls {
			delete(obj, k)
		}
		if len(obj) > 0 {
			op[keys.valueKey] = mustMarshal(obj)
			out = append(out, op)
		}
		for _, k := range nulls {
			out = append(out, removeOp(k))
		}
		return out, true
	})
}

// isJSONNull reports whether raw is the JSON literal null.
func isJSONNull(raw json.RawMessage) bool {
	return string(bytes.TrimSpace(raw)) == "null"
}
