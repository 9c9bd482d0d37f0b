// Package problem writes RFC 9457 problem details, the error format of
// scimd's REST APIs (agent and admin), and reads their JSON bodies
// strictly. Each API maps its errors to a Problem in one place of its own.
package problem

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/scimd/scimd/licensing"
)

// Problem is an RFC 9457 problem detail with a stable machine-readable
// code clients can switch on.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
	// RetryAfter, when positive, is sent as the Retry-After header, in
	// seconds: how long the client should wait before trying again (429,
	// 503).
	RetryAfter int `json:"-"`
}

// New returns the problem of an HTTP status with the code and detail.
func New(status int, code, detail string) Problem {
	return Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail, Code: code}
}

// Error is a client error a handler raises itself; its detail is meant
// for the client.
type Error struct {
	Status int
	Code   string
	Detail string
}

func (e *Error) Error() string { return e.Detail }

// Problem returns the problem the error is answered with.
func (e *Error) Problem() Problem { return New(e.Status, e.Code, e.Detail) }

// The codes every API shares.
const (
	// CodeInvalidRequest is the code of a request the API cannot read.
	CodeInvalidRequest = "invalid_request"
	// CodeUnavailable is the code of a request refused because something
	// it needs (the database) cannot serve it now; it may be retried
	// after Retry-After seconds.
	CodeUnavailable = "unavailable"
)

// StatusClientClosed is the status recorded for a request whose client
// went away before it was answered (nginx's 499): nobody reads the answer,
// but the request log and the metrics tell it from a failure.
const StatusClientClosed = 499

// CodeClientClosed is the code of a request whose client went away.
const CodeClientClosed = "client_closed"

// ClientClosed reports whether err is the cancellation of ctx, a request's
// context: the client went away (or the server is shutting down), which
// is no failure of the server.
func ClientClosed(ctx context.Context, err error) bool {
	return errors.Is(err, context.Canceled) && ctx.Err() != nil
}

// TimedOut reports whether err is a deadline that passed, such as the
// request's write deadline: the request could not be served in time,
// answered like an unavailable database (503).
func TimedOut(err error) bool { return errors.Is(err, context.DeadlineExceeded) }

// Closed is the problem recorded for a request whose client went away.
func Closed() Problem {
	return New(StatusClientClosed, CodeClientClosed, "The client closed the request before it was answered.")
}

// Unavailable is the problem of a request refused with
// licensing.ErrUnavailable: 503, with a Retry-After.
func Unavailable() Problem {
	p := New(http.StatusServiceUnavailable, CodeUnavailable, "The service cannot answer right now; retry in a few seconds.")
	p.RetryAfter = licensing.RetryAfterSeconds
	return p
}

// Invalid is a 400 invalid_request with the detail.
func Invalid(detail string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalidRequest, Detail: detail}
}

// Write answers p; a 401 also gets a WWW-Authenticate challenge of realm,
// and a problem with a RetryAfter its Retry-After header.
func Write(c echo.Context, p Problem, realm string) error {
	if p.Status == http.StatusUnauthorized {
		c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="`+realm+`"`)
	}
	if p.RetryAfter > 0 {
		c.Response().Header().Set(echo.HeaderRetryAfter, strconv.Itoa(p.RetryAfter))
	}
	c.Response().Header().Set(echo.HeaderContentType, "application/problem+json")
	return c.JSON(p.Status, p)
}

// Decode reads the request's JSON body into v strictly (unknown fields
// are refused); a body it cannot read is an *Error saying why, without
// internal detail.
func Decode(c echo.Context, v any) error {
	dec := json.NewDecoder(c.Request().Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return Invalid("The request body must be a JSON object of the documented shape: " + jsonProblem(err))
	}
	if dec.More() {
		return Invalid("The request body must be a JSON object of the documented shape: it holds more than one JSON value.")
	}
	return nil
}

// jsonProblem describes a decoding error without internal detail.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return "it is too large."
	case errors.As(err, &syn), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "malformed JSON."
	case errors.As(err, &typ):
		return "field " + typ.Field + " has the wrong type."
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return strings.TrimPrefix(err.Error(), "json: ") + "."
	}
	return "it cannot be read."
}
