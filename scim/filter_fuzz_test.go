package scim

import (
	"errors"
	"testing"
	"time"

	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/schemas"
)

// FuzzCompileFilter checks that compileFilter never panics, fails only
// with invalidFilter request errors, and produces conditions that name
// only allow-listed attributes, spelled canonically, with values of their
// kind.
func FuzzCompileFilter(f *testing.F) {
	for _, seed := range []string{
		// Okta.
		`userName eq "ann@example.com"`,
		`displayName eq "Sales"`,
		`id eq "00u1abcd"`,
		// Entra.
		`externalId eq "4b6b9c1e-2d1f-4c4e-9a9e-0f2b5c0d1e2f"`,
		`userName eq "1e6d4c0f-a6a0-4e1c-b8f5-2d7a4e9d5d2b"`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "7"`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m1"`,
		// RFC 7644 section 3.4.2.2 examples.
		`name.familyName co "O'Malley"`,
		`userName sw "J"`,
		`urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"`,
		`title pr`,
		`meta.lastModified gt "2011-05-13T04:42:34Z"`,
		`meta.lastModified ge "2011-05-13T04:42:34Z"`,
		`meta.lastModified lt "2011-05-13T04:42:34Z"`,
		`meta.lastModified le "2011-05-13T04:42:34Z"`,
		`title pr and userType eq "Employee"`,
		`title pr or userType eq "Intern"`,
		`schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`,
		`userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`,
		`userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")`,
		`userType eq "Employee" and (emails.type eq "work")`,
		`userType eq "Employee" and emails[type eq "work" and value co "@example.com"]`,
		`emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]`,
		`members[value eq "u1"]`,
		`members.type eq "User"`,
		`groups.value eq "g1"`,
		`groups[value eq "g1" and type eq "direct"]`,
		`groups.display eq "Sales"`,
		`active eq false`,
		`active eq "False"`,
		`name[givenName eq "Ann"]`,
		`displayName eq "a \"b\" \\ \u00e9"`,
		`title eq null`,
		`((((userName pr))))`,
		`not(not(userName pr))`,
		`x509Certificates.value eq "AAAA"`,
		`password eq "x"`,
		`emails[primary gt true]`,
		`userName eq 1.5e3`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager pr`,
	} {
		f.Add(seed)
	}
	user, group := schemas.User(licensing.DefaultCatalog()), schemas.Group(licensing.DefaultCatalog())
	f.Fuzz(func(t *testing.T, raw string) {
		for _, rt := range []schemas.Resource{user, group} {
			c, err := compileFilter(raw, rt)
			if err != nil {
				var re *requestError
				if !errors.As(err, &re) || re.ScimType != "invalidFilter" {
					t.Fatalf("compileFilter(%q) error %v is not an invalidFilter request error", raw, err)
				}
				continue
			}
			checkCondPaths(t, c, rt)
			if p := condValueProblem(c); p != "" {
				t.Fatalf("compileFilter(%q) = %#v: %s", raw, c, p)
			}
		}
		// sortBy shares the resolution; it must not panic either.
		if a, _, err := compileSortBy(raw, user); err == nil && a != nil && !canonicalPath(user, a.Path, false) {
			t.Fatalf("compileSortBy(%q) = %#v", raw, a)
		}
	})
}

// listValueProblem is condValueProblem of an And's or Or's conditions.
func listValueProblem(conds []licensing.Cond) string {
	for _, c := range conds {
		if p := condValueProblem(c); p != "" {
			return p
		}
	}
	return ""
}

// condValueProblem describes the first comparison whose value does not
// suit its attribute's kind, "" when all do.
func condValueProblem(c licensing.Cond) string {
	switch c := c.(type) {
	case licensing.And:
		return listValueProblem(c)
	case licensing.Or:
		return listValueProblem(c)
	case licensing.Not:
		return condValueProblem(c.Cond)
	case licensing.Any:
		return condValueProblem(c.Cond)
	case licensing.Compare:
		if c.Op == licensing.OpPr {
			if c.Value != nil {
				return "pr with a value"
			}
			return ""
		}
		ok := false
		switch c.Attr.Kind {
		case licensing.KindString:
			_, ok = c.Value.(string)
		case licensing.KindBool:
			_, ok = c.Value.(bool)
		case licensing.KindInt:
			_, ok = c.Value.(int64)
		case licensing.KindDecimal:
			_, ok = c.Value.(float64)
		case licensing.KindDateTime:
			_, ok = c.Value.(time.Time)
		}
		if !ok {
			return "value of the wrong kind"
		}
		return ""
	default:
		return "unknown condition"
	}
}
