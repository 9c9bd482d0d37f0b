package server

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/scimd/scimd/licensing"
)

// secretRoutes are the routes whose answers carry a secret (a bearer
// token): never stored by a cache.
var secretRoutes = map[string]bool{
	http.MethodPost + " " + AgentPath + "/signin": true,
	http.MethodPost + " " + AdminPath + "/tokens": true,
}

// ConsolePath is where the admin console is mounted; its pages carry
// CSRF tokens and are never cached.
const ConsolePath = "/console"

// securityHeaders sets X-Content-Type-Options: nosniff on every answer
// and Cache-Control: no-store on the answers that carry secrets and on
// the console.
func securityHeaders() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Response().Header()
			h.Set(echo.HeaderXContentTypeOptions, "nosniff")
			p := c.Request().URL.Path
			if secretRoutes[c.Request().Method+" "+c.Path()] || p == ConsolePath || strings.HasPrefix(p, ConsolePath+"/") {
				h.Set(echo.HeaderCacheControl, "no-store")
			}
			return next(c)
		}
	}
}

// requestID accepts a client's X-Request-Id only if it is 1 to 64
// characters of [A-Za-z0-9._-] (it goes into logs and answers); any other
// value is replaced by a fresh one.
func requestID() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			id := c.Request().Header.Get(echo.HeaderXRequestID)
			if !validRequestID(id) {
				id = licensing.NewID()
			}
			c.Response().Header().Set(echo.HeaderXRequestID, id)
			return next(c)
		}
	}
}

func validRequestID(id string) bool {
	if len(id) < 1 || len(id) > 64 {
		return false
	}
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
		default:
			return false
		}
	}
	return true
}
