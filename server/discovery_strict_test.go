package server_test

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/scimd/scimd/internal/testenv"
)

// This file reads the discovery answers as a strict RFC 7643 client does
// (one that rejects any attribute it does not know, such as Python's
// scim2-models): the attribute sets below are RFC 7643's, written out here
// rather than taken from scimd's schemas, so that the test cannot agree
// with a mistake of the server.

const spcURN = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"

// rfc7643SPC lists the ServiceProviderConfig attributes of RFC 7643
// section 5 with their sub-attributes (authenticationSchemes' primary as
// section 8.5 shows it), and whether each is required.
var rfc7643SPC = map[string]struct {
	required bool
	subs     []string
}{
	"documentationUri":      {false, nil},
	"patch":                 {true, []string{"supported"}},
	"bulk":                  {true, []string{"supported", "maxOperations", "maxPayloadSize"}},
	"filter":                {true, []string{"supported", "maxResults"}},
	"changePassword":        {true, []string{"supported"}},
	"sort":                  {true, []string{"supported"}},
	"etag":                  {true, []string{"supported"}},
	"authenticationSchemes": {true, []string{"type", "name", "description", "specUri", "documentationUri", "primary"}},
}

// rfc7643Common are the attributes of RFC 7643 section 3.1 every resource
// may have, with meta's sub-attributes.
var rfc7643Common = map[string][]string{
	"schemas": nil, "id": nil,
	"meta": {"resourceType", "created", "lastModified", "location", "version"},
}

// rfc7643Integers are the ServiceProviderConfig sub-attributes RFC 7643
// types as integers.
var rfc7643Integers = []string{"bulk.maxOperations", "bulk.maxPayloadSize", "filter.maxResults"}

// rfc9865Pagination lists the sub-attributes of RFC 9865's pagination and
// their types.
var rfc9865Pagination = map[string]string{
	"cursor": "boolean", "index": "boolean", "defaultPaginationMethod": "string",
	"defaultPageSize": "integer", "maxPageSize": "integer", "cursorTimeout": "integer",
}

// strictProblems returns what a strict client would reject in a resource:
// a top-level attribute outside allowed (and the common attributes) that
// is not an extension URN listed in schemas[], a sub-attribute outside
// allowed's list for it, and a missing required attribute.
func strictProblems(res map[string]any, allowed map[string]struct {
	required bool
	subs     []string
}) []string {
	var problems []string
	declared := map[string]bool{}
	if list, ok := res["schemas"].([]any); ok {
		for _, s := range list {
			if s, ok := s.(string); ok {
				declared[strings.ToLower(s)] = true
			}
		}
	} else {
		problems = append(problems, "no schemas array")
	}
	for key, value := range res {
		if strings.HasPrefix(strings.ToLower(key), "urn:") {
			if !declared[strings.ToLower(key)] {
				problems = append(problems, fmt.Sprintf("%s: an extension not listed in schemas", key))
			}
			continue
		}
		subs, common := rfc7643Common[key]
		if a, ok := allowed[key]; ok {
			subs = a.subs
		} else if !common {
			problems = append(problems, fmt.Sprintf("%s: not an RFC 7643 attribute", key))
			continue
		}
		for _, obj := range objects(value) {
			for sub := range obj {
				if !slices.Contains(subs, sub) {
					problems = append(problems, fmt.Sprintf("%s.%s: not an RFC 7643 sub-attribute", key, sub))
				}
			}
		}
	}
	for key, a := range allowed {
		if _, ok := res[key]; a.required && !ok {
			problems = append(problems, fmt.Sprintf("%s: required but missing", key))
		}
	}
	sort.Strings(problems)
	return problems
}

// objects returns the objects of a complex value: itself, or the elements
// of a multi-valued one.
func objects(v any) []map[string]any {
	switch v := v.(type) {
	case map[string]any:
		return []map[string]any{v}
	case []any:
		var out []map[string]any
		for _, e := range v {
			if m, ok := e.(map[string]any); ok {
				out = append(out, m)
			}
		}
		return out
	}
	return nil
}

func isInteger(v any) bool {
	f, ok := v.(float64)
	return ok && f == math.Trunc(f)
}

func TestServiceProviderConfigReadsAsRFC7643(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			h := newHarness(t, b.Open(t))
			_, bearer := h.account(t)
			get := func(path string) map[string]any {
				t.Helper()
				status, _, raw := send(t, "GET", h.url+path, bearer, "", "")
				if status != 200 {
					t.Fatalf("GET %s: %d %s", path, status, raw)
				}
				return decodeObject(t, path, raw)
			}

			spc := get("/ServiceProviderConfig")
			if problems := strictProblems(spc, rfc7643SPC); len(problems) > 0 {
				t.Errorf("the default ServiceProviderConfig is not a plain RFC 7643 document:\n  %s\n%v", strings.Join(problems, "\n  "), spc)
			}
			for _, path := range rfc7643Integers {
				feature, sub, _ := strings.Cut(path, ".")
				if v := spc[feature].(map[string]any)[sub]; !isInteger(v) {
					t.Errorf("%s = %v, want an integer", path, v)
				}
			}

			// RFC 9865's part, where docs/scim.md says it is.
			paged := get("/ServiceProviderConfig?attributes=pagination")
			pagination, ok := paged["pagination"].(map[string]any)
			if !ok {
				t.Fatalf("?attributes=pagination has no pagination: %v", paged)
			}
			want := map[string]any{"cursor": true, "index": true, "defaultPaginationMethod": "index", "defaultPageSize": 100.0, "maxPageSize": 200.0}
			for k, v := range want {
				if pagination[k] != v {
					t.Errorf("pagination.%s = %v, want %v", k, pagination[k], v)
				}
			}
			if _, ok := paged["patch"]; ok {
				t.Errorf("?attributes=pagination answered attributes not asked for: %v", paged)
			}
			both := get("/ServiceProviderConfig?attributes=filter,pagination.maxPageSize")
			if both["filter"] == nil || fmt.Sprint(both["pagination"]) != "map[maxPageSize:200]" {
				t.Errorf("?attributes=filter,pagination.maxPageSize answered %v", both)
			}
			if excluded := get("/ServiceProviderConfig?excludedAttributes=sort"); excluded["sort"] != nil || excluded["pagination"] != nil || excluded["patch"] == nil {
				t.Errorf("?excludedAttributes=sort answered %v", excluded)
			}

			// /Schemas describes what the answers hold: every attribute
			// of the full document, pagination returned on request.
			described := get("/Schemas/" + spcURN)
			attrs := map[string]map[string]any{}
			for _, a := range objects(described["attributes"]) {
				attrs[a["name"].(string)] = a
			}
			for key, value := range paged {
				spc[key] = value
			}
			for key, value := range spc {
				if _, common := rfc7643Common[key]; common {
					continue
				}
				a, ok := attrs[key]
				if !ok {
					t.Errorf("/Schemas does not describe the ServiceProviderConfig attribute %s", key)
					continue
				}
				subs := map[string]map[string]any{}
				for _, s := range objects(a["subAttributes"]) {
					subs[s["name"].(string)] = s
				}
				for _, obj := range objects(value) {
					for sub := range obj {
						if subs[sub] == nil {
							t.Errorf("/Schemas does not describe %s.%s", key, sub)
						}
					}
				}
			}
			for name, a := range attrs {
				wantReturned := "default"
				if name == "pagination" {
					wantReturned = "request"
				}
				if a["returned"] != wantReturned || a["mutability"] != "readOnly" {
					t.Errorf("/Schemas: %s returned %v, mutability %v; want %s, readOnly", name, a["returned"], a["mutability"], wantReturned)
				}
			}
			for _, path := range rfc7643Integers {
				feature, sub, _ := strings.Cut(path, ".")
				for _, s := range objects(attrs[feature]["subAttributes"]) {
					if s["name"] == sub && s["type"] != "integer" {
						t.Errorf("/Schemas: %s is of type %v, want integer", path, s["type"])
					}
				}
			}
			for _, s := range objects(attrs["pagination"]["subAttributes"]) {
				if name := s["name"].(string); rfc9865Pagination[name] != s["type"] {
					t.Errorf("/Schemas: pagination.%s is of type %v, want %q", name, s["type"], rfc9865Pagination[name])
				}
			}
			listed := false
			for _, res := range objects(get("/Schemas")["Resources"]) {
				if res["id"] == spcURN {
					listed = fmt.Sprint(res) == fmt.Sprint(described)
				}
			}
			if !listed {
				t.Error("the /Schemas list does not hold the ServiceProviderConfig schema /Schemas/" + spcURN + " answers")
			}
		})
	}
}

// rfc7643ResourceType and rfc7643Schema are the attributes of RFC 7643
// sections 6 and 7 (with an attribute definition's characteristics).
var (
	rfc7643ResourceType = map[string]struct {
		required bool
		subs     []string
	}{
		"name": {true, nil}, "description": {false, nil}, "endpoint": {true, nil}, "schema": {true, nil},
		"schemaExtensions": {false, []string{"schema", "required"}},
	}
	rfc7643Characteristics = []string{"name", "type", "multiValued", "description", "required", "canonicalValues",
		"caseExact", "mutability", "returned", "uniqueness", "referenceTypes", "subAttributes"}
	rfc7643Schema = map[string]struct {
		required bool
		subs     []string
	}{
		"name": {false, nil}, "description": {false, nil}, "attributes": {true, rfc7643Characteristics},
	}
	rfc7643Values = map[string][]string{
		"type":       {"string", "boolean", "decimal", "integer", "dateTime", "binary", "reference", "complex"},
		"mutability": {"readOnly", "readWrite", "immutable", "writeOnly"},
		"returned":   {"always", "never", "default", "request"},
		"uniqueness": {"none", "server", "global"},
	}
)

func TestResourceTypesAndSchemasReadAsRFC7643(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			h := newHarness(t, b.Open(t))
			_, bearer := h.account(t)
			for _, c := range []struct {
				path    string
				allowed map[string]struct {
					required bool
					subs     []string
				}
			}{{"/ResourceTypes", rfc7643ResourceType}, {"/Schemas", rfc7643Schema}} {
				_, _, raw := send(t, "GET", h.url+c.path, bearer, "", "")
				list := decodeObject(t, c.path, raw)
				for key := range list {
					if !slices.Contains([]string{"schemas", "totalResults", "itemsPerPage", "startIndex", "Resources"}, key) {
						t.Errorf("%s: %s is not an attribute of an RFC 7644 list response", c.path, key)
					}
				}
				for _, res := range objects(list["Resources"]) {
					if problems := strictProblems(res, c.allowed); len(problems) > 0 {
						t.Errorf("%s %v:\n  %s", c.path, res["id"], strings.Join(problems, "\n  "))
					}
					for key, value := range res {
						if l, ok := value.([]any); ok && len(l) == 0 {
							t.Errorf("%s %v: %s is an empty array, not omitted", c.path, res["id"], key)
						}
					}
					checkCharacteristics(t, fmt.Sprint(res["id"]), objects(res["attributes"]))
				}
			}
		})
	}
}

// checkCharacteristics checks that each attribute definition has only RFC
// 7643 section 7 characteristics, with values from the RFC's lists.
func checkCharacteristics(t *testing.T, where string, attrs []map[string]any) {
	t.Helper()
	for _, a := range attrs {
		for k, v := range a {
			if !slices.Contains(rfc7643Characteristics, k) {
				t.Errorf("%s: attribute %v has %s, not an RFC 7643 characteristic", where, a["name"], k)
			}
			if values, ok := rfc7643Values[k]; ok && !slices.Contains(values, fmt.Sprint(v)) {
				t.Errorf("%s: attribute %v has %s %v", where, a["name"], k, v)
			}
		}
		checkCharacteristics(t, where, objects(a["subAttributes"]))
	}
}
