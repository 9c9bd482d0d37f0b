package admin

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/scimd/scimd/internal/logctx"
	"github.com/scimd/scimd/internal/problem"
	"github.com/scimd/scimd/licensing"
)

// The problem codes of the admin API.
const (
	CodeInvalidRequest      = problem.CodeInvalidRequest
	CodeUnauthenticated     = "unauthenticated"
	CodeForbidden           = "forbidden"
	CodeNotFound            = "not_found"
	CodeUnknownProduct      = "unknown_product"
	CodeConflict            = "conflict"
	CodeNamedSeatsExhausted = "named_seats_exhausted"
	CodePlanBelowAssigned   = "plan_below_assigned"
	CodeInternal            = "internal_error"
)

// toProblem is the one place where errors become admin API problems.
// Errors that are not the client's are logged and answered "internal
// error"; their text never reaches the client.
func toProblem(c echo.Context, err error) problem.Problem {
	var pe *problem.Error
	var named *licensing.NamedSeatsExhaustedError
	var below *licensing.PlanBelowAssignedError
	var he *echo.HTTPError
	var notHeld *licensing.PrivilegesNotHeldError
	p := problem.New
	switch {
	case errors.As(err, &pe):
		return pe.Problem()
	case errors.As(err, &named):
		return p(http.StatusConflict, CodeNamedSeatsExhausted, named.Error())
	case errors.As(err, &notHeld):
		return p(http.StatusForbidden, CodeForbidden, "Nobody grants or takes away a privilege they do not hold: this token lacks "+licensing.FormatPrivileges(notHeld.Missing)+".")
	case errors.As(err, &below):
		return p(http.StatusConflict, CodePlanBelowAssigned, below.Error())
	case errors.Is(err, licensing.ErrUnknownProduct):
		return p(http.StatusNotFound, CodeUnknownProduct, "No such product in the catalog; GET /api/v1/admin/products lists them.")
	case errors.Is(err, licensing.ErrNotFound):
		return p(http.StatusNotFound, CodeNotFound, "No such object in this account.")
	case errors.Is(err, licensing.ErrConflict):
		return p(http.StatusConflict, CodeConflict, "It conflicts with an existing object: the name is taken.")
	case errors.Is(err, licensing.ErrStale):
		return p(http.StatusConflict, CodeConflict, "The object changed while this request ran; read it again and retry.")
	case errors.Is(err, licensing.ErrInvalid):
		return p(http.StatusBadRequest, CodeInvalidRequest, "The request holds a value that cannot be stored.")
	case errors.Is(err, licensing.ErrUnauthenticated):
		return p(http.StatusUnauthorized, CodeUnauthenticated, "An admin token is required: Authorization: Bearer <token>.")
	case problem.ClientClosed(c.Request().Context(), err):
		logctx.From(c.Request().Context()).Debug("admin request: client went away", "err", err)
		return problem.Closed()
	case errors.Is(err, licensing.ErrUnavailable), problem.TimedOut(err):
		return problem.Unavailable()
	case errors.As(err, &he) && he.Code < 500:
		return p(he.Code, CodeInvalidRequest, http.StatusText(he.Code))
	}
	logctx.From(c.Request().Context()).Error("admin request failed", "err", err)
	return p(http.StatusInternalServerError, CodeInternal, "internal error")
}

// writeProblem answers err as a problem detail.
func writeProblem(c echo.Context, err error) error {
	return problem.Write(c, toProblem(c, err), "scimd-admin")
}
