package scim

import (
	"fmt"
	"net/http"
)

// requestError is a client error: an HTTP status, a SCIM scimType (may be
// empty) and a detail that is safe to show to the client. Everything in
// package scim that rejects client input returns one; toSCIMError turns it
// into the protocol's error.
type requestError struct {
	Status   int
	ScimType string
	Detail   string
}

func (e *requestError) Error() string { return e.Detail }

func newRequestError(status int, scimType, format string, args ...any) *requestError {
	return &requestError{Status: status, ScimType: scimType, Detail: fmt.Sprintf(format, args...)}
}

// errInvalidFilter reports a filter that cannot be parsed or names
// attributes or operators that cannot be used.
func errInvalidFilter(format string, args ...any) *requestError {
	return newRequestError(http.StatusBadRequest, "invalidFilter", format, args...)
}

// errInvalidValue reports a value of the wrong type or out of range.
func errInvalidValue(format string, args ...any) *requestError {
	return newRequestError(http.StatusBadRequest, "invalidValue", format, args...)
}

// errInvalidPath reports a PATCH path that is malformed or names nothing
// the schema has.
func errInvalidPath(format string, args ...any) *requestError {
	return newRequestError(http.StatusBadRequest, "invalidPath", format, args...)
}

// errNoTarget reports a PATCH path or filter that matched nothing where a
// match is required.
func errNoTarget(format string, args ...any) *requestError {
	return newRequestError(http.StatusBadRequest, "noTarget", format, args...)
}

// errMutability reports an attempt to change an immutable or read-only
// attribute.
func errMutability(format string, args ...any) *requestError {
	return newRequestError(http.StatusBadRequest, "mutability", format, args...)
}

// errInvalidSyntax reports a request body that cannot be parsed.
func errInvalidSyntax(format string, args ...any) *requestError {
	return newRequestError(http.StatusBadRequest, "invalidSyntax", format, args...)
}
