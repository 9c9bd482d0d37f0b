package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/licensing"
)

// Schema URNs used by the fixtures.
const (
	coreURN       = "urn:ietf:params:scim:schemas:core:2.0:User"
	enterpriseURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	licensingURN  = "urn:ietf:params:scim:schemas:extension:licensing:2.0:User"
	extURN        = "urn:example:params:scim:schemas:extension:x:1.0:User"
)

func attr(kind licensing.Kind, caseExact bool, path ...string) licensing.Attr {
	return licensing.Attr{Path: path, Kind: kind, CaseExact: caseExact}
}

// Attributes as an adapter would resolve them.
var (
	userName       = attr(licensing.KindString, false, "userName")
	userNameExact  = attr(licensing.KindString, true, "userName")
	displayName    = attr(licensing.KindString, false, "displayName")
	displayExact   = attr(licensing.KindString, true, "displayName")
	externalID     = attr(licensing.KindString, true, "externalId")
	externalIDFold = attr(licensing.KindString, false, "externalId")
	idAttr         = attr(licensing.KindString, true, "id")
	active         = attr(licensing.KindBool, false, "active")
	created        = attr(licensing.KindDateTime, false, "meta", "created")
	lastModified   = attr(licensing.KindDateTime, false, "meta", "lastModified")
	title          = attr(licensing.KindString, false, "title")
	titleExact     = attr(licensing.KindString, true, "title")
	nickName       = attr(licensing.KindString, true, "nickName")
	givenName      = attr(licensing.KindString, false, "name", "givenName")
	familyName     = attr(licensing.KindString, false, "name", "familyName")
	employeeNumber = attr(licensing.KindString, true, enterpriseURN, "employeeNumber")
	department     = attr(licensing.KindString, false, enterpriseURN, "department")
	// The licensing extension is the user's assignments, named by
	// product id: the adapter maps the attribute names to product ids.
	remoteSupport  = attr(licensing.KindString, true, licensingURN, "remote-support-v5")
	level          = attr(licensing.KindInt, false, extURN, "level")
	score          = attr(licensing.KindDecimal, false, extURN, "score")
	vip            = attr(licensing.KindBool, false, extURN, "vip")
	hired          = attr(licensing.KindDateTime, false, extURN, "hired")
	emails         = attr(licensing.KindString, false, "emails")
	emailValue     = attr(licensing.KindString, false, "value")
	emailValueCase = attr(licensing.KindString, true, "value")
	emailType      = attr(licensing.KindString, false, "type")
	emailPrimary   = attr(licensing.KindBool, false, "primary")
	schemas        = attr(licensing.KindString, true, "schemas")
	element        = attr(licensing.KindString, true)
	members        = attr(licensing.KindString, false, "members")
	memberValue    = attr(licensing.KindString, true, "value")
	memberType     = attr(licensing.KindString, true, "type")
	groups         = attr(licensing.KindString, false, "groups")
	groupValue     = attr(licensing.KindString, true, "value")
	groupType      = attr(licensing.KindString, true, "type")
	groupTypeFold  = attr(licensing.KindString, false, "type")
)

func cmp(a licensing.Attr, op licensing.Op, v any) licensing.Compare {
	return licensing.Compare{Attr: a, Op: op, Value: v}
}

func pr(a licensing.Attr) licensing.Compare { return licensing.Compare{Attr: a, Op: licensing.OpPr} }

func and(conds ...licensing.Cond) licensing.And { return licensing.And(conds) }
func or(conds ...licensing.Cond) licensing.Or   { return licensing.Or(conds) }
func not(c licensing.Cond) licensing.Not        { return licensing.Not{Cond: c} }
func anyOf(a licensing.Attr, c licensing.Cond) licensing.Any {
	return licensing.Any{Attr: a, Cond: c}
}

// t0 is when the first fixture user was created; user i was created i
// hours later and last modified 30 minutes after that.
var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// fixture is the set of users the query tests run against.
type fixture struct {
	account licensing.Account
	// ids maps short names (alice, bob, carol, dave, davey) to user ids.
	ids   map[string]string
	names map[string]string
}

func newFixture(t *testing.T, s licensing.Store) fixture {
	t.Helper()
	f := fixture{account: newAccount(t, s), ids: map[string]string{}, names: map[string]string{}}
	users := []struct {
		short, userName, displayName, externalID string
		active                                   bool
		doc                                      string
	}{
		{"alice", "alice@example.com", "Alice Smith", "ext-1", true, `{
			"schemas": ["` + coreURN + `", "` + enterpriseURN + `"],
			"name": {"givenName": "Alice", "familyName": "Smith"},
			"title": "Engineer",
			"emails": [{"value": "alice@example.com", "type": "work", "primary": true},
			           {"value": "alice@home.org", "type": "home"}],
			"` + enterpriseURN + `": {"employeeNumber": "1001", "department": "R&D"},
			"` + extURN + `": {"level": 3, "score": 4.5, "vip": true, "hired": "2020-01-01T00:00:00Z"}}`},
		{"bob", "Bob@Example.com", "", "EXT-2", false, `{
			"title": "engineer",
			"emails": [{"value": "BOB@work.example", "type": "work"}],
			"` + extURN + `": {"level": 10, "score": 0.5, "vip": false, "hired": "2021-06-15T12:00:00Z"}}`},
		{"carol", "carol", "carol 100%", "", true, `{
			"title": "", "emails": [], "nickName": "c_a",
			"` + extURN + `": {"level": -2}}`},
		{"dave", "dave_x", "Dave", "ext-4", true, `{
			"name": {"givenName": "Dave"}, "nickName": "cxa",
			"emails": [{"value": "dave@example.com", "type": "home", "primary": true}],
			"` + extURN + `": {"score": 4.5}}`},
		{"davey", "daveyx", "Davey", "", false, `{"title": "Manager", "nickName": "c%a"}`},
	}
	for i, x := range users {
		u := newUser(f.account.ID, x.userName)
		u.DisplayName, u.ExternalID, u.Active = x.displayName, x.externalID, x.active
		u.Doc = json.RawMessage(x.doc)
		switch x.short {
		case "alice":
			u.Assignments = licensing.Assignments{"remote-support-v5": licensing.LicenseConcurrent}
		case "bob": // inactive: holds no named seat, so needs no plan
			u.Assignments = licensing.Assignments{"remote-support-v5": licensing.LicenseNamed}
		}
		u.Created = t0.Add(time.Duration(i) * time.Hour)
		u.LastModified = u.Created.Add(30 * time.Minute)
		createUser(t, s, u)
		f.ids[x.short], f.names[u.ID] = u.ID, x.short
	}
	return f
}

// shorts returns the short names of users, in order.
func (f fixture) shorts(us []licensing.User) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = f.names[u.ID]
	}
	return out
}

// set splits a space-separated list of short names, sorted.
func set(s string) []string {
	out := strings.Fields(s)
	slices.Sort(out)
	return out
}

func testUserFilters(t *testing.T, s licensing.Store) {
	f := newFixture(t, s)
	at := func(h, m int) time.Time { return t0.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	june2020 := time.Date(2020, 6, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		cond licensing.Cond
		want string
	}{
		// Column-backed strings.
		{"userName eq, other case", cmp(userName, licensing.OpEq, "ALICE@example.com"), "alice"},
		{"userName eq lower", cmp(userName, licensing.OpEq, "bob@example.com"), "bob"},
		{"userName eq case-exact miss", cmp(userNameExact, licensing.OpEq, "bob@example.com"), ""},
		{"userName eq case-exact hit", cmp(userNameExact, licensing.OpEq, "Bob@Example.com"), "bob"},
		{"userName ne", cmp(userName, licensing.OpNe, "CAROL"), "alice bob dave davey"},
		{"userName co", cmp(userName, licensing.OpCo, "AVE"), "dave davey"},
		{"userName co case-exact miss", cmp(userNameExact, licensing.OpCo, "AVE"), ""},
		{"userName co case-exact hit", cmp(userNameExact, licensing.OpCo, "ave"), "dave davey"},
		{"userName co underscore is literal", cmp(userName, licensing.OpCo, "e_x"), "dave"},
		{"userName sw", cmp(userName, licensing.OpSw, "DAVE"), "dave davey"},
		{"userName sw case-exact hit", cmp(userNameExact, licensing.OpSw, "Bob"), "bob"},
		{"userName sw case-exact miss", cmp(userNameExact, licensing.OpSw, "bob"), ""},
		{"userName ew", cmp(userName, licensing.OpEw, "YX"), "davey"},
		{"userName ew case-exact", cmp(userNameExact, licensing.OpEw, "Example.com"), "bob"},
		{"userName ew case-exact other", cmp(userNameExact, licensing.OpEw, "example.com"), "alice"},
		{"userName ew longer than value", cmp(userNameExact, licensing.OpEw, "xcarol"), ""},
		{"userName gt", cmp(userName, licensing.OpGt, "carol"), "dave davey"},
		{"userName ge", cmp(userName, licensing.OpGe, "carol"), "carol dave davey"},
		{"userName lt", cmp(userName, licensing.OpLt, "BOB"), "alice"},
		{"userName le", cmp(userName, licensing.OpLe, "bob@example.com"), "alice bob"},
		{"userName gt case-exact code points", cmp(userNameExact, licensing.OpGt, "a"), "alice carol dave davey"},
		{"userName gt case-insensitive", cmp(userName, licensing.OpGt, "a"), "alice bob carol dave davey"},
		{"displayName co percent is literal", cmp(displayName, licensing.OpCo, "0%"), "carol"},
		{"displayName co percent alone", cmp(displayName, licensing.OpCo, "%"), "carol"},
		{"displayName sw", cmp(displayName, licensing.OpSw, "dave"), "dave davey"},
		{"displayName eq", cmp(displayName, licensing.OpEq, "dave"), "dave"},
		{"displayName eq case-exact", cmp(displayExact, licensing.OpEq, "dave"), ""},
		{"displayName ne holds when absent", cmp(displayName, licensing.OpNe, "Dave"), "alice bob carol davey"},
		{"displayName pr", pr(displayName), "alice carol dave davey"},
		{"externalId eq", cmp(externalID, licensing.OpEq, "EXT-2"), "bob"},
		{"externalId eq case-exact miss", cmp(externalID, licensing.OpEq, "ext-2"), ""},
		{"externalId eq case-insensitive", cmp(externalIDFold, licensing.OpEq, "ext-2"), "bob"},
		{"externalId pr", pr(externalID), "alice bob dave"},
		{"externalId ne", cmp(externalID, licensing.OpNe, "ext-1"), "bob carol dave davey"},
		{"id eq", cmp(idAttr, licensing.OpEq, f.ids["carol"]), "carol"},
		{"id ne", cmp(idAttr, licensing.OpNe, f.ids["carol"]), "alice bob dave davey"},
		// Booleans.
		{"active eq true", cmp(active, licensing.OpEq, true), "alice carol dave"},
		{"active eq false", cmp(active, licensing.OpEq, false), "bob davey"},
		{"active ne true", cmp(active, licensing.OpNe, true), "bob davey"},
		{"active pr", pr(active), "alice bob carol dave davey"},
		// Date-times.
		{"lastModified gt", cmp(lastModified, licensing.OpGt, at(2, 0)), "carol dave davey"},
		{"lastModified gt exact", cmp(lastModified, licensing.OpGt, at(2, 30)), "dave davey"},
		{"lastModified ge", cmp(lastModified, licensing.OpGe, at(2, 30)), "carol dave davey"},
		{"lastModified lt", cmp(lastModified, licensing.OpLt, at(2, 30)), "alice bob"},
		{"lastModified le", cmp(lastModified, licensing.OpLe, at(2, 30)), "alice bob carol"},
		{"lastModified eq", cmp(lastModified, licensing.OpEq, at(3, 30)), "dave"},
		{"lastModified eq other zone", cmp(lastModified, licensing.OpEq, at(3, 30).In(time.FixedZone("X", -5*3600))), "dave"},
		{"lastModified ne", cmp(lastModified, licensing.OpNe, at(3, 30)), "alice bob carol davey"},
		{"created eq", cmp(created, licensing.OpEq, t0), "alice"},
		{"created pr", pr(created), "alice bob carol dave davey"},
		// Strings in the document.
		{"title eq", cmp(title, licensing.OpEq, "engineer"), "alice bob"},
		{"title eq case-exact", cmp(titleExact, licensing.OpEq, "engineer"), "bob"},
		{"title eq case-exact other", cmp(titleExact, licensing.OpEq, "Engineer"), "alice"},
		{"title ne case-exact", cmp(titleExact, licensing.OpNe, "Engineer"), "bob carol dave davey"},
		{"title ne", cmp(title, licensing.OpNe, "Engineer"), "carol dave davey"},
		{"title pr skips empty string", pr(title), "alice bob davey"},
		{"title co", cmp(title, licensing.OpCo, "GIN"), "alice bob"},
		{"title sw case-exact", cmp(titleExact, licensing.OpSw, "Man"), "davey"},
		{"title sw case-exact miss", cmp(titleExact, licensing.OpSw, "man"), ""},
		{"title ew", cmp(title, licensing.OpEw, "ER"), "alice bob davey"},
		{"title ew case-exact", cmp(titleExact, licensing.OpEw, "ER"), ""},
		{"title gt", cmp(title, licensing.OpGt, "F"), "davey"},
		{"title gt case-exact", cmp(titleExact, licensing.OpGt, "F"), "bob davey"},
		{"title lt case-exact", cmp(titleExact, licensing.OpLt, "F"), "alice carol"},
		{"name.givenName eq", cmp(givenName, licensing.OpEq, "alice"), "alice"},
		{"name.givenName pr", pr(givenName), "alice dave"},
		{"name.familyName ne", cmp(familyName, licensing.OpNe, "SMITH"), "bob carol dave davey"},
		{"enterprise employeeNumber", cmp(employeeNumber, licensing.OpEq, "1001"), "alice"},
		{"enterprise department", cmp(department, licensing.OpEq, "r&d"), "alice"},
		{"licensing eq", cmp(remoteSupport, licensing.OpEq, "concurrent"), "alice"},
		{"licensing ne", cmp(remoteSupport, licensing.OpNe, "concurrent"), "bob carol dave davey"},
		{"licensing eq none", cmp(remoteSupport, licensing.OpEq, "none"), "carol dave davey"},
		{"licensing pr", pr(remoteSupport), "alice bob carol dave davey"},
		{"nickName co underscore", cmp(nickName, licensing.OpCo, "_"), "carol"},
		{"nickName co percent", cmp(nickName, licensing.OpCo, "%"), "davey"},
		{"nickName sw wildcard chars", cmp(nickName, licensing.OpSw, "c_"), "carol"},
		{"nickName ew wildcard chars", cmp(nickName, licensing.OpEw, "%a"), "davey"},
		{"nickName eq", cmp(nickName, licensing.OpEq, "c_a"), "carol"},
		// Numbers compare as numbers (10 > 2), booleans as booleans.
		{"int gt", cmp(level, licensing.OpGt, int64(2)), "alice bob"},
		{"int ge", cmp(level, licensing.OpGe, int64(10)), "bob"},
		{"int lt negative", cmp(level, licensing.OpLt, int64(0)), "carol"},
		{"int le", cmp(level, licensing.OpLe, int64(3)), "alice carol"},
		{"int eq", cmp(level, licensing.OpEq, int64(3)), "alice"},
		{"int ne", cmp(level, licensing.OpNe, int64(3)), "bob carol dave davey"},
		{"int pr", pr(level), "alice bob carol"},
		{"decimal eq", cmp(score, licensing.OpEq, 4.5), "alice dave"},
		{"decimal lt", cmp(score, licensing.OpLt, 1.0), "bob"},
		{"bool eq true", cmp(vip, licensing.OpEq, true), "alice"},
		{"bool eq false", cmp(vip, licensing.OpEq, false), "bob"},
		{"bool ne", cmp(vip, licensing.OpNe, true), "bob carol dave davey"},
		{"bool pr counts false", pr(vip), "alice bob"},
		{"datetime in document gt", cmp(hired, licensing.OpGt, june2020), "bob"},
		{"datetime in document lt", cmp(hired, licensing.OpLt, june2020), "alice"},
		{"datetime in document eq", cmp(hired, licensing.OpEq, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)), "alice"},
		// Multi-valued attributes.
		{"emails type", anyOf(emails, cmp(emailType, licensing.OpEq, "WORK")), "alice bob"},
		{"emails both conditions on one element",
			anyOf(emails, and(cmp(emailType, licensing.OpEq, "home"), cmp(emailValue, licensing.OpCo, "example"))), "dave"},
		{"emails value", anyOf(emails, cmp(emailValue, licensing.OpEq, "bob@work.example")), "bob"},
		{"emails value case-exact", anyOf(emails, cmp(emailValueCase, licensing.OpEq, "bob@work.example")), ""},
		{"emails primary", anyOf(emails, cmp(emailPrimary, licensing.OpEq, true)), "alice dave"},
		{"emails pr skips empty array", pr(emails), "alice bob dave"},
		{"not emails type", not(anyOf(emails, cmp(emailType, licensing.OpEq, "work"))), "carol dave davey"},
		{"not emails value co", not(anyOf(emails, cmp(emailValue, licensing.OpCo, "example"))), "carol davey"},
		{"schemas element eq", anyOf(schemas, cmp(element, licensing.OpEq, enterpriseURN)), "alice"},
		{"schemas element sw", anyOf(schemas, cmp(element, licensing.OpSw, "urn:ietf:params:scim:schemas:extension")), "alice"},
		// Logic.
		{"and", and(cmp(active, licensing.OpEq, true), pr(title)), "alice"},
		{"or", or(cmp(userName, licensing.OpSw, "dave"), cmp(externalID, licensing.OpEq, "EXT-2")), "bob dave davey"},
		{"not", not(cmp(active, licensing.OpEq, true)), "bob davey"},
		{"not eq holds when absent", not(cmp(titleExact, licensing.OpEq, "Engineer")), "bob carol dave davey"},
		{"not pr", not(pr(displayName)), "bob"},
		{"not gt holds when absent", not(cmp(level, licensing.OpGt, int64(2))), "carol dave davey"},
		{"not not", not(not(cmp(active, licensing.OpEq, false))), "bob davey"},
		{"nested",
			and(or(cmp(userName, licensing.OpEq, "carol"), cmp(userName, licensing.OpEq, "alice@example.com")),
				not(cmp(active, licensing.OpEq, false))), "alice carol"},
	}
	ctx := context.Background()
	for _, c := range cases {
		page, err := s.Users(ctx, f.account.ID, licensing.Query{Filter: c.cond, Limit: 100})
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		got := f.shorts(page.Items)
		slices.Sort(got)
		if want := set(c.want); !slices.Equal(got, want) || page.Total != len(want) {
			t.Errorf("%s: got %v (total %d), want %v", c.name, got, page.Total, want)
		}
	}
}

func testGroupFilters(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	u1 := createUser(t, s, newUser(a.ID, "u1@example.com"))
	u2 := createUser(t, s, newUser(a.ID, "u2@example.com"))
	g1 := createGroup(t, s, newGroup(a.ID, "Admins", member(u1.ID)))
	g2 := newGroup(a.ID, "Support Team", member(u2.ID), member(g1.ID))
	g2.ExternalID = "gx-2"
	createGroup(t, s, g2)
	createGroup(t, s, newGroup(a.ID, "Empty"))
	groupName := attr(licensing.KindString, false, "displayName")
	cases := []struct {
		name string
		cond licensing.Cond
		want []string
	}{
		{"displayName eq", cmp(groupName, licensing.OpEq, "admins"), []string{"Admins"}},
		{"displayName co", cmp(groupName, licensing.OpCo, "TEAM"), []string{"Support Team"}},
		{"externalId eq", cmp(externalID, licensing.OpEq, "gx-2"), []string{"Support Team"}},
		{"id eq", cmp(idAttr, licensing.OpEq, g1.ID), []string{"Admins"}},
		{"member value", anyOf(members, cmp(memberValue, licensing.OpEq, u1.ID)), []string{"Admins"}},
		{"member type", anyOf(members, cmp(memberType, licensing.OpEq, "Group")), []string{"Support Team"}},
		{"member value and type",
			anyOf(members, and(cmp(memberValue, licensing.OpEq, u2.ID), cmp(memberType, licensing.OpEq, "User"))),
			[]string{"Support Team"}},
		{"member value and wrong type",
			anyOf(members, and(cmp(memberValue, licensing.OpEq, u2.ID), cmp(memberType, licensing.OpEq, "Group"))), nil},
		{"members pr", pr(members), []string{"Admins", "Support Team"}},
		{"not members pr", not(pr(members)), []string{"Empty"}},
		{"members.value as a path", cmp(attr(licensing.KindString, true, "members", "value"), licensing.OpEq, g1.ID),
			[]string{"Support Team"}},
	}
	for _, c := range cases {
		page, err := s.Groups(ctx, a.ID, licensing.Query{Filter: c.cond, Limit: 100})
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		var got []string
		for _, g := range page.Items {
			got = append(got, g.DisplayName)
		}
		slices.Sort(got)
		slices.Sort(c.want)
		if !slices.Equal(got, c.want) || page.Total != len(c.want) {
			t.Errorf("%s: got %v (total %d), want %v", c.name, got, page.Total, c.want)
		}
	}
}

func testInvalidQueries(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	createUser(t, s, newUser(a.ID, "u@example.com"))
	cases := []struct {
		name string
		q    licensing.Query
	}{
		{"co on a boolean", licensing.Query{Filter: cmp(active, licensing.OpCo, "t")}},
		{"gt on a boolean", licensing.Query{Filter: cmp(active, licensing.OpGt, true)}},
		{"sw on an integer", licensing.Query{Filter: cmp(level, licensing.OpSw, "1")}},
		{"string value for a boolean", licensing.Query{Filter: cmp(active, licensing.OpEq, "true")}},
		{"number for a string", licensing.Query{Filter: cmp(userName, licensing.OpEq, int64(5))}},
		{"string for a date-time", licensing.Query{Filter: cmp(lastModified, licensing.OpGt, "2024-01-01")}},
		{"unknown operator", licensing.Query{Filter: cmp(userName, licensing.Op("like"), "x")}},
		{"missing condition", licensing.Query{Filter: and(cmp(active, licensing.OpEq, true), nil)}},
		{"any without condition", licensing.Query{Filter: anyOf(emails, nil)}},
		{"negative limit", licensing.Query{Limit: -1}},
		{"negative offset", licensing.Query{Offset: -1, Limit: 1}},
		{"malformed cursor", licensing.Query{Limit: 1, After: "not a cursor!"}},
	}
	for _, c := range cases {
		_, err := s.Users(ctx, a.ID, c.q)
		if !errors.Is(err, licensing.ErrInvalid) {
			t.Errorf("%s: error %v, want ErrInvalid", c.name, err)
		}
	}
	_, err := s.Groups(ctx, a.ID, licensing.Query{Limit: 1, After: "%%%"})
	if !errors.Is(err, licensing.ErrInvalid) {
		t.Errorf("Groups with a malformed cursor: error %v, want ErrInvalid", err)
	}
}

func testSorting(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	cases := []struct {
		name string
		by   licensing.Attr
		desc bool
		cond licensing.Cond
		want string
	}{
		{"creation", licensing.Attr{}, false, nil, "alice bob carol dave davey"},
		{"userName", userName, false, nil, "alice bob carol dave davey"},
		{"userName descending", userName, true, nil, "davey dave carol bob alice"},
		{"displayName, missing last", displayName, false, nil, "alice carol dave davey bob"},
		{"displayName descending, missing first", displayName, true, nil, "bob davey dave carol alice"},
		{"title, ties by creation", title, false, nil, "carol alice bob davey dave"},
		{"title descending, ties by creation", title, true, nil, "dave davey alice bob carol"},
		{"title case-exact", titleExact, false, nil, "carol alice davey bob dave"},
		{"integer", level, false, nil, "carol alice bob dave davey"},
		{"integer descending", level, true, nil, "dave davey bob alice carol"},
		{"created descending", created, true, nil, "davey dave carol bob alice"},
		{"active", active, false, nil, "bob davey alice carol dave"},
		{"filtered", displayName, true, cmp(active, licensing.OpEq, true), "dave carol alice"},
	}
	for _, c := range cases {
		q := licensing.Query{Filter: c.cond, Descending: c.desc, Limit: 100}
		if c.by.Path != nil {
			q.SortBy = &c.by
		}
		page, err := s.Users(ctx, f.account.ID, q)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got, want := f.shorts(page.Items), strings.Fields(c.want); !slices.Equal(got, want) {
			t.Errorf("%s: got %v, want %v", c.name, got, want)
		}
	}
}

func testOffsetLimit(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	f := newFixture(t, s)
	cases := []struct {
		name          string
		sort          bool
		offset, limit int
		want          string
		next          bool
	}{
		{"first page", false, 0, 2, "alice bob", true},
		{"middle page", false, 2, 2, "carol dave", true},
		{"last page", false, 4, 2, "davey", false},
		{"exact end", false, 3, 2, "dave davey", false},
		{"past the end", false, 10, 2, "", false},
		{"total only", false, 0, 0, "", false},
		{"sorted page", true, 1, 3, "carol dave davey", true},
	}
	for _, c := range cases {
		q := licensing.Query{Offset: c.offset, Limit: c.limit}
		if c.sort {
			q.SortBy = &displayName
		}
		for range 2 { // the same query twice gives the same page
			page, err := s.Users(ctx, f.account.ID, q)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if got, want := f.shorts(page.Items), strings.Fields(c.want); !slices.Equal(got, want) {
				t.Errorf("%s: got %v, want %v", c.name, got, want)
			}
			if page.Total != 5 {
				t.Errorf("%s: total %d, want 5", c.name, page.Total)
			}
			if (page.Next != "") != c.next {
				t.Errorf("%s: next %q, want a next page: %t", c.name, page.Next, c.next)
			}
		}
	}
}

func testCursorPaging(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	for i := range 23 {
		u := newUser(a.ID, fmt.Sprintf("user%02d@example.com", i))
		u.Active = i%3 != 0
		if i%4 != 0 { // some lack displayName, many share one
			u.DisplayName = fmt.Sprintf("Name %d", i%5)
		}
		if i%6 != 0 {
			u.Doc = json.RawMessage(fmt.Sprintf(`{"%s": {"level": %d}}`, extURN, i%4))
		}
		createUser(t, s, u)
	}
	cases := []struct {
		name string
		q    licensing.Query
	}{
		{"creation order", licensing.Query{}},
		{"sorted", licensing.Query{SortBy: &displayName}},
		{"sorted descending", licensing.Query{SortBy: &displayName, Descending: true}},
		{"sorted by a document integer", licensing.Query{SortBy: &level}},
		{"sorted by a document integer descending", licensing.Query{SortBy: &level, Descending: true}},
		{"sorted by a boolean", licensing.Query{SortBy: &active}},
		{"sorted by a date-time descending", licensing.Query{SortBy: &created, Descending: true}},
		{"filtered", licensing.Query{Filter: cmp(active, licensing.OpEq, true), SortBy: &userName}},
	}
	for _, c := range cases {
		all := c.q
		all.Limit = 1000
		full, err := s.Users(ctx, a.ID, all)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		q := c.q
		q.Limit = 4
		var walked []string
		for pages := 0; ; pages++ {
			if pages > 30 {
				t.Fatalf("%s: cursor paging does not end", c.name)
			}
			page, err := s.Users(ctx, a.ID, q)
			if err != nil {
				t.Fatalf("%s: page %d: %v", c.name, pages, err)
			}
			if page.Total != full.Total {
				t.Errorf("%s: page %d total %d, want %d", c.name, pages, page.Total, full.Total)
			}
			walked = append(walked, userIDs(page.Items)...)
			if page.Next == "" {
				break
			}
			q.After = page.Next
			q.Offset = 7 // ignored once After is set
		}
		if want := userIDs(full.Items); !slices.Equal(walked, want) {
			t.Errorf("%s: cursor paging walked %d users %v, want each of %d once in order %v",
				c.name, len(walked), walked, len(want), want)
		}
	}
}
