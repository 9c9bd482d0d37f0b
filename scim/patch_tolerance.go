package scim

import (
	"encoding/json"
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
