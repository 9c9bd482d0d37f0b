package sqlstore

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/scimd/scimd/licensing"
)

// This file translates licensing.Cond and licensing.Query.SortBy into SQL.
// Every value becomes a bind parameter. Attribute names come from the
// adapter's allow-list; the few that are columns map to them, the others
// become literal JSON paths into doc, restricted to the characters of SCIM
// attribute names and schema URNs and quoted as JSON path keys.
//
// Conditions follow SQL's three-valued logic, with NULL standing for "the
// attribute is absent": AND and OR need no care, and NOT turns NULL into
// FALSE first, so that a comparison with an absent attribute is false and
// its negation true.
//
// A user's licensing extension is not in the document: its attributes are
// the rows of assignments (a group's, likewise, of group_assignments). The path [licensingURN, productID] names the
// user's license type of the product, "none" when there is no row, so it
// is always present; eq and ne become EXISTS / NOT EXISTS over the
// assignments of the product (served by the primary key, or by
// assignments_product_idx when the planner turns them into semi-joins),
// other operators and sorting compare the license (or 'none') as a
// case-insensitive string.

// resource describes how one resource type is stored.
type resource struct {
	// table is the table's name, quoted where needed; rows are aliased r.
	table string
	// columns maps canonical attribute paths (joined by ".") to columns.
	columns map[string]column
	// links are the multi-valued attributes backed by rows of a table of
	// their own (group_members, user_licenses) rather than by the
	// document.
	links []*link
	// licensing, when not nil, is the resource's licensing extension,
	// whose attributes are rows of assignments (users) or
	// group_assignments (groups) rather than parts of the document.
	licensing *extension
	// totals is the table of per-account counts the triggers of migration
	// 0005 keep, "" when the resource has none: an unfiltered listing's
	// total is their sum rather than a count over the account.
	totals string
}

// licensingURN is the SCIM licensing extension of User. An attribute path
// [licensingURN, productID] names the user's license type of the product
// (the adapter resolves the extension's attribute names to product ids).
const licensingURN = licensing.LicensingURN

// extension is a licensing extension kept as rows of an assignment table:
// the path [urn, productID] names the owner's license type of the product.
type extension struct {
	urn string
	assignmentTable
}

// link is a multi-valued attribute kept as rows of a table: a group's
// members or the groups a user is a direct member of (group_members), a
// user's licenses in force and pending (user_licenses). Conditions on its
// elements become EXISTS over those rows.
type link struct {
	// path is the attribute's path; name its last element.
	path []string
	name string
	// table holds the rows.
	table string
	// rows returns the condition tying the row aliased m to the resource
	// row r (served by an index of table).
	rows func(m string) string
	// fields maps the element's filterable sub-attributes to SQL string
	// expressions over the row aliased m.
	fields map[string]func(m string) string
}

var (
	membersLink = &link{
		path:  []string{"members"},
		name:  "members",
		table: "group_members",
		rows:  func(m string) string { return m + ".account_id = r.account_id AND " + m + ".group_id = r.id" },
		fields: map[string]func(m string) string{
			"value": func(m string) string { return m + ".member_id" },
			"type":  func(m string) string { return m + ".member_type" },
		},
	}
	// groupsLink holds the direct memberships only, so every element's
	// type is "direct".
	groupsLink = &link{
		path:  []string{"groups"},
		name:  "groups",
		table: "group_members",
		rows: func(m string) string {
			return m + ".account_id = r.account_id AND " + m + ".member_id = r.id AND " + m + ".member_type = 'User'"
		},
		fields: map[string]func(m string) string{
			"value": func(m string) string { return m + ".group_id" },
			"type":  func(string) string { return "'direct'" },
		},
	}
	// licensesLink is the read-only licenses of the User licensing
	// extension: the rows of user_licenses (reason is named_seats_exhausted
	// for the pending ones; sources are not filterable).
	licensesLink = &link{
		path:  []string{licensingURN, licensing.LicensesAttr},
		name:  licensing.LicensesAttr,
		table: "user_licenses",
		rows:  func(m string) string { return m + ".account_id = r.account_id AND " + m + ".user_id = r.id" },
		fields: map[string]func(m string) string{
			"product": func(m string) string { return m + ".product_id" },
			"license": func(m string) string { return m + ".license" },
			"status":  func(m string) string { return m + ".status" },
			"reason": func(m string) string {
				return "(CASE WHEN " + m + ".status = 'pending' THEN '" + licensing.ReasonNamedSeatsExhausted + "' ELSE '' END)"
			},
		},
	}
)

// column is a column-backed attribute.
type column struct {
	name     string
	kind     licensing.Kind
	nullable bool
}

var (
	usersResource = &resource{
		table: "users",
		columns: map[string]column{
			"id":                {name: "id"},
			"userName":          {name: "user_name"},
			"externalId":        {name: "external_id", nullable: true},
			"displayName":       {name: "display_name", nullable: true},
			"active":            {name: "active", kind: licensing.KindBool},
			"meta.created":      {name: "created", kind: licensing.KindDateTime},
			"meta.lastModified": {name: "last_modified", kind: licensing.KindDateTime},
		},
		links:     []*link{groupsLink, licensesLink},
		licensing: &extension{licensingURN, userAssignments},
		totals:    "user_totals",
	}
	groupsResource = &resource{
		table: `"groups"`,
		columns: map[string]column{
			"id":                {name: "id"},
			"displayName":       {name: "display_name"},
			"externalId":        {name: "external_id", nullable: true},
			"meta.created":      {name: "created", kind: licensing.KindDateTime},
			"meta.lastModified": {name: "last_modified", kind: licensing.KindDateTime},
		},
		links:     []*link{membersLink},
		licensing: &extension{licensing.GroupLicensingURN, groupAssignments},
	}
)

// column returns the column that holds the attribute at path, if any.
func (r *resource) column(path []string) (column, bool) {
	var key string
	switch {
	case len(path) == 1 && !strings.Contains(path[0], "."):
		key = path[0]
	case len(path) == 2 && path[0] == "meta":
		key = "meta." + path[1]
	default:
		return column{}, false
	}
	c, ok := r.columns[key]
	return c, ok
}

// maxDepth bounds how deeply the SQL of a condition nests: its levels of
// AND and OR groups and of EXISTS subqueries (a Not costs no level, as
// negations are pushed down to the comparisons). SQLite's SQL parser has a fixed stack, which about 17
// nested (NOT COALESCE(...)) used to exhaust (a 500); the SCIM adapter
// admits 16 levels of and, or, not and value filters, which this bound
// leaves room for on both dialects.
const maxDepth = 24

// maxNots bounds the Nots nested in a condition, which add nothing to
// its SQL but recursion to its translation.
const maxNots = 100

// maxGroup is the most terms one AND or OR group of the SQL holds: a
// longer And or Or becomes a group of groups, so that the expression
// tree SQLite builds (a OR b OR c is left-deep, and SQLite refuses trees
// deeper than 1000) grows with the logarithm of its length.
const maxGroup = 32

// translator accumulates the SQL of one query's conditions. The text it
// returns uses ? placeholders, and args holds their values in order.
type translator struct {
	dialect string
	res     *resource
	args    []any
	aliases int
}

// scope says what attribute paths are relative to: the resource row r,
// an element of a JSON array (elem) or a row of group_members (member)
// standing for an element of the resource's link.
type scope struct {
	elem   string
	member string
	// link is the link whose row member names.
	link *link
	// depth counts the AND/OR groups and EXISTS subqueries around the
	// condition (see maxDepth), nots the Nots (see maxNots).
	depth, nots int
}

func (s scope) top() bool { return s.elem == "" && s.member == "" }

func invalid(format string, args ...any) error {
	return fmt.Errorf("sqlstore: query: %w: %s", licensing.ErrInvalid, fmt.Sprintf(format, args...))
}

// cond translates a condition into an SQL boolean expression.
func (t *translator) cond(c licensing.Cond, sc scope) (string, error) {
	return t.expr(c, sc, false)
}

// expr translates a condition, or with negate its negation. Negations are
// pushed down to the comparisons (De Morgan), so that nested Nots add no
// nesting to the SQL: the negation of a comparison is
// (NOT COALESCE(cmp, FALSE)), true when the comparison is false or NULL
// (absent attribute), and of an Any NOT EXISTS. Every other expression is
// TRUE, FALSE or NULL standing for false, and AND and OR keep that
// meaning.
func (t *translator) expr(c licensing.Cond, sc scope, negate bool) (string, error) {
	if sc.depth > maxDepth || sc.nots > maxNots {
		return "", invalid("filter nested deeper than %d levels (or %d negations)", maxDepth, maxNots)
	}
	switch c := c.(type) {
	case licensing.Compare:
		return t.negatable(c, sc, negate)
	case *licensing.Compare:
		if c != nil {
			return t.negatable(*c, sc, negate)
		}
	case licensing.And:
		return t.group(c, !negate, sc, negate)
	case licensing.Or:
		return t.group(c, negate, sc, negate)
	case licensing.Not:
		sc.nots++
		return t.expr(c.Cond, sc, !negate)
	case *licensing.Not:
		if c != nil {
			sc.nots++
			return t.expr(c.Cond, sc, !negate)
		}
	case licensing.Any:
		return t.exists(c, sc, negate)
	case *licensing.Any:
		if c != nil {
			return t.exists(*c, sc, negate)
		}
	}
	if c == nil {
		return "", invalid("missing condition")
	}
	return "", invalid("unsupported condition %T", c)
}

// negatable translates a comparison, or its negation: true when the
// comparison is false or NULL (the attribute is absent).
func (t *translator) negatable(c licensing.Compare, sc scope, negate bool) (string, error) {
	s, err := t.compare(c, sc)
	if err != nil || !negate {
		return s, err
	}
	return "(NOT COALESCE(" + s + ", FALSE))", nil
}

// exists translates an Any, or its negation, one level deeper.
func (t *translator) exists(a licensing.Any, sc scope, negate bool) (string, error) {
	sc.depth++
	s, err := t.any(a, sc)
	if err != nil || !negate {
		return s, err
	}
	return "NOT " + s, nil
}

// group translates the conditions of an And (all true) or an Or (all
// false) into one flat SQL group, each condition negated with negate: an
// And's negation is the OR of its conditions' negations, an Or's the AND.
// An empty And is true, an empty Or false. Groups of more than maxGroup
// terms are split into groups of groups.
func (t *translator) group(conds []licensing.Cond, all bool, sc scope, negate bool) (string, error) {
	op := "OR"
	if all {
		op = "AND"
	}
	switch len(conds) {
	case 0:
		if all {
			return "(1 = 1)", nil
		}
		return "(1 = 0)", nil
	case 1:
		return t.expr(conds[0], sc, negate)
	}
	sc.depth++
	terms := make([]string, len(conds))
	for i, c := range conds {
		s, err := t.expr(c, sc, negate)
		if err != nil {
			return "", err
		}
		terms[i] = s
	}
	for len(terms) > maxGroup {
		groups := make([]string, 0, (len(terms)+maxGroup-1)/maxGroup)
		for len(terms) > 0 {
			n := min(len(terms), maxGroup)
			groups = append(groups, "("+strings.Join(terms[:n], " "+op+" ")+")")
			terms = terms[n:]
		}
		terms = groups
	}
	return "(" + strings.Join(terms, " "+op+" ") + ")", nil
}

func (t *translator) alias(prefix string) string {
	t.aliases++
	return fmt.Sprintf("%s%d", prefix, t.aliases)
}

// any translates a condition on the elements of a multi-valued attribute
// into EXISTS over group_members (the resource's link) or over the
// elements of a JSON array.
func (t *translator) any(a licensing.Any, sc scope) (string, error) {
	path := a.Attr.Path
	if len(path) == 0 {
		return "", invalid("multi-valued attribute without a name")
	}
	if a.Cond == nil {
		return "", invalid("condition on %s without a condition", dotted(path))
	}
	if sc.member != "" {
		return "", invalid("%s have no multi-valued attribute %s", sc.link.name, dotted(path))
	}
	if sc.top() {
		if l := t.linkOf(path); l != nil && len(path) == len(l.path) {
			m := t.alias("m")
			inner, err := t.cond(a.Cond, scope{member: m, link: l, depth: sc.depth, nots: sc.nots})
			if err != nil {
				return "", err
			}
			return linkExists(l, m, inner), nil
		}
		if t.isLicensing(path) {
			return "", invalid("%s is not multi-valued", dotted(path))
		}
		if _, ok := t.res.column(path); ok {
			return "", invalid("%s is not multi-valued", dotted(path))
		}
		if err := t.checkDocPath(path); err != nil {
			return "", err
		}
	}
	loc, err := t.locate(path, sc)
	if err != nil {
		return "", err
	}
	e := t.alias("e")
	inner, err := t.cond(a.Cond, scope{elem: e, depth: sc.depth, nots: sc.nots})
	if err != nil {
		return "", err
	}
	if t.dialect == DialectPostgres {
		j := loc.pgJSON()
		return "EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(" + j + ") = 'array' THEN " + j +
			" ELSE '[]'::jsonb END) AS " + e + "(v) WHERE " + inner + ")", nil
	}
	typ, val := loc.sqlite()
	return "EXISTS (SELECT 1 FROM json_each(CASE WHEN " + typ + " = 'array' THEN " + val + " END) AS " + e +
		" WHERE " + inner + ")", nil
}

// linkOf returns the resource's link a top-level path starts with, nil
// if none.
func (t *translator) linkOf(path []string) *link {
	for _, l := range t.res.links {
		if len(path) >= len(l.path) && slices.Equal(path[:len(l.path)], l.path) {
			return l
		}
	}
	return nil
}

// isLink reports whether a top-level path starts with one of the
// resource's links.
func (t *translator) isLink(path []string) bool { return t.linkOf(path) != nil }

// linkExists is the condition that some row of the link l, aliased m,
// satisfies cond ("" for any row).
func linkExists(l *link, m, cond string) string {
	s := "EXISTS (SELECT 1 FROM " + l.table + " AS " + m + " WHERE " + l.rows(m)
	if cond != "" {
		s += " AND " + cond
	}
	return s + ")"
}

// isLicensing reports whether a top-level path is in the licensing
// extension kept as assignments.
func (t *translator) isLicensing(path []string) bool {
	return t.res.licensing != nil && len(path) > 0 && path[0] == t.res.licensing.urn && !t.isLink(path)
}

// licenseProduct returns the product id of a licensing path, checked to
// be a catalog id (lower-case letters and digits in words joined by '-'),
// which therefore may stand in the SQL text as a string literal.
func licenseProduct(a licensing.Attr) (string, error) {
	if len(a.Path) != 2 {
		return "", invalid("%s: a licensing attribute is named by its product id, with no sub-attribute", dotted(a.Path))
	}
	if a.Kind != licensing.KindString {
		return "", invalid("%s is a string, not a %s", dotted(a.Path), kindName(a.Kind))
	}
	id := a.Path[1]
	if !validProductID(id) {
		return "", invalid("%q is not a product id", id)
	}
	return id, nil
}

// validProductID reports whether id has the form of a catalog product id.
func validProductID(id string) bool {
	if id == "" || len(id) > 64 || id[0] == '-' || id[len(id)-1] == '-' || strings.Contains(id, "--") {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// assignmentRows is the condition that the resource row r has an
// assignment row, aliased a, of the product in table; cond ("" for none)
// restricts it.
func assignmentRows(table assignmentTable, a, product, cond string) string {
	s := "EXISTS (SELECT 1 FROM " + table.table + " AS " + a + " WHERE " + a + ".account_id = r.account_id AND " +
		a + "." + table.owner + " = r.id AND " + a + ".product_id = '" + product + "'"
	if cond != "" {
		s += " AND " + cond
	}
	return s + ")"
}

// licenseCompare translates a comparison of a licensing attribute. eq and
// ne become EXISTS / NOT EXISTS over the user's assignment of the product
// ("none" meaning no assignment), comparing the license case-insensitively
// (stored licenses are lower case); pr always holds, as every user has a
// license type of every product, "none" included.
func (t *translator) licenseCompare(c licensing.Compare) (string, error) {
	product, err := licenseProduct(c.Attr)
	if err != nil {
		return "", err
	}
	if c.Op == licensing.OpPr {
		return "TRUE", nil
	}
	if c.Op == licensing.OpEq || c.Op == licensing.OpNe {
		v, ok := c.Value.(string)
		if !ok {
			return "", invalid("%s is a string, the value a %T", dotted(c.Attr.Path), c.Value)
		}
		a := t.alias("a")
		var exists string
		if v = strings.ToLower(v); v == string(licensing.LicenseNone) {
			exists = "NOT " + assignmentRows(t.res.licensing.assignmentTable, a, product, "")
		} else {
			t.args = append(t.args, v)
			exists = assignmentRows(t.res.licensing.assignmentTable, a, product, a+".license = ?")
		}
		if c.Op == licensing.OpNe {
			return "(NOT " + exists + ")", nil
		}
		return exists, nil
	}
	o, err := t.licenseOperand(c.Attr)
	if err != nil {
		return "", err
	}
	return t.comparison(o, c)
}

// licenseOperand is a licensing attribute as a string expression: the
// user's license of the product, or 'none'.
func (t *translator) licenseOperand(a licensing.Attr) (operand, error) {
	product, err := licenseProduct(a)
	if err != nil {
		return operand{}, err
	}
	al := t.alias("a")
	table := t.res.licensing
	expr := "COALESCE((SELECT " + al + ".license FROM " + table.table + " AS " + al + " WHERE " + al + ".account_id = r.account_id AND " +
		al + "." + table.owner + " = r.id AND " + al + ".product_id = '" + product + "'), 'none')"
	return operand{expr: expr, present: "TRUE"}, nil
}

// compare translates one comparison.
func (t *translator) compare(c licensing.Compare, sc scope) (string, error) {
	path := c.Attr.Path
	if sc.top() && t.isLicensing(path) {
		return t.licenseCompare(c)
	}
	if l := t.linkOf(path); sc.top() && l != nil {
		n := len(l.path)
		switch {
		case len(path) == n && c.Op == licensing.OpPr:
			return linkExists(l, t.alias("m"), ""), nil
		case len(path) == n+1:
			// members.value eq "x" means some member's value is "x".
			inner := c
			inner.Attr.Path = path[n:]
			return t.any(licensing.Any{Attr: licensing.Attr{Path: path[:n]}, Cond: inner}, sc)
		}
		return "", invalid("%s supports pr and conditions on its sub-attributes, not %s %s", l.name, dotted(path), c.Op)
	}
	o, err := t.operand(c.Attr, sc)
	if err != nil {
		return "", err
	}
	return t.comparison(o, c)
}

// operand is an attribute as an SQL expression.
type operand struct {
	// expr is the attribute's value of its kind, NULL when the attribute
	// is absent or holds a value of another type.
	expr string
	// present is the condition for pr.
	present string
	// nullable is false for expressions that are never NULL.
	nullable bool
	// text is set for date-times held as JSON strings, which compare as
	// ISO 8601 text.
	text bool
}

func (t *translator) operand(a licensing.Attr, sc scope) (operand, error) {
	path := a.Path
	if len(path) == 0 && sc.elem == "" {
		return operand{}, invalid("attribute without a name")
	}
	switch {
	case sc.member != "":
		l := sc.link
		field, ok := l.fields[dotted(path)]
		if !ok {
			return operand{}, invalid("%s can be filtered by %s, not %s", l.name, strings.Join(slices.Sorted(maps.Keys(l.fields)), " and "), dotted(path))
		}
		if a.Kind != licensing.KindString {
			return operand{}, invalid("%s.%s is a string", l.name, dotted(path))
		}
		name := field(sc.member)
		return operand{expr: name, present: "(" + name + " <> '')"}, nil
	case sc.top() && t.isLicensing(path):
		return t.licenseOperand(a)
	case sc.top():
		if col, ok := t.res.column(path); ok {
			if a.Kind != col.kind {
				return operand{}, invalid("%s is a %s, not a %s", dotted(path), kindName(col.kind), kindName(a.Kind))
			}
			name := "r." + col.name
			o := operand{expr: name, nullable: col.nullable, present: "(" + name + " IS NOT NULL)"}
			if col.kind == licensing.KindString {
				o.present = "(" + name + " <> '')"
			}
			return o, nil
		}
		if err := t.checkDocPath(path); err != nil {
			return operand{}, err
		}
	}
	loc, err := t.locate(path, sc)
	if err != nil {
		return operand{}, err
	}
	return t.jsonOperand(loc, a.Kind)
}

// checkDocPath rejects top-level paths that look like columns but are not:
// the document holds no id and no meta.
func (t *translator) checkDocPath(path []string) error {
	if path[0] == "meta" || path[0] == "id" {
		return invalid("%s cannot be filtered or sorted", dotted(path))
	}
	if _, ok := t.res.columns[path[0]]; ok {
		return invalid("%s has no sub-attribute %s", path[0], dotted(path[1:]))
	}
	return nil
}

// jsonLoc is a place in a JSON document: path below base. In SQLite an
// array element itself (empty path inside Any) is the json_each row elem.
type jsonLoc struct {
	base string
	path []string
	elem string
}

// locate returns the JSON location of path in the scope.
func (t *translator) locate(path []string, sc scope) (jsonLoc, error) {
	for _, k := range path {
		if !validKey(k) {
			return jsonLoc{}, invalid("attribute name %q has characters a SCIM attribute name cannot have", k)
		}
	}
	loc := jsonLoc{path: path, base: "r.doc"}
	if sc.elem != "" {
		switch {
		case t.dialect == DialectPostgres:
			loc.base = sc.elem + ".v"
		case len(path) == 0:
			loc.base, loc.elem = "", sc.elem
		default:
			// json_each gives objects as JSON text; anything else
			// has no sub-attributes.
			loc.base = "CASE WHEN " + sc.elem + ".type = 'object' THEN " + sc.elem + ".value END"
		}
	}
	return loc, nil
}

// validKey reports whether k may be a key of a JSON path: the characters of
// SCIM attribute names and schema URNs only, none of which needs escaping
// in a quoted key or a string literal.
func validKey(k string) bool {
	if k == "" {
		return false
	}
	for _, c := range k {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '_' || c == '-' || c == '.' || c == ':' || c == '$'
		if !ok {
			return false
		}
	}
	return true
}

// pgJSON is the location as a jsonb expression (NULL when absent).
func (l jsonLoc) pgJSON() string {
	if len(l.path) == 0 {
		return l.base
	}
	return "(" + l.base + " #> " + pgPath(l.path) + ")"
}

// pgText is the location as text: a string unquoted, anything else as
// JSON text, NULL when absent or JSON null.
func (l jsonLoc) pgText() string {
	return "(" + l.base + " #>> " + pgPath(l.path) + ")"
}

// sqlite returns the location's JSON type (json_type names, NULL when
// absent) and SQL value (json_extract semantics).
func (l jsonLoc) sqlite() (typ, val string) {
	if l.elem != "" {
		return l.elem + ".type", l.elem + ".value"
	}
	p := sqlitePath(l.path)
	return "json_type(" + l.base + ", " + p + ")", "json_extract(" + l.base + ", " + p + ")"
}

// pgPath quotes path as a text[] literal for #> and #>>.
func pgPath(path []string) string {
	var b strings.Builder
	b.WriteString("'{")
	for i, k := range path {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		b.WriteString(k)
		b.WriteByte('"')
	}
	b.WriteString("}'")
	return b.String()
}

// sqlitePath quotes path as an SQLite JSON path literal, every key in
// double quotes (schema URNs hold colons and dots).
func sqlitePath(path []string) string {
	var b strings.Builder
	b.WriteString("'$")
	for _, k := range path {
		b.WriteString(`."`)
		b.WriteString(k)
		b.WriteByte('"')
	}
	b.WriteByte('\'')
	return b.String()
}

// jsonOperand types the value at loc: an expression that is the value when
// it is a JSON value of the kind, NULL otherwise.
func (t *translator) jsonOperand(loc jsonLoc, kind licensing.Kind) (operand, error) {
	o := operand{nullable: true, text: kind == licensing.KindDateTime}
	if t.dialect == DialectPostgres {
		j, txt := loc.pgJSON(), loc.pgText()
		typ := "jsonb_typeof(" + j + ")"
		switch kind {
		case licensing.KindString, licensing.KindDateTime:
			o.expr = "(CASE WHEN " + typ + " = 'string' THEN " + txt + " END)"
		case licensing.KindBool:
			o.expr = "(CASE WHEN " + typ + " = 'boolean' THEN " + txt + " = 'true' END)"
		case licensing.KindInt, licensing.KindDecimal:
			o.expr = "(CASE WHEN " + typ + " = 'number' THEN (" + txt + ")::numeric END)"
		default:
			return operand{}, invalid("unknown attribute kind %d", kind)
		}
		o.present = "(CASE " + typ + " WHEN 'string' THEN " + txt + " <> '' WHEN 'array' THEN jsonb_array_length(" + j +
			") > 0 WHEN 'object' THEN " + j + " <> '{}'::jsonb WHEN 'null' THEN FALSE ELSE " + typ + " IS NOT NULL END)"
		return o, nil
	}
	typ, val := loc.sqlite()
	switch kind {
	case licensing.KindString, licensing.KindDateTime:
		o.expr = "(CASE WHEN " + typ + " = 'text' THEN " + val + " END)"
	case licensing.KindBool:
		o.expr = "(CASE " + typ + " WHEN 'true' THEN 1 WHEN 'false' THEN 0 END)"
	case licensing.KindInt, licensing.KindDecimal:
		o.expr = "(CASE WHEN " + typ + " IN ('integer', 'real') THEN " + val + " END)"
	default:
		return operand{}, invalid("unknown attribute kind %d", kind)
	}
	o.present = "(CASE " + typ + " WHEN 'text' THEN " + val + " <> '' WHEN 'array' THEN json_array_length(" + val +
		") > 0 WHEN 'object' THEN json(" + val + ") <> '{}' WHEN 'null' THEN 0 ELSE " + typ + " IS NOT NULL END)"
	return o, nil
}

// comparison translates operand op value.
func (t *translator) comparison(o operand, c licensing.Compare) (string, error) {
	a := c.Attr
	if c.Op == licensing.OpPr {
		return o.present, nil
	}
	arg, err := t.value(o, a, c.Value)
	if err != nil {
		return "", err
	}
	x, p := o.expr, "?"
	folded := a.Kind == licensing.KindString && !a.CaseExact
	if folded {
		// For userName and group displayName this is the expression of
		// the unique index, which therefore serves eq.
		x, p = "lower("+x+")", "lower(?)"
	}
	switch c.Op {
	case licensing.OpEq:
		t.args = append(t.args, arg)
		return x + " = " + p, nil
	case licensing.OpNe:
		t.args = append(t.args, arg)
		if o.nullable {
			return "(" + o.expr + " IS NULL OR " + x + " <> " + p + ")", nil
		}
		return x + " <> " + p, nil
	case licensing.OpGt, licensing.OpGe, licensing.OpLt, licensing.OpLe:
		if a.Kind == licensing.KindBool {
			return "", invalid("%s is a boolean and cannot be ordered with %s", dotted(a.Path), c.Op)
		}
		if t.dialect == DialectPostgres && (a.Kind == licensing.KindString || o.text) {
			// Code point order, as in SQLite, whatever the database's
			// collation.
			x += ` COLLATE "C"`
		}
		t.args = append(t.args, arg)
		return x + " " + orderOps[c.Op] + " " + p, nil
	case licensing.OpCo, licensing.OpSw, licensing.OpEw:
		if a.Kind != licensing.KindString {
			return "", invalid("%s is a %s; %s needs a string", dotted(a.Path), kindName(a.Kind), c.Op)
		}
		return t.match(x, p, folded, c.Op, arg.(string)), nil
	}
	return "", invalid("unknown operator %q", c.Op)
}

var orderOps = map[licensing.Op]string{
	licensing.OpGt: ">", licensing.OpGe: ">=", licensing.OpLt: "<", licensing.OpLe: "<=",
}

// match translates co, sw and ew. LIKE serves every case but case-exact
// matching on SQLite, whose LIKE ignores ASCII case: there instr and substr
// do it.
func (t *translator) match(x, p string, folded bool, op licensing.Op, v string) string {
	if t.dialect == DialectSQLite && !folded {
		switch op {
		case licensing.OpCo:
			t.args = append(t.args, v)
			return "instr(" + x + ", ?) > 0"
		case licensing.OpSw:
			t.args = append(t.args, v, v)
			return "substr(" + x + ", 1, length(?)) = ?"
		default:
			t.args = append(t.args, v, v, v)
			return "(length(" + x + ") >= length(?) AND substr(" + x + ", length(" + x + ") - length(?) + 1) = ?)"
		}
	}
	pattern := escapeLike(v)
	switch op {
	case licensing.OpCo:
		pattern = "%" + pattern + "%"
	case licensing.OpSw:
		pattern += "%"
	default:
		pattern = "%" + pattern
	}
	t.args = append(t.args, pattern)
	return x + " LIKE " + p + ` ESCAPE '\'`
}

// escapeLike escapes the LIKE wildcards and the escape character itself.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// value checks that v suits the attribute's kind and converts it into a
// bind parameter of the dialect.
func (t *translator) value(o operand, a licensing.Attr, v any) (any, error) {
	bad := func() (any, error) {
		return nil, invalid("%s is a %s, the value a %T", dotted(a.Path), kindName(a.Kind), v)
	}
	switch a.Kind {
	case licensing.KindString:
		if s, ok := v.(string); ok {
			return s, nil
		}
	case licensing.KindBool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case licensing.KindInt:
		switch n := v.(type) {
		case int64:
			return n, nil
		case int:
			return int64(n), nil
		}
	case licensing.KindDecimal:
		switch n := v.(type) {
		case float64:
			return n, nil
		case int64:
			return n, nil
		case int:
			return int64(n), nil
		}
	case licensing.KindDateTime:
		tm, ok := v.(time.Time)
		if !ok {
			return bad()
		}
		if o.text {
			return tm.UTC().Format(time.RFC3339Nano), nil
		}
		return timeArg(t.dialect, tm), nil
	}
	return bad()
}

// sortKey returns the expression to order by: the attribute's value,
// case-folded unless case-exact, in code point order.
func (t *translator) sortKey(a licensing.Attr) (string, error) {
	if t.isLink(a.Path) {
		return "", invalid("cannot sort by %s", dotted(a.Path))
	}
	o, err := t.operand(a, scope{})
	if err != nil {
		return "", err
	}
	x := o.expr
	if a.Kind == licensing.KindString && !a.CaseExact {
		x = "lower(" + x + ")"
	}
	if t.dialect == DialectPostgres && (a.Kind == licensing.KindString || o.text) {
		x += ` COLLATE "C"`
	}
	return x, nil
}

// sortKeyIn is sortKey for an attribute below a multi-valued one: the
// first n elements of a.Path name the multi-valued attribute, the rest
// the sub-attribute (none for a simple multi-valued attribute). The key
// is that sub-attribute of the element marked primary, else of the first
// element (RFC 7644 section 3.4.2.3). n 0 is sortKey.
func (t *translator) sortKeyIn(a licensing.Attr, n int) (string, error) {
	if n == 0 {
		return t.sortKey(a)
	}
	if n > len(a.Path) {
		return "", invalid("cannot sort by %s", dotted(a.Path))
	}
	arr := a.Path[:n]
	if t.isLink(arr) {
		return "", invalid("cannot sort by %s", dotted(a.Path))
	}
	if _, ok := t.res.column(arr); ok {
		return "", invalid("%s is not multi-valued", dotted(arr))
	}
	if err := t.checkDocPath(arr); err != nil {
		return "", err
	}
	loc, err := t.locate(arr, scope{})
	if err != nil {
		return "", err
	}
	e := t.alias("e")
	in := scope{elem: e}
	val, err := t.operand(licensing.Attr{Path: a.Path[n:], Kind: a.Kind, CaseExact: a.CaseExact}, in)
	if err != nil {
		return "", err
	}
	primary, err := t.operand(licensing.Attr{Path: []string{"primary"}, Kind: licensing.KindBool}, in)
	if err != nil {
		return "", err
	}
	x := val.expr
	if a.Kind == licensing.KindString && !a.CaseExact {
		x = "lower(" + x + ")"
	}
	var sub string
	if t.dialect == DialectPostgres {
		j := loc.pgJSON()
		sub = "(SELECT " + x + " FROM jsonb_array_elements(CASE WHEN jsonb_typeof(" + j + ") = 'array' THEN " + j +
			" ELSE '[]'::jsonb END) WITH ORDINALITY AS " + e + "(v, n) ORDER BY COALESCE(" + primary.expr + ", FALSE) DESC, " + e + ".n LIMIT 1)"
		if a.Kind == licensing.KindString || val.text {
			sub += ` COLLATE "C"`
		}
		return sub, nil
	}
	typ, v := loc.sqlite()
	return "(SELECT " + x + " FROM json_each(CASE WHEN " + typ + " = 'array' THEN " + v + " END) AS " + e +
		" ORDER BY COALESCE(" + primary.expr + ", 0) DESC, " + e + ".key LIMIT 1)", nil
}

func dotted(path []string) string { return strings.Join(path, ".") }

func kindName(k licensing.Kind) string {
	switch k {
	case licensing.KindString:
		return "string"
	case licensing.KindBool:
		return "boolean"
	case licensing.KindInt:
		return "integer"
	case licensing.KindDecimal:
		return "decimal"
	case licensing.KindDateTime:
		return "dateTime"
	}
	return fmt.Sprintf("kind %d", k)
}
