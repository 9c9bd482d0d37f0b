package scim

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/scimd/scimd/schemas"
)

// This file rewrites a raw PATCH body, before elimity-com/scim parses it,
// into shapes elimity accepts (normalizePatchBody): what clients send
// that elimity rejects before the handler, and that RFC 7644 lets a
// server accept. Those shapes are a mis-cased schema URN in a path or
// path-less key; a path that is a whole extension URN (whose value may
// carry a "schemas" key, ignored: patch_tolerance.go); and Entra's
// manager forms (see rewriteEntraManager): a bare string, an empty
// string, null, or a one-element list as the value of the complex
// manager attribute. It works on JSON bytes only and knows nothing of the
// patcher.

// normalizePatchBody rewrites a raw PATCH body into shapes elimity
// accepts, before elimity parses it. It applies rewriteEntraManager when
// rt has the enterprise extension, rewriteSingleAppRole (patch_roles.go)
// to Users, and:
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
		if rt.Core.ID == schemas.UserURN {
			if out, ok := rewriteSingleAppRole(op, keys); ok {
				return out, true
			}
		}
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
						if a.Mutability() == "readOnly" {
							continue // nothing to remove: the server sets it
						}
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
