package scim

import (
	"context"
	"errors"
	"net/http"

	scimerrors "github.com/elimity-com/scim/errors"

	"github.com/scimd/scimd/internal/logctx"
	"github.com/scimd/scimd/internal/problem"
	"github.com/scimd/scimd/licensing"
)

// errPreconditionFailed answers an If-Match that names another version.
var errPreconditionFailed = &requestError{Status: http.StatusPreconditionFailed, Detail: "The resource has changed: its version does not match If-Match."}

// toSCIMError is the one place where errors become SCIM errors. It always
// returns an errors.ScimError value (elimity turns anything else into a 500
// carrying the error text). Errors that are not the client's fault are
// logged with the request id and answered with a plain "internal error".
// The catalog names the products of seat errors (stores know only ids).
func toSCIMError(ctx context.Context, cat licensing.Catalog, what string, err error) scimerrors.ScimError {
	var re *requestError
	var se scimerrors.ScimError
	var sep *scimerrors.ScimError
	var named *licensing.NamedSeatsExhaustedError
	switch {
	case errors.As(err, &named) && named != nil:
		// A write that would assign more named seats than the plan has:
		// the store changed nothing. "No named license left for Remote
		// Support v5: 10 of 10 assigned."
		cat.NameProducts(named)
		return scimerrors.ScimError{Status: http.StatusBadRequest, ScimType: scimerrors.ScimTypeInvalidValue, Detail: named.Error()}
	case errors.As(err, &re):
		return scimerrors.ScimError{Status: re.Status, ScimType: scimerrors.ScimType(re.ScimType), Detail: re.Detail}
	case errors.As(err, &se):
		return se
	case errors.As(err, &sep) && sep != nil:
		return *sep
	case errors.Is(err, licensing.ErrNotFound):
		return scimerrors.ScimError{Status: http.StatusNotFound, Detail: what + " not found."}
	case errors.Is(err, licensing.ErrConflict):
		return scimerrors.ScimError{Status: http.StatusConflict, ScimType: scimerrors.ScimTypeUniqueness, Detail: what + " conflicts with an existing one: " + uniqueAttr(what) + " is already in use."}
	case errors.Is(err, licensing.ErrInvalid) && what == "Group":
		return scimerrors.ScimError{Status: http.StatusBadRequest, ScimType: scimerrors.ScimTypeInvalidValue, Detail: "Every member must be a user or another group of this account."}
	case errors.Is(err, licensing.ErrInvalid):
		return scimerrors.ScimError{Status: http.StatusBadRequest, ScimType: scimerrors.ScimTypeInvalidValue, Detail: "A value cannot be stored: text must be valid UTF-8 without NUL characters."}
	case errors.Is(err, licensing.ErrStale):
		return scimerrors.ScimError{Status: http.StatusPreconditionFailed, Detail: "The resource has changed: its version does not match If-Match."}
	case problem.ClientClosed(ctx, err):
		// Nobody reads the answer; it is recorded as 499, not logged as
		// a failure.
		logctx.From(ctx).Debug("scim request: client went away", "what", what, "err", err)
		return answer(ctx, errClientClosed)
	case errors.Is(err, licensing.ErrUnavailable), problem.TimedOut(err):
		// Nothing was changed; the client retries after Retry-After
		// (set by writeJSON and serveElimity on every 503).
		return answer(ctx, errUnavailable)
	}
	logctx.From(ctx).Error("scim request failed", "what", what, "err", err)
	return scimerrors.ScimError{Status: http.StatusInternalServerError, Detail: "internal error"}
}

// errUnavailable answers a request refused with licensing.ErrUnavailable.
var errUnavailable = scimerrors.ScimError{Status: http.StatusServiceUnavailable, Detail: "The service cannot answer right now; retry in a few seconds."}

// errClientClosed is recorded for a request whose client went away.
var errClientClosed = scimerrors.ScimError{Status: problem.StatusClientClosed, Detail: "The client closed the request before it was answered."}

// answer returns e, and tells serveElimity (through ctx) to answer it in
// place of what elimity makes of it: elimity turns the errors of status
// 499 and 503 from a resource handler into a 500.
func answer(ctx context.Context, e scimerrors.ScimError) scimerrors.ScimError {
	if o, ok := ctx.Value(outcomeKey{}).(*outcome); ok {
		o.answer = &e
	}
	return e
}

// outcome is what the handlers elimity calls tell serveElimity beyond
// the answer elimity makes of their result.
type outcome struct {
	// answer, if set, is the error to answer instead of elimity's.
	answer *scimerrors.ScimError
}

type outcomeKey struct{}

func uniqueAttr(what string) string {
	if what == "Group" {
		return "displayName"
	}
	return "userName"
}
