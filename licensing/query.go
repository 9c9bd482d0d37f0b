package licensing

// This file holds the store-neutral query language that list operations
// take. Adapters translate their own filter syntax (SCIM filters) into it,
// resolving attribute names against their schemas; stores translate it into
// parameterised SQL. Attribute paths are canonical: exact spelling, the
// store does no case folding of names.

// Kind is the data type of an attribute, which decides how values compare.
type Kind int

// The attribute kinds.
const (
	KindString Kind = iota
	KindBool
	KindInt
	KindDecimal
	KindDateTime
)

// Attr names an attribute. Path is the chain of names from the resource
// (or, inside Any, from one element of the multi-valued attribute) to the
// attribute: ["userName"], ["name", "givenName"],
// ["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "employeeNumber"],
// ["meta", "lastModified"]. Inside Any an empty Path means the element
// itself (a multi-valued attribute of simple values).
type Attr struct {
	Path []string
	Kind Kind
	// CaseExact is false for attributes that compare case-insensitively.
	CaseExact bool
}

// Op is a comparison operator of RFC 7644 section 3.4.2.2.
type Op string

// The comparison operators.
const (
	OpEq Op = "eq"
	OpNe Op = "ne"
	OpCo Op = "co"
	OpSw Op = "sw"
	OpEw Op = "ew"
	OpGt Op = "gt"
	OpGe Op = "ge"
	OpLt Op = "lt"
	OpLe Op = "le"
	OpPr Op = "pr"
)

// Cond is a condition on a resource: Compare, And, Or, Not or Any.
type Cond interface{ cond() }

// Compare compares an attribute with a value. Value is a string, bool,
// int64, float64 or time.Time matching Attr.Kind, or nil for OpPr.
// A comparison with an absent attribute is false, except that OpNe holds.
type Compare struct {
	Attr  Attr
	Op    Op
	Value any
}

// And holds when every condition in it holds (an empty And holds). It is
// n-ary so that a long chain of conditions stays one flat list, not a
// tree as deep as the chain is long.
type And []Cond

// Or holds when at least one condition in it holds (an empty Or does
// not); n-ary like And.
type Or []Cond

// Not holds when Cond does not.
type Not struct{ Cond Cond }

// Any holds when at least one element of the multi-valued attribute Attr
// satisfies Cond, whose attribute paths are relative to the element.
type Any struct {
	Attr Attr
	Cond Cond
}

func (Compare) cond() {}
func (And) cond()     {}
func (Or) cond()      {}
func (Not) cond()     {}
func (Any) cond()     {}

// Query selects and orders a page of resources.
type Query struct {
	// Filter selects resources; nil selects all of the account's.
	Filter Cond
	// SortBy orders by an attribute (nil: creation order). Ties and
	// resources lacking the attribute are ordered by creation; resources
	// lacking it come last in ascending order.
	SortBy *Attr
	// SortElements, when SortBy names a multi-valued attribute or one of
	// its sub-attributes, is the number of leading elements of
	// SortBy.Path that name the multi-valued attribute: each resource
	// sorts by its primary value, else its first (RFC 7644 section
	// 3.4.2.3). 0 when SortBy is single-valued.
	SortElements int
	// Descending reverses the order given by SortBy.
	Descending bool
	// Offset skips that many resources (0-based).
	Offset int
	// Limit is the most resources to return; 0 returns none, only the total.
	Limit int
	// After continues a listing from the position a previous Page.Next
	// gave (cursor paging). Offset is ignored when After is set.
	After string
	// WithoutMembers leaves Group.Members empty (listing large groups
	// without their members is much cheaper).
	WithoutMembers bool
	// WithoutGroups leaves User.Groups empty, sparing the query that reads
	// them when the caller will not return the users' groups.
	WithoutGroups bool
	// Text, when not "", selects the users (it applies to users only)
	// whose userName, displayName, given, family or formatted name or an
	// email address contains it, compared case-insensitively: a person's
	// search box, which stores may serve from an index of their own.
	Text string
	// WithoutTotal leaves Page.Total 0, sparing the count of what the
	// filter selects (a scan of the account for a broad filter) when the
	// caller does not show it.
	WithoutTotal bool
}

// Page is one page of a listing.
type Page[T any] struct {
	// Total is the number of resources the filter selects.
	Total int
	Items []T
	// Next is the position to pass as Query.After for the next page, or
	// "" when this page is the last. It is the store's own text, which
	// may tell what clients must not learn (row sequences shared by every
	// account): adapters hand it out only sealed with Cursors.Seal.
	Next string
}

// CondShape returns how deeply c nests (the levels of And, Or, Not and
// Any above its deepest comparison: 0 for a lone Compare) and how many
// comparisons it holds. Adapters check both against their limits before a store runs c.
func CondShape(c Cond) (depth, comparisons int) {
	switch c := c.(type) {
	case Compare:
		return 0, 1
	case And:
		return listShape(c)
	case Or:
		return listShape(c)
	case Not:
		d, n := CondShape(c.Cond)
		return d + 1, n
	case Any:
		d, n := CondShape(c.Cond)
		return d + 1, n
	default:
		return 0, 0
	}
}

// listShape is CondShape of an And's or an Or's conditions.
func listShape(conds []Cond) (depth, comparisons int) {
	for _, c := range conds {
		d, n := CondShape(c)
		depth, comparisons = max(depth, d), comparisons+n
	}
	return depth + 1, comparisons
}
