package scim

import (
	"strings"

	filter "github.com/scim2/filter-parser/v2"
)

// simpleComparison reads the filter that identity providers send on
// almost every lookup, one attribute compared with a string
// (`userName eq "ann@example.com"`, `name.givenName sw "A"`), without
// the general parser, which costs a sixth of a lookup's CPU. It returns
// what filter.ParseFilter returns for the same text, and false for any
// other shape (a URN, an escape in the string, spacing other than one
// space, another kind of value), which then goes to the parser.
func simpleComparison(raw string) (filter.Expression, bool) {
	path, rest, ok := strings.Cut(raw, " ")
	if !ok {
		return nil, false
	}
	op, value, ok := strings.Cut(rest, " ")
	if !ok || len(value) < 2 || value[0] != '"' || value[len(value)-1] != '"' {
		return nil, false
	}
	operator, ok := simpleOperators[strings.ToLower(op)]
	if !ok {
		return nil, false
	}
	value = value[1 : len(value)-1]
	for i := 0; i < len(value); i++ {
		if c := value[i]; c < 0x20 || c == '"' || c == '\\' {
			return nil, false
		}
	}
	name, sub, dotted := strings.Cut(path, ".")
	if !attributeName(name) || dotted && !attributeName(sub) {
		return nil, false
	}
	e := &filter.AttributeExpression{AttributePath: filter.AttributePath{AttributeName: name}, Operator: operator, CompareValue: value}
	if dotted {
		e.AttributePath.SubAttribute = &sub
	}
	return e, true
}

// simpleOperators are the operators that compare with a value, by their
// spelling in lower case (operators are case-insensitive).
var simpleOperators = map[string]filter.CompareOperator{
	"eq": filter.EQ, "ne": filter.NE, "co": filter.CO, "sw": filter.SW, "ew": filter.EW,
	"gt": filter.GT, "ge": filter.GE, "lt": filter.LT, "le": filter.LE,
}

// attributeName reports whether s is an ATTRNAME of RFC 7643 section
// 2.1: a letter, then letters, digits, '-' and '_'.
func attributeName(s string) bool {
	if s == "" || !isLetter(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isLetter(c) && !('0' <= c && c <= '9') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
