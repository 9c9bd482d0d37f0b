package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// defaultPattern makes the userNames of seeded accounts: user0000000@example.com,
// user0000001@example.com, ... The lookup and mixed scenarios pick from the
// same pattern, so the defaults fit together.
const defaultPattern = "user%07d@example.com"

// URNs of the schemas a user body names.
const (
	userURN       = "urn:ietf:params:scim:schemas:core:2.0:User"
	enterpriseURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	licensingURN  = "urn:ietf:params:scim:schemas:extension:licensing:2.0:User"
)

// checkPattern accepts a userName pattern with exactly one integer verb
// (%d, %07d, ...) and no other verb.
func checkPattern(p string) error {
	rest := strings.ReplaceAll(p, "%%", "")
	if strings.Count(rest, "%") != 1 {
		return fmt.Errorf("pattern %q must hold exactly one integer verb such as %%d or %%07d", p)
	}
	a, b := fmt.Sprintf(p, 1), fmt.Sprintf(p, 2)
	if strings.Contains(a, "%!") || a == b {
		return fmt.Errorf("pattern %q must hold exactly one integer verb such as %%d or %%07d", p)
	}
	if strings.TrimSpace(a) == "" {
		return fmt.Errorf("pattern %q makes empty userNames", p)
	}
	return nil
}

// runID is a short random tag that keeps the userNames of two runs apart.
func runID() string {
	var b [4]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// license is one --license value: a licensing extension attribute and
// the license type to give every provisioned user.
type license struct{ attr, value string }

var licenseAttr = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*$`)

// parseLicense reads ATTRIBUTE=TYPE (remoteSupportV5=concurrent).
func parseLicense(s string) (license, error) {
	attr, value, ok := strings.Cut(s, "=")
	value = strings.ToLower(value)
	if !ok || !licenseAttr.MatchString(attr) || (value != "named" && value != "concurrent" && value != "none") {
		return license{}, fmt.Errorf("license %q must be ATTRIBUTE=named|concurrent|none, e.g. remoteSupportV5=concurrent", s)
	}
	return license{attr, value}, nil
}

// userBody is the SCIM body of the i-th made-up user, shaped as Okta's
// "Push New Users" sends it: name, work email, display name, externalId,
// active. rich adds what an HR-driven directory carries (title, phone,
// address, enterprise extension); licenses add the licensing extension.
func userBody(userName string, i int, rich bool, licenses []license) map[string]any {
	given, family := fmt.Sprintf("Given%d", i), fmt.Sprintf("Family%d", i%1000)
	schemas := []any{userURN}
	body := map[string]any{
		"userName":    userName,
		"externalId":  fmt.Sprintf("ext-%d", i),
		"name":        map[string]any{"givenName": given, "familyName": family, "formatted": given + " " + family},
		"displayName": given + " " + family,
		"emails":      []any{map[string]any{"value": userName, "type": "work", "primary": true}},
		"active":      true,
	}
	if rich {
		body["title"] = "Support Engineer"
		body["locale"] = "en-US"
		body["phoneNumbers"] = []any{map[string]any{"value": fmt.Sprintf("+1 555 %07d", i%10_000_000), "type": "work"}}
		body["addresses"] = []any{map[string]any{"type": "work", "locality": "Springfield", "country": "US", "primary": true}}
		body[enterpriseURN] = map[string]any{
			"employeeNumber": fmt.Sprint(i),
			"department":     fmt.Sprintf("Dept%d", i%50),
			"costCenter":     fmt.Sprintf("CC%d", i%20),
			"organization":   "Example Corp",
		}
		schemas = append(schemas, enterpriseURN)
	}
	if len(licenses) > 0 {
		ext := map[string]any{}
		for _, l := range licenses {
			ext[l.attr] = l.value
		}
		body[licensingURN] = ext
		schemas = append(schemas, licensingURN)
	}
	body["schemas"] = schemas
	return body
}

// storedDoc is the document scimd keeps for body: everything but the
// attributes held in columns and those never stored (as the SCIM adapter
// does), so that seeded and raw-SQL rows carry what a provisioned user
// carries.
func storedDoc(body map[string]any) (json.RawMessage, error) {
	doc := make(map[string]any, len(body))
	for k, v := range body {
		switch k {
		case "userName", "externalId", "displayName", "active", "schemas", "id", "meta", "password", "groups":
			continue
		}
		doc[k] = v
	}
	return json.Marshal(doc)
}
