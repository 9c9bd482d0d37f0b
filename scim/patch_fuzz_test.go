package scim

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/elimity-com/scim"

	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/schemas"
)

// FuzzApplyPatch checks that normalizePatchBody and applyPatch never
// panic, fail only with request errors, leave the resource unchanged when
// they fail, report changed exactly when the resource changed, and end
// as they would without changing lists in place.
func FuzzApplyPatch(f *testing.F) {
	ent := schemas.EnterpriseURN
	for _, seed := range []string{
		// Okta.
		`[{"op":"replace","value":{"active":false}}]`,
		`[{"op":"replace","value":{"id":"g1","displayName":"Sales EMEA"}}]`,
		`[{"op":"add","path":"members","value":[{"value":"u3","display":"Cy"}]}]`,
		`[{"op":"remove","path":"members[value eq \"u1\"]"}]`,
		`[{"op":"replace","value":{"password":"s3cret"}}]`,
		// Entra.
		`[{"op":"Replace","value":{"` + ent + `:employeeNumber":"7","active":"False","name.familyName":"X"}}]`,
		`[{"op":"Add","path":"emails[type eq \"work\"].value","value":"a@example.com"}]`,
		`[{"op":"Replace","path":"addresses[type eq \"work\"].streetAddress","value":"1 Main St"}]`,
		`[{"op":"Replace","path":"` + ent + `:manager","value":"m1"}]`,
		`[{"op":"Replace","path":"` + ent + `:manager","value":""}]`,
		`[{"op":"Add","path":"` + ent + `:manager","value":[{"value":"m1"}]}]`,
		`[{"op":"Remove","path":"members","value":[{"value":"u1"}]}]`,
		`[{"op":"Replace","path":"active","value":"False"},{"op":"Add","path":"name.givenName","value":"B"}]`,
		`[{"op":"replace","value":{"` + ent + `":{"manager":"m2","department":"D"}}}]`,
		// RFC 7644 section 3.5.2 examples and edge cases.
		`[{"op":"add","value":{"emails":[{"value":"babs@jensen.org","type":"home"}],"nickname":"Babs"}}]`,
		`[{"op":"remove","path":"emails[type eq \"work\" and value ew \"example.com\"]"}]`,
		`[{"op":"replace","path":"addresses[type eq \"work\"]","value":{"type":"work","streetAddress":"911 Universal City Plaza","primary":true}}]`,
		`[{"op":"replace","path":"emails","value":[{"value":"x@y","primary":true},{"value":"z@y","primary":true}]}]`,
		`[{"op":"remove","path":"` + ent + `"}]`,
		`[{"op":"add","path":"` + ent + `","value":{"costCenter":"C"}}]`,
		`[{"op":"replace","path":"URN:IETF:params:scim:schemas:core:2.0:User:displayName","value":"D"}]`,
		`[{"op":"replace","path":"id","value":"other"}]`,
		`[{"op":"replace","path":"userName","value":""}]`,
		`[{"op":"remove"}]`,
		`[{"op":"move","path":"title"}]`,
		`[{"op":"replace","path":"members[value eq \"u1\"].display","value":"X"}]`,
		`[{"op":"add","path":"phoneNumbers[type eq \"mobile\" and primary eq true].value","value":"+1"}]`,
		`[{"op":"replace","path":"emails[not (type eq \"work\")].primary","value":true}]`,
		// Several operations on one list (changed in place).
		`[{"op":"add","path":"members","value":[{"value":"u3"}]},{"op":"remove","path":"members[value eq \"U1\"]"},{"op":"Remove","path":"members","value":[{"value":"u3"},{"value":"u2"}]},{"op":"add","path":"members","value":[{"value":"u1"}]}]`,
		`[{"op":"remove","path":"members[value eq \"u1\"]"},{"op":"remove","path":"members[value eq \"u1\"]"}]`,
		`[{"op":"add","path":"emails","value":[{"value":"a@x","primary":true}]},{"op":"replace","path":"emails[value eq \"a@x\"].type","value":"home"},{"op":"add","path":"emails","value":[{"value":"b@x","primary":true},{"value":"A@X"}]},{"op":"remove","path":"emails[value eq \"ann@example.com\"]"}]`,
		`[{"op":"remove","path":"emails","value":[{"value":"ann@example.com"},{"value":"ann@home.example"}]},{"op":"add","path":"emails","value":[]}]`,
	} {
		f.Add(seed, "", "", false)
		f.Add(seed, "", "", true)
	}
	// Single operations given as a path and a JSON value, so that the
	// fuzzer mutates paths directly.
	for _, seed := range []struct{ path, value string }{
		{`emails[type eq "work"].value`, `"a@example.com"`},
		{`emails[type eq "work" and primary eq true]`, `{"value":"b@example.com"}`},
		{`members[value eq "u1"]`, `null`},
		{`name.givenName`, `"Ann"`},
		{ent + `:manager.value`, `"m9"`},
		{`emails[value co "@" or primary pr].type`, `"other"`},
		{`addresses[postalCode gt "1000"].primary`, `"True"`},
	} {
		f.Add(`[]`, seed.path, seed.value, false)
		f.Add(`[]`, seed.path, seed.value, true)
	}
	user, group := schemas.User(licensing.DefaultCatalog()), schemas.Group(licensing.DefaultCatalog())
	f.Fuzz(func(t *testing.T, rawOps, path, value string, isGroup bool) {
		rt, base := user, patchTestUser
		if isGroup {
			rt, base = group, patchTestGroup
		}
		body := []byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":` + rawOps + `}`)
		if path != "" || value != "" {
			// Append {"op":"replace","path":path,"value":value} (value
			// as JSON when it is JSON, else as a string) to the list.
			var list []json.RawMessage
			if json.Unmarshal([]byte(rawOps), &list) != nil {
				return
			}
			v := json.RawMessage(value)
			if !json.Valid(v) {
				v = mustMarshal(value)
			}
			kind := "replace"
			if value == "" {
				kind = "remove"
				v = nil
			}
			op := map[string]json.RawMessage{"op": mustMarshal(kind), "path": mustMarshal(path)}
			if v != nil {
				op["value"] = v
			}
			list = append(list, mustMarshal(op))
			body = mustMarshal(map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": list})
		}
		normalized, err := normalizePatchBody(body, rt)
		if err != nil {
			var re *requestError
			if !errors.As(err, &re) {
				t.Fatalf("normalizePatchBody error %v is not a request error", err)
			}
			return
		}
		if !json.Valid(normalized) {
			t.Fatalf("normalizePatchBody produced invalid JSON %s", normalized)
		}
		ops, ok := decodeFuzzOps(normalized)
		if !ok {
			return
		}
		res := base()
		changed, err := applyPatch(res, ops, rt)
		// Changing lists in place must not change the outcome.
		general := base()
		generalChanged, generalErr := applyPatchWith(general, ops, rt, false)
		var re, generalRE *requestError
		switch {
		case (err == nil) != (generalErr == nil):
			t.Fatalf("in place: %v; in general: %v", err, generalErr)
		case err != nil && (!errors.As(err, &re) || !errors.As(generalErr, &generalRE) || *re != *generalRE):
			t.Fatalf("in place: %#v; in general: %#v", err, generalErr)
		case err == nil && (changed != generalChanged || !reflect.DeepEqual(normalJSON(t, res), normalJSON(t, general))):
			t.Fatalf("in place: %v %v; in general: %v %v", changed, res, generalChanged, general)
		}
		if err != nil {
			var re *requestError
			if !errors.As(err, &re) {
				t.Fatalf("applyPatch error %v is not a request error", err)
			}
			if !reflect.DeepEqual(res, base()) {
				t.Fatalf("failed applyPatch changed the resource:\n%v", res)
			}
			return
		}
		if changed == reflect.DeepEqual(normalJSON(t, res), normalJSON(t, base())) {
			t.Fatalf("changed = %v, but the resource went from %v to %v", changed, base(), res)
		}
		if !changed && !reflect.DeepEqual(res, base()) {
			t.Fatalf("unchanged applyPatch touched the map: %v", res)
		}
		if _, err := json.Marshal(res); err != nil {
			t.Fatalf("result does not marshal: %v", err)
		}
	})
}

// decodeFuzzOps decodes a PATCH body into operations the way elimity
// does (numbers as json.Number, op lower-cased, path parsed), without
// elimity's validation, so that applyPatch sees every shape.
func decodeFuzzOps(body []byte) ([]scim.PatchOperation, bool) {
	var req struct{ Operations []json.RawMessage }
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if d.Decode(&req) != nil {
		return nil, false
	}
	var ops []scim.PatchOperation
	for _, raw := range req.Operations {
		var op struct {
			Op    string
			Path  string
			Value any
		}
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if d.Decode(&op) != nil {
			return nil, false
		}
		o := scim.PatchOperation{Op: strings.ToLower(op.Op), Value: op.Value}
		if op.Path != "" {
			p, err := parsePathSafely(op.Path)
			if err != nil {
				return nil, false
			}
			o.Path = &p
		}
		ops = append(ops, o)
	}
	return ops, true
}
