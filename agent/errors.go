package agent

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/scimd/scimd/internal/logctx"
	"github.com/scimd/scimd/internal/problem"
	"github.com/scimd/scimd/licensing"
)

// Problem is an RFC 9457 problem detail with a stable machine-readable
// code the agent app can switch on.
type Problem = problem.Problem

// The problem codes.
const (
	CodeAllSharedInUse  = "all_shared_licenses_in_use"
	CodeNotEntitled     = "not_entitled"
	CodeUserInactive    = "user_inactive"
	CodeSessionEnded    = "session_ended"
	CodeNotFound        = "not_found"
	CodeUnknownProduct  = "unknown_product"
	CodeInvalidRequest  = problem.CodeInvalidRequest
	CodeUnauthenticated = "unauthenticated"
	CodeInvalidSignIn   = "invalid_credentials"
	CodeTooManyAttempts = "too_many_attempts"
	CodeInternal        = "internal_error"
)

func invalid(detail string) error { return problem.Invalid(detail) }

// toProblem is the one place where errors become agent API problems.
// Errors that are not the client's are logged and answered "internal
// error".
func toProblem(c echo.Context, err error) Problem {
	var pe *problem.Error
	var full *licensing.SharedSeatsInUseError
	var ne *licensing.NotEntitledError
	var ended *licensing.SessionEndedError
	var he *echo.HTTPError
	var throttled *licensing.SignInThrottledError
	p := problem.New
	switch {
	case errors.As(err, &pe):
		return pe.Problem()
	case errors.As(err, &full):
		return p(http.StatusConflict, CodeAllSharedInUse, licensing.AllSharedInUse)
	case errors.As(err, &ne) && ne.Inactive:
		return p(http.StatusForbidden, CodeUserInactive, ne.Error())
	case errors.As(err, &ne):
		return p(http.StatusForbidden, CodeNotEntitled, ne.Error())
	case errors.As(err, &ended):
		return p(http.StatusGone, CodeSessionEnded, ended.Error())
	case errors.As(err, &throttled):
		tp := p(http.StatusTooManyRequests, CodeTooManyAttempts, "Too many failed sign-ins. Try again after the time in Retry-After.")
		tp.RetryAfter = throttled.Seconds()
		return tp
	case errors.Is(err, licensing.ErrUnknownProduct):
		return p(http.StatusNotFound, CodeUnknownProduct, "No such product in the catalog.")
	case errors.Is(err, licensing.ErrNotFound):
		return p(http.StatusNotFound, CodeNotFound, "No such session.")
	case errors.Is(err, licensing.ErrUnauthenticated):
		return p(http.StatusUnauthorized, CodeUnauthenticated, "Sign in first: send the token from /api/v1/agent/signin as Authorization: Bearer <token>.")
	case problem.ClientClosed(c.Request().Context(), err):
		logctx.From(c.Request().Context()).Debug("agent request: client went away", "err", err)
		return problem.Closed()
	case errors.Is(err, licensing.ErrUnavailable), problem.TimedOut(err):
		return problem.Unavailable()
	case errors.As(err, &he) && he.Code < 500:
		return p(he.Code, CodeInvalidRequest, http.StatusText(he.Code))
	}
	logctx.From(c.Request().Context()).Error("agent request failed", "err", err)
	return p(http.StatusInternalServerError, CodeInternal, "internal error")
}

// writeProblem answers err as a problem detail.
func writeProblem(c echo.Context, err error) error {
	return problem.Write(c, toProblem(c, err), "scimd-agent")
}
