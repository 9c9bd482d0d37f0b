package scim

import (
	"encoding/json"
	"regexp"
	"strings"

	"github.com/scimd/scimd/schemas"
)

// This file rewrites Microsoft Entra's SingleAppRoleAssignment shape
// before elimity sees it. With the expression
// SingleAppRoleAssignment([appRoleAssignments]) mapped to the target
// attribute roles[primary eq "True"].value, Entra sends the user's one app
// role as a bare string under that path: a PATCH operation
// {"op":"Replace","path":"roles[primary eq \"True\"].value","value":"Admin"}
// and, in a POST or PUT body, the same path as a key. elimity would refuse
// the filter's string "True" for the boolean primary, and a replace whose
// filter matches no role (the user's first) has no target; so both become
// what they mean: the user's roles are that one primary role.

// singleRolePath matches roles[primary eq "True"].value, with or without
// the core schema URN, the quotes and in any case and spacing.
var singleRolePath = regexp.MustCompile(`(?i)^\s*(?:` + regexp.QuoteMeta(schemas.UserURN) + `:)?roles\s*\[\s*primary\s+eq\s+"?true"?\s*\]\s*\.\s*value\s*$`)

// singleRole is the roles value that a SingleAppRoleAssignment value
// stands for: [{"value": v, "primary": true}], or [] for "" or null (no
// role). ok is false when raw is not a string or null.
func singleRole(raw json.RawMessage) (json.RawMessage, bool) {
	var v *string
	if json.Unmarshal(raw, &v) != nil {
		return nil, false
	}
	if v == nil || strings.TrimSpace(*v) == "" {
		return json.RawMessage(`[]`), true
	}
	return mustMarshal([]map[string]any{{"value": *v, "primary": true}}), true
}

// rewriteSingleAppRole turns an add or replace of
// roles[primary eq "True"].value with a string into a replace of roles
// with that one primary role, and a remove of that path into a replace of
// roles with none (the expression gives a user one role at most). ok is
// false for any other operation.
func rewriteSingleAppRole(op map[string]json.RawMessage, keys opKeys) ([]map[string]json.RawMessage, bool) {
	if !singleRolePath.MatchString(keys.path(op)) {
		return nil, false
	}
	switch strings.ToLower(keys.op(op)) {
	case patchAdd, patchReplace:
		roles, ok := singleRole(op[keys.valueKey])
		if !ok {
			return nil, false
		}
		return []map[string]json.RawMessage{{"op": mustMarshal(patchReplace), "path": mustMarshal("roles"), "value": roles}}, true
	case patchRemove:
		return []map[string]json.RawMessage{{"op": mustMarshal(patchReplace), "path": mustMarshal("roles"), "value": json.RawMessage(`[]`)}}, true
	}
	return nil, false
}

// normalizeSingleAppRole rewrites a POST or PUT body's
// roles[primary eq "True"].value key into roles holding that one primary
// role (besides the body's other roles, which lose their primary mark).
// A body without such a key, or one that is not a JSON object, is
// returned as is.
func normalizeSingleAppRole(body []byte) []byte {
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil || top == nil {
		return body
	}
	for _, key := range sortedKeys(top) {
		if !singleRolePath.MatchString(key) {
			continue
		}
		roles, ok := singleRole(top[key])
		if !ok {
			return body
		}
		delete(top, key)
		var single, others []map[string]any
		_ = json.Unmarshal(roles, &single)
		for k, raw := range top {
			if strings.EqualFold(k, "roles") {
				_ = json.Unmarshal(raw, &others)
				delete(top, k)
			}
		}
		for _, r := range others {
			delete(r, "primary")
		}
		top["roles"] = mustMarshal(append(single, others...))
		return mustMarshal(top)
	}
	return body
}
