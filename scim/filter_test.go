package scim

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/elimity-com/scim/schema"
	filter "github.com/scim2/filter-parser/v2"

	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/schemas"
)

// Shorthands for expected conditions.
func condStr(path ...string) licensing.Attr {
	return licensing.Attr{Path: path, Kind: licensing.KindString}
}

func condStrExact(path ...string) licensing.Attr {
	return licensing.Attr{Path: path, Kind: licensing.KindString, CaseExact: true}
}

func cmpCond(a licensing.Attr, op licensing.Op, v any) licensing.Compare {
	return licensing.Compare{Attr: a, Op: op, Value: v}
}

func TestCompileFilter(t *testing.T) {
	user, group := schemas.User(licensing.DefaultCatalog()), schemas.Group(licensing.DefaultCatalog())
	created := time.Date(2011, 5, 13, 4, 42, 34, 0, time.UTC)
	tests := []struct {
		name   string
		rt     schemas.Resource
		filter string
		want   licensing.Cond
	}{
		{"okta existence check", user, `userName eq "ann@example.com"`,
			cmpCond(condStr("userName"), licensing.OpEq, "ann@example.com")},
		{"names are case-insensitive", user, `USERNAME Eq "Ann"`,
			cmpCond(condStr("userName"), licensing.OpEq, "Ann")},
		{"externalId is case-exact", user, `externalId eq "abc"`,
			cmpCond(condStrExact("externalId"), licensing.OpEq, "abc")},
		{"id", user, `id eq "42"`, cmpCond(condStrExact("id"), licensing.OpEq, "42")},
		{"core URN prefix", user, `urn:ietf:params:scim:schemas:core:2.0:User:userName sw "a"`,
			cmpCond(condStr("userName"), licensing.OpSw, "a")},
		{"core URN prefix is case-insensitive", user, `URN:IETF:params:scim:schemas:core:2.0:user:userName ew "a"`,
			cmpCond(condStr("userName"), licensing.OpEw, "a")},
		{"extension attribute", user, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "7"`,
			cmpCond(condStr(schemas.EnterpriseURN, "employeeNumber"), licensing.OpEq, "7")},
		{"extension sub-attribute", user, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m1"`,
			cmpCond(condStr(schemas.EnterpriseURN, "manager", "value"), licensing.OpEq, "m1")},
		{"extension attribute mis-cased", user, `urn:ietf:params:scim:schemas:extension:Enterprise:2.0:User:EMPLOYEENUMBER pr`,
			cmpCond(condStr(schemas.EnterpriseURN, "employeeNumber"), licensing.OpPr, nil)},
		{"sub-attribute", user, `name.familyName co "O'Malley"`,
			cmpCond(condStr("name", "familyName"), licensing.OpCo, "O'Malley")},
		{"boolean", user, `active eq false`,
			licensing.Compare{Attr: licensing.Attr{Path: []string{"active"}, Kind: licensing.KindBool}, Op: licensing.OpEq, Value: false}},
		{"dateTime", user, `meta.lastModified gt "2011-05-13T04:42:34Z"`,
			licensing.Compare{Attr: licensing.Attr{Path: []string{"meta", "lastModified"}, Kind: licensing.KindDateTime}, Op: licensing.OpGt, Value: created}},
		{"present", user, `title pr`, cmpCond(condStr("title"), licensing.OpPr, nil)},
		{"eq null is absent", user, `title eq null`,
			licensing.Not{Cond: cmpCond(condStr("title"), licensing.OpPr, nil)}},
		{"ne null is present", user, `title ne null`, cmpCond(condStr("title"), licensing.OpPr, nil)},
		{"escaped string", user, `displayName eq "a \"quoted\" name\\"`,
			cmpCond(condStr("displayName"), licensing.OpEq, `a "quoted" name\`)},
		{"and binds tighter than or", user, `title pr and userType eq "Employee" or nickName ne "x"`,
			licensing.Or{
				licensing.And{cmpCond(condStr("title"), licensing.OpPr, nil), cmpCond(condStr("userType"), licensing.OpEq, "Employee")},
				cmpCond(condStr("nickName"), licensing.OpNe, "x"),
			}},
		{"parentheses and not", user, `userType eq "Employee" and not (emails co "example.com" or emails.value co "example.org")`,
			licensing.And{
				cmpCond(condStr("userType"), licensing.OpEq, "Employee"),
				licensing.Not{Cond: licensing.Or{
					licensing.Any{Attr: condStr("emails"), Cond: cmpCond(condStr("value"), licensing.OpCo, "example.com")},
					licensing.Any{Attr: condStr("emails"), Cond: cmpCond(condStr("value"), licensing.OpCo, "example.org")},
				}},
			}},
		{"multi-valued sub-attribute", user, `emails.type eq "work"`,
			licensing.Any{Attr: condStr("emails"), Cond: cmpCond(condStr("type"), licensing.OpEq, "work")}},
		{"multi-valued without sub-attribute means value", user, `emails eq "ann@example.com"`,
			licensing.Any{Attr: condStr("emails"), Cond: cmpCond(condStr("value"), licensing.OpEq, "ann@example.com")}},
		{"value path", user, `emails[type eq "work" and primary eq true]`,
			licensing.Any{Attr: condStr("emails"), Cond: licensing.And{
				cmpCond(condStr("type"), licensing.OpEq, "work"),
				licensing.Compare{Attr: licensing.Attr{Path: []string{"primary"}, Kind: licensing.KindBool}, Op: licensing.OpEq, Value: true},
			}}},
		{"value path with not", user, `emails[not (type eq "home")]`,
			licensing.Any{Attr: condStr("emails"), Cond: licensing.Not{Cond: cmpCond(condStr("type"), licensing.OpEq, "home")}}},
		{"value path mis-cased", user, `EMAILS[TYPE eq "work"]`,
			licensing.Any{Attr: condStr("emails"), Cond: cmpCond(condStr("type"), licensing.OpEq, "work")}},
		{"value path and attribute", user, `userType eq "Employee" and emails[type eq "work" and value co "@example.com"]`,
			licensing.And{
				cmpCond(condStr("userType"), licensing.OpEq, "Employee"),
				licensing.Any{Attr: condStr("emails"), Cond: licensing.And{
					cmpCond(condStr("type"), licensing.OpEq, "work"),
					cmpCond(condStr("value"), licensing.OpCo, "@example.com"),
				}},
			}},
		{"value path on a single-valued complex attribute", user, `name[givenName eq "Ann" or familyName eq "Lee"]`,
			licensing.Or{cmpCond(condStr("name", "givenName"), licensing.OpEq, "Ann"), cmpCond(condStr("name", "familyName"), licensing.OpEq, "Lee")}},
		{"complex present", user, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager pr`,
			licensing.Or{
				cmpCond(condStr(schemas.EnterpriseURN, "manager", "value"), licensing.OpPr, nil),
				cmpCond(condStrExact(schemas.EnterpriseURN, "manager", "$ref"), licensing.OpPr, nil),
				cmpCond(condStr(schemas.EnterpriseURN, "manager", "displayName"), licensing.OpPr, nil),
			}},
		{"entra group lookup", group, `displayName eq "Sales"`, cmpCond(condStr("displayName"), licensing.OpEq, "Sales")},
		{"group members value", group, `members[value eq "u1"]`,
			licensing.Any{Attr: condStr("members"), Cond: cmpCond(condStr("value"), licensing.OpEq, "u1")}},
		{"group members", group, `members eq "u1"`,
			licensing.Any{Attr: condStr("members"), Cond: cmpCond(condStr("value"), licensing.OpEq, "u1")}},
		{"group members type", group, `members.type eq "User"`,
			licensing.Any{Attr: condStr("members"), Cond: cmpCond(condStr("type"), licensing.OpEq, "User")}},
		{"user groups value", user, `groups.value eq "g1"`,
			licensing.Any{Attr: condStr("groups"), Cond: cmpCond(condStrExact("value"), licensing.OpEq, "g1")}},
		{"user groups value path", user, `groups[value eq "g1"]`,
			licensing.Any{Attr: condStr("groups"), Cond: cmpCond(condStrExact("value"), licensing.OpEq, "g1")}},
		{"user groups without sub-attribute", user, `Groups eq "g1"`,
			licensing.Any{Attr: condStr("groups"), Cond: cmpCond(condStrExact("value"), licensing.OpEq, "g1")}},
		{"user groups type", user, `groups.type eq "direct"`,
			licensing.Any{Attr: condStr("groups"), Cond: cmpCond(condStr("type"), licensing.OpEq, "direct")}},
		{"user groups value and type", user, `groups[value eq "g1" and type eq "direct"]`,
			licensing.Any{Attr: condStr("groups"), Cond: licensing.And{
				cmpCond(condStrExact("value"), licensing.OpEq, "g1"),
				cmpCond(condStr("type"), licensing.OpEq, "direct"),
			}}},
		{"user groups present", user, `groups pr`,
			licensing.Any{Attr: condStr("groups"), Cond: cmpCond(condStrExact("value"), licensing.OpPr, nil)}},
		{"user groups with URN", user, `urn:ietf:params:scim:schemas:core:2.0:User:groups.value eq "g1"`,
			licensing.Any{Attr: condStr("groups"), Cond: cmpCond(condStrExact("value"), licensing.OpEq, "g1")}},
		{"group core URN", group, `urn:ietf:params:scim:schemas:core:2.0:Group:displayName eq "x"`,
			cmpCond(condStr("displayName"), licensing.OpEq, "x")},
		{"entra random test value", user, `userName eq "1e6d4c0f-a6a0-4e1c-b8f5-2d7a4e9d5d2b"`,
			cmpCond(condStr("userName"), licensing.OpEq, "1e6d4c0f-a6a0-4e1c-b8f5-2d7a4e9d5d2b")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := compileFilter(tt.filter, tt.rt)
			if err != nil {
				t.Fatalf("compileFilter(%q) error: %v", tt.filter, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("compileFilter(%q)\n got %#v\nwant %#v", tt.filter, got, tt.want)
			}
			checkCondPaths(t, got, tt.rt)
		})
	}
}

func TestCompileFilterTypes(t *testing.T) {
	rt := typedTestResource()
	tests := []struct {
		filter string
		want   licensing.Cond
	}{
		{`urn:example:params:scim:schemas:test:2.0:Thing:count gt 3`,
			licensing.Compare{Attr: licensing.Attr{Path: []string{typedExtURN, "count"}, Kind: licensing.KindInt}, Op: licensing.OpGt, Value: int64(3)}},
		{`urn:example:params:scim:schemas:test:2.0:Thing:count eq -2.0e0`,
			licensing.Compare{Attr: licensing.Attr{Path: []string{typedExtURN, "count"}, Kind: licensing.KindInt}, Op: licensing.OpEq, Value: int64(-2)}},
		{`urn:example:params:scim:schemas:test:2.0:Thing:ratio le 2`,
			licensing.Compare{Attr: licensing.Attr{Path: []string{typedExtURN, "ratio"}, Kind: licensing.KindDecimal}, Op: licensing.OpLe, Value: float64(2)}},
		{`urn:example:params:scim:schemas:test:2.0:Thing:ratio ge 0.5`,
			licensing.Compare{Attr: licensing.Attr{Path: []string{typedExtURN, "ratio"}, Kind: licensing.KindDecimal}, Op: licensing.OpGe, Value: 0.5}},
		{`urn:example:params:scim:schemas:test:2.0:Thing:tags eq "red"`,
			licensing.Any{Attr: condStr(typedExtURN, "tags"), Cond: cmpCond(condStr(), licensing.OpEq, "red")}},
		{`urn:example:params:scim:schemas:test:2.0:Thing:tags[value sw "r"]`,
			licensing.Any{Attr: condStr(typedExtURN, "tags"), Cond: cmpCond(condStr(), licensing.OpSw, "r")}},
		{`urn:example:params:scim:schemas:test:2.0:Thing:blob eq "AAAA"`,
			cmpCond(condStrExact(typedExtURN, "blob"), licensing.OpEq, "AAAA")},
	}
	for _, tt := range tests {
		got, err := compileFilter(tt.filter, rt)
		if err != nil {
			t.Errorf("compileFilter(%q) error: %v", tt.filter, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("compileFilter(%q)\n got %#v\nwant %#v", tt.filter, got, tt.want)
		}
	}
}

func TestCompileFilterErrors(t *testing.T) {
	user, group := schemas.User(licensing.DefaultCatalog()), schemas.Group(licensing.DefaultCatalog())
	tests := []struct {
		name   string
		rt     schemas.Resource
		filter string
		detail string // a part of the detail, naming the problem
	}{
		{"empty", user, ``, "empty"},
		{"syntax", user, `userName eq`, "cannot be parsed"},
		{"unquoted string", user, `userName eq ann`, "cannot be parsed"},
		{"unknown operator", user, `userName xx "a"`, "cannot be parsed"},
		{"unknown attribute", user, `shoeSize eq "42"`, `"shoeSize"`},
		{"unknown sub-attribute", user, `name.nickName eq "x"`, `"name.nickName"`},
		{"sub-attribute of a simple attribute", user, `userName.value eq "x"`, `"userName.value"`},
		{"unknown URN", user, `urn:ietf:params:scim:schemas:extension:other:2.0:User:x eq "y"`, `urn:ietf:params:scim:schemas:extension:other:2.0:User`},
		{"unknown extension attribute", user, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:shoeSize eq "y"`, "shoeSize"},
		{"extension attribute without URN", user, `employeeNumber eq "7"`, `"employeeNumber"`},
		{"unknown value path sub-attribute", user, `emails[kind eq "work"]`, `"emails.kind"`},
		{"URN inside value path", user, `emails[urn:ietf:params:scim:schemas:core:2.0:User:type eq "work"]`, "emails"},
		{"password", user, `password eq "secret"`, `"password" is not filterable`},
		{"schemas", user, `schemas eq "urn:x"`, "not filterable"},
		{"meta.resourceType", user, `meta.resourceType eq "User"`, "not filterable"},
		{"meta.location", user, `meta.location eq "x"`, "not filterable"},
		{"group members display", group, `members.display eq "Ann"`, "not filterable"},
		{"group members display in value path", group, `members[display eq "Ann"]`, "not filterable"},
		{"group members $ref", group, `members.$ref eq "x"`, "not filterable"},
		{"user groups display", user, `groups.display eq "Sales"`, "only groups.value and groups.type"},
		{"user groups display in value path", user, `groups[display eq "Sales"]`, "not filterable"},
		{"user groups $ref", user, `groups.$ref eq "x"`, "not filterable"},
		{"user attribute on group", group, `userName eq "x"`, `"userName"`},
		{"string for boolean", user, `active eq "true"`, "true or false"},
		{"number for string", user, `userName eq 42`, "a string"},
		{"boolean for string", user, `userName eq true`, "a string"},
		{"ordering on boolean", user, `active gt false`, `"gt" does not apply`},
		{"contains on boolean", user, `active co true`, `"co" does not apply`},
		{"ordering on boolean in value path", user, `emails[primary lt true]`, `"lt" does not apply`},
		{"bad dateTime", user, `meta.created gt "yesterday"`, "RFC 3339"},
		{"number for dateTime", user, `meta.created gt 5`, "RFC 3339"},
		{"contains on dateTime", user, `meta.created co "2011"`, `"co" does not apply`},
		{"complex compared", user, `name eq "Ann"`, "complex"},
		{"null ordering", user, `title gt null`, "null"},
		{"value path on simple attribute", user, `userName[value eq "x"]`, "neither complex nor multi-valued"},
		{"value path on a sub-attribute", user, `name.givenName[value eq "x"]`, "not a sub-attribute"},
		{"too long", user, `userName eq "` + strings.Repeat("a", maxFilterLength) + `"`, "longer than"},
		{"too deep", user, strings.Repeat("(", 40) + `userName pr` + strings.Repeat(")", 40), "nests deeper"},
		{"too deep with not", user, strings.Repeat("not(", 40) + `userName pr` + strings.Repeat(")", 40), "nests deeper"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := compileFilter(tt.filter, tt.rt)
			if err == nil {
				t.Fatalf("compileFilter(%q) = %#v, want an error", tt.filter, got)
			}
			requireRequestErr(t, err, "invalidFilter", tt.detail)
		})
	}
}

func TestCompileFilterDateTimeOffset(t *testing.T) {
	got, err := compileFilter(`meta.created le "2011-05-13T06:42:34+02:00"`, schemas.User(licensing.DefaultCatalog()))
	if err != nil {
		t.Fatal(err)
	}
	c, ok := got.(licensing.Compare)
	if !ok {
		t.Fatalf("got %#v, want a Compare", got)
	}
	v, ok := c.Value.(time.Time)
	if !ok || !v.Equal(time.Date(2011, 5, 13, 4, 42, 34, 0, time.UTC)) {
		t.Errorf("value = %#v, want 2011-05-13T04:42:34Z", c.Value)
	}
	if c.Op != licensing.OpLe || c.Attr.Kind != licensing.KindDateTime || !reflect.DeepEqual(c.Attr.Path, []string{"meta", "created"}) {
		t.Errorf("got %#v", c)
	}
}

func TestCompileFilterParenthesesInStringsDoNotCount(t *testing.T) {
	f := `displayName eq "` + strings.Repeat("(", 100) + `"`
	if _, err := compileFilter(f, schemas.User(licensing.DefaultCatalog())); err != nil {
		t.Fatalf("compileFilter: %v", err)
	}
	deep := strings.Repeat("(", maxFilterDepth) + `userName pr` + strings.Repeat(")", maxFilterDepth)
	if _, err := compileFilter(deep, schemas.User(licensing.DefaultCatalog())); err != nil {
		t.Fatalf("compileFilter at the depth limit: %v", err)
	}
}

func TestCompileFilterContainsParserPanic(t *testing.T) {
	saved := parseFilterHook
	t.Cleanup(func() { parseFilterHook = saved })
	parseFilterHook = func([]byte) (filter.Expression, error) { panic("boom") }
	// A comparison with a string is read without the parser
	// (simpleComparison): this filter goes to it.
	_, err := compileFilter(`userName pr`, schemas.User(licensing.DefaultCatalog()))
	requireRequestErr(t, err, "invalidFilter", "cannot be parsed")
}

func TestCompileSortBy(t *testing.T) {
	user, group := schemas.User(licensing.DefaultCatalog()), schemas.Group(licensing.DefaultCatalog())
	tests := []struct {
		rt   schemas.Resource
		raw  string
		want *licensing.Attr
	}{
		{user, "", nil},
		{user, "  ", nil},
		{user, "userName", &licensing.Attr{Path: []string{"userName"}, Kind: licensing.KindString}},
		{user, "USERNAME", &licensing.Attr{Path: []string{"userName"}, Kind: licensing.KindString}},
		{user, "externalId", &licensing.Attr{Path: []string{"externalId"}, Kind: licensing.KindString, CaseExact: true}},
		{user, "name.familyName", &licensing.Attr{Path: []string{"name", "familyName"}, Kind: licensing.KindString}},
		{user, "meta.lastModified", &licensing.Attr{Path: []string{"meta", "lastModified"}, Kind: licensing.KindDateTime}},
		{user, "active", &licensing.Attr{Path: []string{"active"}, Kind: licensing.KindBool}},
		{user, "urn:ietf:params:scim:schemas:core:2.0:User:displayName", &licensing.Attr{Path: []string{"displayName"}, Kind: licensing.KindString}},
		{user, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
			&licensing.Attr{Path: []string{schemas.EnterpriseURN, "manager", "value"}, Kind: licensing.KindString}},
		{group, "displayName", &licensing.Attr{Path: []string{"displayName"}, Kind: licensing.KindString}},
	}
	for _, tt := range tests {
		got, _, err := compileSortBy(tt.raw, tt.rt)
		if err != nil {
			t.Errorf("compileSortBy(%q) error: %v", tt.raw, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("compileSortBy(%q) = %#v, want %#v", tt.raw, got, tt.want)
		}
	}
	// A multi-valued attribute sorts by its primary or first value (RFC
	// 7644 section 3.4.2.3): the path says which, elements how much of
	// it names the multi-valued attribute.
	multi := []struct {
		raw      string
		want     *licensing.Attr
		elements int
	}{
		{"emails", &licensing.Attr{Path: []string{"emails", "value"}, Kind: licensing.KindString}, 1},
		{"Emails.Value", &licensing.Attr{Path: []string{"emails", "value"}, Kind: licensing.KindString}, 1},
		{"phoneNumbers.type", &licensing.Attr{Path: []string{"phoneNumbers", "type"}, Kind: licensing.KindString}, 1},
		{"userName", &licensing.Attr{Path: []string{"userName"}, Kind: licensing.KindString}, 0},
	}
	for _, tt := range multi {
		got, elements, err := compileSortBy(tt.raw, user)
		if err != nil || !reflect.DeepEqual(got, tt.want) || elements != tt.elements {
			t.Errorf("compileSortBy(%q) = %#v, %d, %v; want %#v, %d", tt.raw, got, elements, err, tt.want, tt.elements)
		}
	}
	if _, _, err := compileSortBy("members.value", group); err == nil {
		t.Error("compileSortBy(members.value) on groups: no error")
	}
	bad := []struct{ raw, detail string }{
		{"groups", `"groups"`},
		{"groups.display", `"groups.display"`},
		{"name", "complex"},
		{"password", `"password"`},
		{"shoeSize", `"shoeSize"`},
		{"meta.resourceType", `"meta.resourceType"`},
		{"urn:ietf:params:scim:schemas:extension:other:2.0:User:x", "urn:ietf:params:scim:schemas:extension:other:2.0:User"},
		{"userName eq", "not an attribute path"},
	}
	for _, tt := range bad {
		_, _, err := compileSortBy(tt.raw, user)
		requireRequestErr(t, err, "invalidValue", tt.detail)
	}
}

// typedExtURN is the URN of the extension typedTestResource adds, which has an
// attribute of every type.
const typedExtURN = "urn:example:params:scim:schemas:test:2.0:Thing"

// typedTestResource is the User resource type with an extension holding
// attributes of the types and characteristics the core schemas lack.
func typedTestResource() schemas.Resource {
	rt := schemas.User(licensing.DefaultCatalog())
	rt.Extensions = append(rt.Extensions, schema.Schema{
		ID: typedExtURN,
		Attributes: []schema.CoreAttribute{
			schema.SimpleCoreAttribute(schema.SimpleNumberParams(schema.NumberParams{Name: "count", Type: schema.AttributeTypeInteger()})),
			schema.SimpleCoreAttribute(schema.SimpleNumberParams(schema.NumberParams{Name: "ratio", Type: schema.AttributeTypeDecimal()})),
			schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{Name: "tags", MultiValued: true})),
			schema.SimpleCoreAttribute(schema.SimpleBinaryParams(schema.BinaryParams{Name: "blob"})),
			schema.SimpleCoreAttribute(schema.SimpleDateTimeParams(schema.DateTimeParams{Name: "born"})),
			schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{Name: "code", Mutability: schema.AttributeMutabilityImmutable()})),
			schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{Name: "locked", Mutability: schema.AttributeMutabilityReadOnly()})),
			schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{Name: "secret", Returned: schema.AttributeReturnedRequest()})),
			schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{Name: "always", Returned: schema.AttributeReturnedAlways()})),
		},
	})
	return rt
}

// requireRequestErr checks that err is a request error of the scimType
// whose detail contains detail.
func requireRequestErr(t *testing.T, err error, scimType, detail string) {
	t.Helper()
	var re *requestError
	if !errors.As(err, &re) {
		t.Fatalf("error %v (%T) is not a request error", err, err)
	}
	if re.ScimType != scimType {
		t.Errorf("scimType = %q, want %q (detail %q)", re.ScimType, scimType, re.Detail)
	}
	if !strings.Contains(re.Detail, detail) {
		t.Errorf("detail %q does not contain %q", re.Detail, detail)
	}
}

// checkCondPaths checks that every attribute path in a condition is one the
// resource type's schemas define, spelled canonically.
func checkCondPaths(t testing.TB, c licensing.Cond, rt schemas.Resource) {
	t.Helper()
	if problem := condPathProblem(c, rt, nil); problem != "" {
		t.Errorf("condition %#v: %s", c, problem)
	}
}

// listPathProblem is condPathProblem of an And's or Or's conditions.
func listPathProblem(conds []licensing.Cond, rt schemas.Resource, within []string) string {
	for _, c := range conds {
		if p := condPathProblem(c, rt, within); p != "" {
			return p
		}
	}
	return ""
}

// condPathProblem describes the first attribute path of c that is not
// allow-listed, "" when all are. within is the multi-valued attribute
// whose elements an Any's condition applies to.
func condPathProblem(c licensing.Cond, rt schemas.Resource, within []string) string {
	switch c := c.(type) {
	case licensing.And:
		return listPathProblem(c, rt, within)
	case licensing.Or:
		return listPathProblem(c, rt, within)
	case licensing.Not:
		return condPathProblem(c.Cond, rt, within)
	case licensing.Any:
		if within != nil {
			return "nested Any"
		}
		if !canonicalPath(rt, c.Attr.Path, true) {
			return "Any over " + strings.Join(c.Attr.Path, "/")
		}
		return condPathProblem(c.Cond, rt, c.Attr.Path)
	case licensing.Compare:
		full := append(append([]string(nil), within...), c.Attr.Path...)
		if !canonicalPath(rt, full, false) {
			return "compare on " + strings.Join(full, "/")
		}
		return ""
	default:
		return "unknown condition"
	}
}

// canonicalPath reports whether path names an attribute of rt exactly as
// the schemas spell it; multi says whether it must be a multi-valued one.
func canonicalPath(rt schemas.Resource, path []string, multi bool) bool {
	if len(path) == 0 {
		return false
	}
	attrs := append(append(rt.Core.Attributes[:0:0], rt.Core.Attributes...), commonAttributes...)
	if strings.HasPrefix(path[0], "urn:") {
		ext, ok := rt.Extension(path[0])
		if !ok || ext.ID != path[0] || len(path) < 2 {
			return false
		}
		attrs, path = ext.Attributes, path[1:]
	}
	a, ok := findAttribute(attrs, path[0])
	if !ok || a.Name() != path[0] || a.Returned() == "never" {
		return false
	}
	if multi {
		return len(path) == 1 && a.MultiValued()
	}
	switch len(path) {
	case 1:
		return true
	case 2:
		s, ok := findAttribute(a.SubAttributes(), path[1])
		return ok && s.Name() == path[1]
	}
	return false
}

func TestCompileFilterInvalidUTF8(t *testing.T) {
	_, err := compileFilter("userName eq \"\xff\"", schemas.User(licensing.DefaultCatalog()))
	requireRequestErr(t, err, "invalidFilter", "UTF-8")
}

func TestFoldValuePathSubAttributes(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`emails[type eq "work"].value eq "a@b.c"`, `emails[type eq "work" and value eq "a@b.c"]`},
		{`emails[type eq "w]x"].value EQ "a"`, `emails[type eq "w]x" and value EQ "a"]`},
		{`emails[type eq "work"].value pr and userName sw "a"`, `emails[type eq "work" and value pr] and userName sw "a"`},
		{`(addresses[type eq "work"].postalCode eq "12345")`, `(addresses[type eq "work" and postalCode eq "12345"])`},
	} {
		got, ok := foldValuePathSubAttributes(c.in)
		if !ok || got != c.want {
			t.Errorf("fold(%q) = %q %v, want %q", c.in, got, ok, c.want)
		}
	}
	if _, ok := foldValuePathSubAttributes(`emails[type eq "work"]`); ok {
		t.Error("a plain value path was rewritten")
	}
	cond, err := compileFilter(`emails[type eq "work"].value eq "a@b.c"`, schemas.User(licensing.DefaultCatalog()))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := compileFilter(`emails[type eq "work" and value eq "a@b.c"]`, schemas.User(licensing.DefaultCatalog()))
	if fmt.Sprint(cond) != fmt.Sprint(want) {
		t.Errorf("compiled %v, want %v", cond, want)
	}
}

// TestCompileFilterChainsAreFlat: a chain of one operator becomes one
// flat And or Or however long, and an operand of the same operator (a
// value path's and) is merged into it; precedence still nests an and in
// an or.
func TestCompileFilterChainsAreFlat(t *testing.T) {
	user := schemas.User(licensing.DefaultCatalog())
	terms := make([]string, 500)
	for i := range terms {
		terms[i] = fmt.Sprintf(`userName eq "u%d"`, i)
	}
	c, err := compileFilter(strings.Join(terms, " or "), user)
	if or, ok := c.(licensing.Or); err != nil || !ok || len(or) != 500 || !reflect.DeepEqual(or[499], cmpCond(condStr("userName"), licensing.OpEq, "u499")) {
		t.Fatalf("chain of 500: %T %v", c, err)
	}
	if depth, n := licensing.CondShape(c); depth != 1 || n != 500 {
		t.Errorf("chain of 500: depth %d, %d comparisons", depth, n)
	}
	c, err = compileFilter(`title pr and name[givenName eq "a" and familyName eq "b"] and userName eq "c" or nickName pr`, user)
	want := licensing.Or{
		licensing.And{cmpCond(condStr("title"), licensing.OpPr, nil), cmpCond(condStr("name", "givenName"), licensing.OpEq, "a"),
			cmpCond(condStr("name", "familyName"), licensing.OpEq, "b"), cmpCond(condStr("userName"), licensing.OpEq, "c")},
		cmpCond(condStr("nickName"), licensing.OpPr, nil),
	}
	if err != nil || !reflect.DeepEqual(c, want) {
		t.Errorf("merged and: %#v, %v", c, err)
	}
}
