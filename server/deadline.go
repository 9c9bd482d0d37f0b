package server

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// writeGrace is how long past a request's deadline its connection still
// takes writes, so that the answer to a timed-out request gets out.
const writeGrace = 2 * time.Second

// waitingRoute is the route that may wait for a seat (the agent's start of
// a session), bounded by MaxWait on top of WriteTimeout.
const waitingRoute = http.MethodPost + " " + AgentPath + "/sessions"

// deadlines puts the route's deadline on the request context and on the
// connection's writes.
func deadlines(edge Edge) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if edge.WriteTimeout <= 0 {
				return next(c)
			}
			d := edge.WriteTimeout
			if c.Request().Method+" "+c.Path() == waitingRoute {
				d += edge.MaxWait
			}
			ctx, cancel := context.WithTimeout(c.Request().Context(), d)
			defer cancel()
			deadline, _ := ctx.Deadline()
			// Not every ResponseWriter can (httptest's recorder cannot); the
			// context deadline holds regardless.
			_ = http.NewResponseController(c.Response()).SetWriteDeadline(deadline.Add(writeGrace))
			c.SetRequest(c.Request().WithContext(ctx))
			return next(c)
		}
	}
}
