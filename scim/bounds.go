package scim

import (
	"encoding/json"

	"github.com/elimity-com/scim"
	"github.com/elimity-com/scim/schema"

	"github.com/scimd/scimd/schemas"
)

// This file bounds what one write may carry beyond the body limit: the
// operations of a PATCH and the values of a User's multi-valued
// attributes (issue 10, item 6).

// The defaults of Options.MaxPatchOperations and Options.MaxMultiValues.
const (
	defaultMaxPatchOperations = 1000
	defaultMaxMultiValues     = 100
)

// checkPatchOperations refuses, with invalidValue, a PATCH body carrying
// more than max operations, before anything parses them one by one. A
// body that is not a PATCH request is left for elimity to report.
func checkPatchOperations(body []byte, max int) error {
	var patch struct {
		Operations []json.RawMessage `json:"Operations"`
	}
	if json.Unmarshal(body, &patch) != nil {
		return nil
	}
	if n := len(patch.Operations); n > max {
		return errInvalidValue("The PATCH request has %d operations; at most %d are accepted.", n, max)
	}
	return nil
}

// checkMultiValues refuses, with invalidValue naming the attribute, a
// resource whose multi-valued attribute (of the core schema or an
// extension) holds more than max values. The read-only ones (a User's
// groups), which clients do not write, and a Group's members, bounded by
// the body limit only, are not counted.
func checkMultiValues(rt schemas.Resource, attrs scim.ResourceAttributes, max int) error {
	return eachMultiValued(rt, attrs, func(a schema.CoreAttribute, path string, values map[string]any, key string) error {
		if a.Mutability() == "readOnly" || (rt.Core.ID == schemas.GroupURN && path == "members") {
			return nil
		}
		if list, _ := listValue(values[key]); len(list) > max {
			return errInvalidValue("The attribute %q has %d values; at most %d are accepted.", path, len(list), max)
		}
		return nil
	})
}
