package scim

import (
	"reflect"
	"testing"

	filter "github.com/scim2/filter-parser/v2"
)

// FuzzSimpleComparison checks that whatever simpleComparison reads, it
// reads as the general parser does, and that the shapes it is for are
// read without the parser.
func FuzzSimpleComparison(f *testing.F) {
	read := []string{
		`userName eq "ann@example.com"`, `externalId eq "4b6b9c1e-2d1f"`, `displayName eq "Sales"`,
		`userName EQ "x"`, `userName Sw "J"`, `name.givenName co "O'Malley"`, `emails.value ew "@example.com"`,
		`meta.lastModified gt "2011-05-13T04:42:34Z"`, `userName eq ""`, `userName eq "Zoë ☃"`, `x-y_1 le "1"`,
	}
	for _, raw := range read {
		if _, ok := simpleComparison(raw); !ok {
			f.Errorf("simpleComparison(%q) left it to the parser", raw)
		}
		f.Add(raw)
	}
	for _, raw := range []string{
		`userName  eq "x"`, `userName eq "a \"b\""`, "userName eq \"a\tb\"", `userName pr`, `userName eq 5`,
		`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "x"`, `emails[type eq "work"]`, `not eq "x"`,
		`a.b.c eq "x"`, `1a eq "x"`, `$ref eq "x"`, `userName eq "a" or userName eq "b"`, `userName xx "x"`,
		`userName eq "x" `, `userName eq "`, `and eq "x"`, `userName eq "a\u007fb"`,
	} {
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, ok := simpleComparison(raw)
		if !ok {
			return
		}
		want, err := parseFilterSafely(raw)
		if err != nil {
			t.Fatalf("simpleComparison(%q) = %#v, the parser refuses it: %v", raw, got, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("simpleComparison(%q) = %#v, the parser reads %#v", raw, got, want)
		}
		if _, isAttr := want.(*filter.AttributeExpression); !isAttr {
			t.Fatalf("the parser reads %q as %T", raw, want)
		}
	})
}
