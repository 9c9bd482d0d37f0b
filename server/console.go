package server

import "github.com/labstack/echo/v4"

// consoleMount mounts the admin console's pages on their group. The
// console authenticates with its own cookie sessions and answers its
// errors as HTML pages, so it takes no token middleware.
type consoleMount interface {
	Register(g *echo.Group)
}
