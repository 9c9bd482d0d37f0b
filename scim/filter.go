package scim

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/elimity-com/scim/schema"
	filter "github.com/scim2/filter-parser/v2"

	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/schemas"
)

// This file translates SCIM filters (RFC 7644 section 3.4.2.2) and sortBy
// parameters into the store-neutral query language of package licensing.
// Every attribute is resolved against the resource type's schemas, which
// act as the allow-list: a name the schemas do not define is rejected, and
// the names that come out are spelled as the schema spells them.
//
// The helpers that resolve attribute paths against a resource type live
// here too; project.go and the PATCH files (patch_path.go first) use
// them.

// Limits on filters, so that a hostile filter cannot make parsing or the
// store's translation expensive, and every filter accepted runs on both
// stores (SQLite's SQL parser takes less nesting than PostgreSQL's).
const (
	// maxFilterLength is the longest filter accepted, in bytes: room for
	// an or of 500 "id eq" comparisons, or of maxFilterComparisons short
	// ones. The parser takes about 5 µs a byte.
	maxFilterLength = 32 << 10
	// maxFilterDepth is the deepest nesting of parentheses and brackets
	// in the text, and of and, or, not and value filters in the
	// translated condition (a chain of one operator, a or b or c, is one
	// level however long).
	maxFilterDepth = 16
	// maxFilterComparisons is the most comparisons a filter may hold.
	maxFilterComparisons = 1000
)

// resolvedAttr is an attribute path resolved against a resource type.
type resolvedAttr struct {
	// ext is the extension schema the attribute belongs to, nil for core
	// and common attributes.
	ext *schema.Schema
	// attr is the top-level attribute.
	attr schema.CoreAttribute
	// sub is the sub-attribute named after a dot, nil when none.
	sub *schema.CoreAttribute
	// product is the catalog product id of an attribute of the licensing
	// extension (remote-support-v5 for remoteSupportV5), "" otherwise.
	product string
}

// path returns the canonical path of the attribute from the resource root,
// including the sub-attribute when there is one. An attribute of the
// licensing extension is named by its product id, not its attribute name
// ([LicensingURN, "remote-support-v5"]): that is how stores find the
// user's assignment of the product (the extension is not in the JSON
// document).
func (r resolvedAttr) path() []string {
	if r.product != "" {
		return []string{r.ext.ID, r.product}
	}
	var p []string
	if r.ext != nil {
		p = append(p, r.ext.ID)
	}
	p = append(p, r.attr.Name())
	if r.sub != nil {
		p = append(p, r.sub.Name())
	}
	return p
}

// leaf returns the attribute the path ends at: the sub-attribute when
// there is one, else the top-level attribute.
func (r resolvedAttr) leaf() schema.CoreAttribute {
	if r.sub != nil {
		return *r.sub
	}
	return r.attr
}

// commonAttributes are the attributes every resource has besides its
// schema's (RFC 7643 section 3.1): schemas, id, externalId and meta.
var commonAttributes = schema.CommonAttributes()

// findAttribute returns the attribute of attrs named name, compared
// case-insensitively.
func findAttribute(attrs []schema.CoreAttribute, name string) (schema.CoreAttribute, bool) {
	for _, a := range attrs {
		if strings.EqualFold(a.Name(), name) {
			return a, true
		}
	}
	return schema.CoreAttribute{}, false
}

// resolveTopAttribute finds the top-level attribute name in the schema the
// URI names: the core schema (and the common attributes) when uri is empty
// or the core schema's URN, else the extension with that URN. URNs and
// names compare case-insensitively. It returns the extension (nil for core
// attributes) and the attribute; ok is false when nothing matches.
func resolveTopAttribute(rt schemas.Resource, uri, name string) (*schema.Schema, schema.CoreAttribute, bool) {
	if uri == "" || strings.EqualFold(uri, rt.Core.ID) {
		if a, ok := findAttribute(rt.Core.Attributes, name); ok {
			return nil, a, true
		}
		if a, ok := findAttribute(commonAttributes, name); ok {
			return nil, a, true
		}
		return nil, schema.CoreAttribute{}, false
	}
	ext, ok := rt.Extension(uri)
	if !ok {
		return nil, schema.CoreAttribute{}, false
	}
	a, ok := findAttribute(ext.Attributes, name)
	if !ok {
		return nil, schema.CoreAttribute{}, false
	}
	return &ext, a, true
}

// resolveAttributePath resolves a parsed attribute path (optional URN,
// name, optional sub-attribute) against the resource type. It returns a
// description of what is wrong when the path names nothing.
func resolveAttributePath(rt schemas.Resource, p filter.AttributePath) (resolvedAttr, string) {
	ext, attr, ok := resolveTopAttribute(rt, p.URI(), p.AttributeName)
	if !ok {
		if uri := p.URI(); uri != "" && !strings.EqualFold(uri, rt.Core.ID) {
			if _, known := rt.Extension(uri); !known {
				return resolvedAttr{}, fmt.Sprintf("unknown schema %q in attribute %q", uri, p.String())
			}
		}
		return resolvedAttr{}, fmt.Sprintf("unknown attribute %q", p.String())
	}
	r := resolvedAttr{ext: ext, attr: attr}
	if ext != nil && ext.ID == schemas.LicensingURN && attr.Name() != licensing.LicensesAttr {
		product, ok := rt.Catalog.ByAttribute(attr.Name())
		if !ok {
			return resolvedAttr{}, fmt.Sprintf("unknown attribute %q", p.String())
		}
		r.product = product.ID
	}
	if p.SubAttribute != nil {
		sub, ok := findAttribute(attr.SubAttributes(), *p.SubAttribute)
		if !ok {
			return resolvedAttr{}, fmt.Sprintf("unknown sub-attribute %q", p.String())
		}
		r.sub = &sub
	}
	return r, ""
}

// attrKind maps a schema attribute type to the query kind; ok is false for
// complex attributes, which have no kind.
func attrKind(a schema.CoreAttribute) (licensing.Kind, bool) {
	switch a.AttributeType() {
	case "string", "reference", "binary":
		return licensing.KindString, true
	case "boolean":
		return licensing.KindBool, true
	case "integer":
		return licensing.KindInt, true
	case "decimal":
		return licensing.KindDecimal, true
	case "dateTime":
		return licensing.KindDateTime, true
	default:
		return 0, false
	}
}

// parseFilterSafely runs the filter parser, turning a panic inside it into
// an error: the parser is third-party code fed with client input.
func parseFilterSafely(raw string) (e filter.Expression, err error) {
	defer func() {
		if r := recover(); r != nil {
			e, err = nil, fmt.Errorf("filter parser panicked: %v", r)
		}
	}()
	return parseFilterHook([]byte(raw))
}

// parseFilterHook is the parser compileFilter uses; tests replace it to
// check that a panicking parser is contained.
var parseFilterHook = filter.ParseFilter

// parsePathSafely parses a PATCH path, turning a panic inside the parser
// into an error.
func parsePathSafely(raw string) (p filter.Path, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, err = filter.Path{}, fmt.Errorf("path parser panicked: %v", r)
		}
	}()
	return filter.ParsePath([]byte(raw))
}

// parseAttrPathSafely parses an attribute path, turning a panic inside the
// parser into an error.
func parseAttrPathSafely(raw string) (p filter.AttributePath, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, err = filter.AttributePath{}, fmt.Errorf("path parser panicked: %v", r)
		}
	}()
	return filter.ParseAttrPath([]byte(raw))
}

// checkFilterShape rejects filters that are too long or nest parentheses
// and brackets too deeply, before they reach the parser. String literals
// are skipped, so a parenthesis inside quotes does not count.
func checkFilterShape(raw string) error {
	if len(raw) > maxFilterLength {
		return errInvalidFilter("The filter is longer than %d bytes.", maxFilterLength)
	}
	depth, lit := 0, literalScanner{}
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case !lit.outside(c):
		case c == '(' || c == '[':
			depth++
			if depth > maxFilterDepth {
				return errInvalidFilter("The filter nests deeper than %d levels.", maxFilterDepth)
			}
		case c == ')' || c == ']':
			depth--
		}
	}
	return nil
}

// quotable shortens a filter to quote in an error to its first 200 bytes.
func quotable(raw string) string {
	const most = 200
	if len(raw) <= most {
		return raw
	}
	cut := most
	for cut > 0 && !utf8.RuneStart(raw[cut]) {
		cut--
	}
	return raw[:cut] + "..."
}

// compileFilter parses a SCIM filter and translates it into a licensing
// condition, resolving every attribute against rt's schemas.
//
// All the operators of RFC 7644 section 3.4.2.2 are supported: eq, ne, co,
// sw, ew, gt, ge, lt, le, pr, and, or, not, grouping parentheses and value
// paths (emails[type eq "work" and primary eq true]). Attribute names and
// schema URNs are case-insensitive; the condition uses canonical names.
// A filter on a multi-valued attribute (emails.value eq "x", or emails eq
// "x" which means emails.value) becomes licensing.Any over the attribute.
// Extension attributes are named with their URN prefix and get the URN as
// the first element of their path. The attributes of the licensing
// extension get the product id as the second element
// ([LicensingURN, "remote-support-v5"]); their value is the user's license
// type of the product, "none" when the user does not hold it, so every
// user has them (pr always holds) and eq "none" selects the users without
// the product. They compare case-insensitively.
//
// Compare values must suit the attribute's type: strings for string,
// reference and binary attributes, true or false for booleans, integers
// for integers, numbers for decimals and RFC 3339 strings for dateTime
// attributes (which come out as time.Time). "eq null" means "not present"
// and "ne null" means "present". Ordering operators do not apply to
// booleans and binary attributes, and co, sw and ew only to strings.
//
// Not filterable are attributes that are never returned (password),
// schemas, meta sub-attributes other than created and lastModified, the
// Group members sub-attributes other than value and type, and the User
// groups sub-attributes other than value (the group id) and type (always
// "direct": groups holds the direct memberships).
//
// Every problem is reported as an invalidFilter request error whose detail
// names the offending attribute; compileFilter never panics.
func compileFilter(raw string, rt schemas.Resource) (licensing.Cond, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, errInvalidFilter("The filter is empty.")
	}
	if err := checkFilterShape(raw); err != nil {
		return nil, err
	}
	if !utf8.ValidString(raw) {
		return nil, errInvalidFilter("The filter is not valid UTF-8.")
	}
	e, ok := simpleComparison(raw)
	var err error
	if !ok {
		e, err = parseFilterSafely(raw)
	}
	if err != nil {
		// Entra sends emails[type eq "work"].value eq "x", which RFC 7644's
		// grammar lacks; it means emails[type eq "work" and value eq "x"].
		rewritten, ok := foldValuePathSubAttributes(raw)
		if !ok {
			return nil, errInvalidFilter("The filter %q cannot be parsed.", quotable(raw))
		}
		if e, err = parseFilterSafely(rewritten); err != nil {
			return nil, errInvalidFilter("The filter %q cannot be parsed.", quotable(raw))
		}
	}
	c := filterCompiler{rt: rt, forStore: true}
	cond, err := c.compile(e, 0)
	if err != nil {
		return nil, err
	}
	switch depth, n := licensing.CondShape(cond); {
	case depth > maxFilterDepth:
		return nil, errInvalidFilter("The filter nests deeper than %d levels.", maxFilterDepth)
	case n > maxFilterComparisons:
		return nil, errInvalidFilter("The filter has %d comparisons; at most %d are accepted.", n, maxFilterComparisons)
	}
	return cond, nil
}

// filterCompiler translates parsed filters. With forStore set it applies
// the restrictions of the store's allow-list (see compileFilter); without
// it (PATCH value filters, evaluated in Go) every returnable attribute may
// be used.
type filterCompiler struct {
	rt       schemas.Resource
	forStore bool
}

// compile translates an expression at the resource root. depth counts
// the recursion; the limit is a safety net, as the length limit already
// bounds it.
func (c filterCompiler) compile(e filter.Expression, depth int) (licensing.Cond, error) {
	if depth > maxFilterLength {
		return nil, errInvalidFilter("The filter is too deeply nested.")
	}
	switch e := e.(type) {
	case *filter.LogicalExpression:
		return logicalChain(e, func(x filter.Expression) (licensing.Cond, error) { return c.compile(x, depth+1) })
	case *filter.NotExpression:
		inner, err := c.compile(e.Expression, depth+1)
		if err != nil {
			return nil, err
		}
		return licensing.Not{Cond: inner}, nil
	case *filter.AttributeExpression:
		return c.attributeExpression(e)
	case *filter.ValuePath:
		return c.valuePath(e, depth)
	default:
		return nil, errInvalidFilter("The filter has an unsupported expression.")
	}
}

// logicalChain translates a chain of one logical operator (a or b or c,
// which the parser nests one level per operand) into one flat And or Or,
// translating each operand with one. The chain is walked without
// recursion, so its length does not make the stack deeper; an operand
// that is itself an And (or Or) of the same operator is merged in.
func logicalChain(e *filter.LogicalExpression, operand func(filter.Expression) (licensing.Cond, error)) (licensing.Cond, error) {
	op := filter.LogicalOperator(strings.ToLower(string(e.Operator)))
	if op != filter.AND && op != filter.OR {
		return nil, errInvalidFilter("The filter has an unknown logical operator %q.", e.Operator)
	}
	var conds []licensing.Cond
	stack := []filter.Expression{e}
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if l, ok := x.(*filter.LogicalExpression); ok && filter.LogicalOperator(strings.ToLower(string(l.Operator))) == op {
			stack = append(stack, l.Right, l.Left)
			continue
		}
		c, err := operand(x)
		if err != nil {
			return nil, err
		}
		switch c := c.(type) {
		case licensing.And:
			if op == filter.AND {
				conds = append(conds, c...)
				continue
			}
		case licensing.Or:
			if op == filter.OR {
				conds = append(conds, c...)
				continue
			}
		}
		conds = append(conds, c)
	}
	if op == filter.AND {
		return licensing.And(conds), nil
	}
	return licensing.Or(conds), nil
}

// resolve resolves a root-level attribute path and applies the
// filterability rules to the top-level attribute.
func (c filterCompiler) resolve(p filter.AttributePath) (resolvedAttr, error) {
	r, problem := resolveAttributePath(c.rt, p)
	if problem != "" {
		return resolvedAttr{}, errInvalidFilter("The filter names an %s.", problem)
	}
	if err := c.filterable(r.attr, p.String()); err != nil {
		return resolvedAttr{}, err
	}
	if c.forStore && r.ext != nil && r.ext.ID == schemas.GroupLicensingURN {
		return resolvedAttr{}, errInvalidFilter("The attribute %q is not filterable: filter the users by their licenses instead.", p.String())
	}
	if r.sub != nil {
		if err := c.subFilterable(r.ext, r.attr, *r.sub, p.String()); err != nil {
			return resolvedAttr{}, err
		}
	}
	return r, nil
}

// filterable reports an error when the top-level attribute cannot be used
// in a filter.
func (c filterCompiler) filterable(a schema.CoreAttribute, name string) error {
	if a.Returned() == "never" {
		return errInvalidFilter("The attribute %q is not filterable.", name)
	}
	if c.forStore && a.Name() == "schemas" {
		return errInvalidFilter("The attribute %q is not filterable.", name)
	}
	return nil
}

// subFilterable reports an error when the sub-attribute of a cannot be
// used in a filter.
func (c filterCompiler) subFilterable(ext *schema.Schema, a, sub schema.CoreAttribute, name string) error {
	if sub.Returned() == "never" {
		return errInvalidFilter("The attribute %q is not filterable.", name)
	}
	if c.forStore && ext != nil && ext.ID == schemas.LicensingURN && a.Name() == licensing.LicensesAttr && sub.Name() == "sources" {
		return errInvalidFilter("The attribute %q is not filterable: only product, license, status and reason are.", name)
	}
	if !c.forStore || ext != nil {
		return nil
	}
	switch {
	case a.Name() == "meta" && sub.Name() != "created" && sub.Name() != "lastModified":
		return errInvalidFilter("The attribute %q is not filterable.", name)
	case a.Name() == "members" && c.rt.Core.ID == schemas.GroupURN && sub.Name() != "value" && sub.Name() != "type":
		return errInvalidFilter("The attribute %q is not filterable: only members.value and members.type are.", name)
	case a.Name() == "groups" && c.rt.Core.ID == schemas.UserURN && sub.Name() != "value" && sub.Name() != "type":
		return errInvalidFilter("The attribute %q is not filterable: only groups.value and groups.type are.", name)
	}
	return nil
}

// comparedAs returns the sub-attribute of a multi-valued attribute as a
// filter compares it. A User's groups.value is a group's id, which is
// case-exact (RFC 7643 section 3.1) as "id eq" compares it, although the
// core schema declares groups.value caseExact false: so the store can
// look memberships up by group id through its index.
func (c filterCompiler) comparedAs(a, sub schema.CoreAttribute) schema.CoreAttribute {
	if c.rt.Core.ID != schemas.UserURN || a.Name() != "groups" || sub.Name() != "value" {
		return sub
	}
	return schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
		CaseExact:  true,
		Mutability: schema.AttributeMutabilityReadOnly(),
		Name:       sub.Name(),
	}))
}

// attributeExpression translates "attrPath op value" at the resource root.
func (c filterCompiler) attributeExpression(e *filter.AttributeExpression) (licensing.Cond, error) {
	name := e.AttributePath.String()
	r, err := c.resolve(e.AttributePath)
	if err != nil {
		return nil, err
	}
	base := resolvedAttr{ext: r.ext, attr: r.attr, product: r.product}.path()
	if r.sub == nil || strings.EqualFold(r.sub.Name(), "value") {
		if cond, ok := c.catalogEntitlement(r, e); ok {
			return cond, nil
		}
	}
	switch {
	case r.attr.MultiValued():
		// A comparison on a multi-valued attribute holds when one of its
		// values satisfies it. Without a sub-attribute, a complex
		// attribute's "value" sub-attribute is meant (RFC 7644 3.4.2.2).
		leaf, inner := r.attr, []string(nil)
		if r.attr.AttributeType() == "complex" {
			sub := r.sub
			if sub == nil {
				v, ok := findAttribute(r.attr.SubAttributes(), "value")
				if !ok {
					return nil, errInvalidFilter("The attribute %q is complex: name one of its sub-attributes.", name)
				}
				if err := c.subFilterable(r.ext, r.attr, v, name+".value"); err != nil {
					return nil, err
				}
				sub = &v
			}
			leaf, inner = c.comparedAs(r.attr, *sub), []string{sub.Name()}
		} else if r.sub != nil {
			return nil, errInvalidFilter("The attribute %q has no sub-attributes.", name)
		}
		cond, err := compare(leaf, inner, e, name)
		if err != nil {
			return nil, err
		}
		return licensing.Any{Attr: licensing.Attr{Path: base, Kind: licensing.KindString}, Cond: cond}, nil
	case r.attr.AttributeType() == "complex" && r.sub == nil:
		// "name pr" holds when any sub-attribute is present.
		if e.Operator != filter.PR {
			return nil, errInvalidFilter("The attribute %q is complex: name one of its sub-attributes.", name)
		}
		var cond licensing.Or
		for _, sub := range r.attr.SubAttributes() {
			if c.subFilterable(r.ext, r.attr, sub, name) != nil {
				continue
			}
			p := append(append([]string(nil), base...), sub.Name())
			kind, _ := attrKind(sub)
			cond = append(cond, licensing.Compare{Attr: licensing.Attr{Path: p, Kind: kind, CaseExact: sub.CaseExact()}, Op: licensing.OpPr})
		}
		switch len(cond) {
		case 0:
			return nil, errInvalidFilter("The attribute %q is not filterable.", name)
		case 1:
			return cond[0], nil
		}
		return cond, nil
	default:
		return compare(r.leaf(), r.path(), e, name)
	}
}

// valuePath translates attr[filter] at the resource root: licensing.Any
// for a multi-valued attribute, the inner filter on the sub-attributes for
// a single-valued complex one.
func (c filterCompiler) valuePath(e *filter.ValuePath, depth int) (licensing.Cond, error) {
	name := e.AttributePath.String()
	if e.AttributePath.SubAttribute != nil {
		return nil, errInvalidFilter("The value path %q must name an attribute, not a sub-attribute.", name)
	}
	r, err := c.resolve(e.AttributePath)
	if err != nil {
		return nil, err
	}
	base := r.path()
	if inner, ok := e.ValueFilter.(*filter.AttributeExpression); ok && strings.EqualFold(inner.AttributePath.AttributeName, "value") && inner.AttributePath.SubAttribute == nil {
		if cond, ok := c.catalogEntitlement(r, inner); ok {
			return cond, nil
		}
	}
	if !r.attr.MultiValued() {
		if r.attr.AttributeType() != "complex" {
			return nil, errInvalidFilter("The attribute %q is neither complex nor multi-valued.", name)
		}
		return c.element(r, e.ValueFilter, base, depth+1)
	}
	inner, err := c.element(r, e.ValueFilter, nil, depth+1)
	if err != nil {
		return nil, err
	}
	return licensing.Any{Attr: licensing.Attr{Path: base, Kind: licensing.KindString}, Cond: inner}, nil
}

// element translates the filter inside the brackets of a value path on
// attribute r.attr. Names resolve against r.attr's sub-attributes (or, for
// a multi-valued simple attribute, "value" is the element itself); prefix
// is prepended to each path.
func (c filterCompiler) element(r resolvedAttr, e filter.Expression, prefix []string, depth int) (licensing.Cond, error) {
	if depth > maxFilterLength {
		return nil, errInvalidFilter("The filter is too deeply nested.")
	}
	outer := r.attr.Name()
	switch e := e.(type) {
	case *filter.LogicalExpression:
		return logicalChain(e, func(x filter.Expression) (licensing.Cond, error) { return c.element(r, x, prefix, depth+1) })
	case *filter.NotExpression:
		inner, err := c.element(r, e.Expression, prefix, depth+1)
		if err != nil {
			return nil, err
		}
		return licensing.Not{Cond: inner}, nil
	case *filter.AttributeExpression:
		p := e.AttributePath
		name := outer + "." + p.String()
		if p.URIPrefix != nil || p.SubAttribute != nil {
			return nil, errInvalidFilter("The filter names an unknown sub-attribute %q.", name)
		}
		if r.attr.AttributeType() != "complex" {
			if !strings.EqualFold(p.AttributeName, "value") {
				return nil, errInvalidFilter("The filter names an unknown sub-attribute %q.", name)
			}
			return compare(r.attr, prefix, e, name)
		}
		sub, ok := findAttribute(r.attr.SubAttributes(), p.AttributeName)
		if !ok {
			return nil, errInvalidFilter("The filter names an unknown sub-attribute %q.", name)
		}
		if err := c.subFilterable(r.ext, r.attr, sub, outer+"."+sub.Name()); err != nil {
			return nil, err
		}
		return compare(c.comparedAs(r.attr, sub), append(append([]string(nil), prefix...), sub.Name()), e, outer+"."+sub.Name())
	default:
		return nil, errInvalidFilter("The value path on %q has an unsupported expression.", outer)
	}
}

// catalogEntitlement translates a User filter "entitlements eq ID",
// "entitlements.value eq ID" or "entitlements[value eq ID]" whose ID is
// an entitlement of the catalog into the comparison of the product's
// licensing attribute with the license type: the store keeps catalog
// entitlements as assignments, not in the document (writers.go). ok is
// false for any other expression (other operators and values compare the
// document's plain entitlements).
func (c filterCompiler) catalogEntitlement(r resolvedAttr, e *filter.AttributeExpression) (licensing.Cond, bool) {
	if !c.forStore || c.rt.Core.ID != schemas.UserURN || r.ext != nil || r.attr.Name() != "entitlements" || !strings.EqualFold(string(e.Operator), string(filter.EQ)) {
		return nil, false
	}
	id, ok := e.CompareValue.(string)
	if !ok {
		return nil, false
	}
	ent, ok := c.rt.Catalog.Entitlement(id)
	if !ok {
		return nil, false
	}
	return licensing.Compare{Attr: licensing.Attr{Path: []string{schemas.LicensingURN, ent.Product.ID}, Kind: licensing.KindString}, Op: licensing.OpEq, Value: string(ent.Type)}, true
}

// compare builds the comparison of attribute a, found at path, with the
// expression's operator and value, checking that they suit a's type.
func compare(a schema.CoreAttribute, path []string, e *filter.AttributeExpression, name string) (licensing.Cond, error) {
	kind, ok := attrKind(a)
	if !ok {
		return nil, errInvalidFilter("The attribute %q is complex: name one of its sub-attributes.", name)
	}
	attr := licensing.Attr{Path: path, Kind: kind, CaseExact: a.CaseExact()}
	if kind != licensing.KindString {
		attr.CaseExact = false
	}
	op := licensing.Op(strings.ToLower(string(e.Operator)))
	switch op {
	case licensing.OpPr:
		return licensing.Compare{Attr: attr, Op: op}, nil
	case licensing.OpEq, licensing.OpNe, licensing.OpCo, licensing.OpSw, licensing.OpEw,
		licensing.OpGt, licensing.OpGe, licensing.OpLt, licensing.OpLe:
	default:
		return nil, errInvalidFilter("The filter uses an unknown operator %q.", e.Operator)
	}
	if e.CompareValue == nil {
		switch op {
		case licensing.OpEq:
			return licensing.Not{Cond: licensing.Compare{Attr: attr, Op: licensing.OpPr}}, nil
		case licensing.OpNe:
			return licensing.Compare{Attr: attr, Op: licensing.OpPr}, nil
		default:
			return nil, errInvalidFilter("The operator %q cannot compare %q with null.", op, name)
		}
	}
	ordering := op == licensing.OpGt || op == licensing.OpGe || op == licensing.OpLt || op == licensing.OpLe
	substring := op == licensing.OpCo || op == licensing.OpSw || op == licensing.OpEw
	typ := a.AttributeType()
	switch {
	case ordering && (typ == "boolean" || typ == "binary"):
		return nil, errInvalidFilter("The operator %q does not apply to the %s attribute %q.", op, typ, name)
	case substring && kind != licensing.KindString:
		return nil, errInvalidFilter("The operator %q does not apply to the %s attribute %q.", op, typ, name)
	}
	v, err := filterValue(kind, e.CompareValue)
	if err != nil {
		return nil, errInvalidFilter("The value compared with %q must be %s.", name, err.Error())
	}
	return licensing.Compare{Attr: attr, Op: op, Value: v}, nil
}

// filterValue converts a compare value from the parser (string, bool, int
// or float64) into the Go type licensing expects for the kind. The error
// says what was expected.
func filterValue(kind licensing.Kind, v any) (any, error) {
	switch kind {
	case licensing.KindString:
		if s, ok := v.(string); ok {
			return unescapeFilterString(s)
		}
		return nil, fmt.Errorf("a string")
	case licensing.KindBool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
		return nil, fmt.Errorf("true or false")
	case licensing.KindInt:
		switch n := v.(type) {
		case int:
			return int64(n), nil
		case float64:
			if n == math.Trunc(n) && n >= math.MinInt64 && n < math.MaxInt64 {
				return int64(n), nil
			}
		}
		return nil, fmt.Errorf("an integer")
	case licensing.KindDecimal:
		switch n := v.(type) {
		case int:
			return float64(n), nil
		case float64:
			if !math.IsInf(n, 0) && !math.IsNaN(n) {
				return n, nil
			}
		}
		return nil, fmt.Errorf("a number")
	case licensing.KindDateTime:
		if s, ok := v.(string); ok {
			s, err := unescapeFilterString(s)
			if err == nil {
				if t, err := time.Parse(time.RFC3339, s); err == nil {
					return t, nil
				}
			}
		}
		return nil, fmt.Errorf("an RFC 3339 date and time")
	default:
		return nil, fmt.Errorf("of a known type")
	}
}

// unescapeFilterString decodes the JSON escapes the parser leaves in
// string literals (it only strips the quotes).
func unescapeFilterString(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var out string
	if err := json.Unmarshal([]byte(`"`+s+`"`), &out); err != nil {
		return "", fmt.Errorf("a valid string")
	}
	return out, nil
}

// compileSortBy resolves the sortBy parameter (RFC 7644 section 3.4.2.3)
// against rt's schemas. An empty parameter gives nil. The attribute must
// be simple, or a sub-attribute of a complex attribute (name.familyName,
// meta.lastModified, emails.value); names are case-insensitive and may
// carry a schema URN prefix. A multi-valued attribute sorts by its
// primary value, else its first: the int returned is then the number of
// leading path elements naming it (licensing.Query.SortElements), else
// 0; a complex multi-valued attribute named alone sorts by its value
// sub-attribute. Group members and a user's groups (kept as memberships,
// not values), complex, never-returned and unknown attributes are
// rejected with an invalidValue request error naming the attribute.
func compileSortBy(raw string, rt schemas.Resource) (*licensing.Attr, int, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, 0, nil
	}
	if len(raw) > maxFilterLength {
		return nil, 0, errInvalidValue("The sortBy attribute is too long.")
	}
	p, err := parseAttrPathSafely(raw)
	if err != nil {
		return nil, 0, errInvalidValue("The sortBy attribute %q is not an attribute path.", raw)
	}
	r, problem := resolveAttributePath(rt, p)
	if problem != "" {
		return nil, 0, errInvalidValue("The sortBy parameter names an %s.", problem)
	}
	elements := 0
	if r.attr.MultiValued() {
		if r.ext == nil && (r.attr.Name() == "members" || r.attr.Name() == "groups") {
			return nil, 0, errInvalidValue("Cannot sort by %q: memberships have no order.", raw)
		}
		elements = len(resolvedAttr{ext: r.ext, attr: r.attr}.path())
		if r.sub == nil && len(r.attr.SubAttributes()) > 0 {
			for _, sub := range r.attr.SubAttributes() {
				if sub.Name() == "value" {
					r.sub = &sub
				}
			}
		}
	}
	leaf := r.leaf()
	switch {
	case r.attr.Returned() == "never" || leaf.Returned() == "never" || r.attr.Name() == "schemas":
		return nil, 0, errInvalidValue("Cannot sort by the attribute %q.", raw)
	case r.sub != nil && (filterCompiler{rt: rt, forStore: true}).subFilterable(r.ext, r.attr, *r.sub, raw) != nil:
		return nil, 0, errInvalidValue("Cannot sort by the attribute %q.", raw)
	}
	kind, ok := attrKind(leaf)
	if !ok {
		return nil, 0, errInvalidValue("Cannot sort by the complex attribute %q: name one of its sub-attributes.", raw)
	}
	attr := &licensing.Attr{Path: r.path(), Kind: kind}
	if kind == licensing.KindString {
		attr.CaseExact = leaf.CaseExact()
	}
	return attr, elements, nil
}

// subAttrComparison matches what may follow a value path's closing
// bracket in Entra's filters: ".sub op value" (no value for pr).
var subAttrComparison = regexp.MustCompile(`^\.([A-Za-z][A-Za-z0-9_$-]*)\s+(?i:(pr)|(eq|ne|co|sw|ew|gt|ge|lt|le)\s+("(?:[^"\\]|\\.)*"|[^\s()\[\]]+))`)

// foldValuePathSubAttributes rewrites every attr[filter].sub op value of
// a filter into attr[filter and sub op value], and reports whether it
// rewrote anything. Brackets inside string literals are not counted.
func foldValuePathSubAttributes(raw string) (string, bool) {
	var b strings.Builder
	rewrote, lit := false, literalScanner{}
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case !lit.outside(c):
		case c == ']':
			if m := subAttrComparison.FindStringSubmatch(raw[i+1:]); m != nil {
				b.WriteString(" and " + m[1])
				if m[2] != "" {
					b.WriteString(" pr")
				} else {
					b.WriteString(" " + m[3] + " " + m[4])
				}
				b.WriteByte(']')
				i += len(m[0])
				rewrote = true
				continue
			}
		}
		b.WriteByte(c)
	}
	return b.String(), rewrote
}

// literalScanner follows a filter byte by byte and tells which bytes are
// outside its quoted string literals (escapes included).
type literalScanner struct{ inString, escaped bool }

// outside consumes c and reports whether it is outside every string
// literal; the quotes themselves count as inside.
func (l *literalScanner) outside(c byte) bool {
	switch {
	case l.inString && l.escaped:
		l.escaped = false
	case l.inString && c == '\\':
		l.escaped = true
	case l.inString && c == '"':
		l.inString = false
	case l.inString:
	case c == '"':
		l.inString = true
	default:
		return true
	}
	return false
}
