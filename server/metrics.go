package server

import (
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// MetricsPath is where the Prometheus metrics are served.
const MetricsPath = "/metrics"

// RequestObserver is told of every request the server answers
// (internal/metrics implements it).
type RequestObserver interface {
	// ObserveRequest is called once the answer was written, with the
	// request's route template (from a bounded set, never the raw path),
	// its status and how long it took.
	ObserveRequest(method, route string, status int, took time.Duration)
}

// unknownRoute is the route label of a request that matched no route.
const unknownRoute = "other"

// routeSet holds the route templates of the server, filled once New has
// registered them all.
type routeSet struct{ known map[string]bool }

func (r *routeSet) fill(e *echo.Echo) {
	r.known = map[string]bool{}
	for _, rt := range e.Routes() {
		r.known[rt.Path] = true
	}
}

// observeRequests tells o of every request, with its route template, once
// the error handler has written the answer.
func observeRequests(o RequestObserver, routes *routeSet) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			o.ObserveRequest(c.Request().Method, routes.label(c), c.Response().Status, time.Since(start))
			return nil
		}
	}
}

// label is the route template of the request: echo's route path with
// {name} for :name, the SCIM endpoint's template under SCIMPath (mounted
// as a wildcard), and unknownRoute for a path no route matched. Whatever
// the paths clients send, the labels are the routes.
func (r *routeSet) label(c echo.Context) string {
	path := c.Path()
	switch {
	case path == SCIMPath || path == SCIMPath+"/*":
		return scimRoute(strings.TrimPrefix(c.Request().URL.Path, SCIMPath))
	case !r.known[path]:
		return unknownRoute
	}
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, ":") {
			parts[i] = "{" + p[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

// scimEndpoints are the first path segments the SCIM adapter answers
// (RFC 7644 section 3.2), and whether a second segment names a resource.
var scimEndpoints = map[string]bool{
	"Users": true, "Groups": true, "Schemas": true, "ResourceTypes": true,
	"ServiceProviderConfig": false, "Me": false, "Bulk": false, ".search": false,
}

// scimRoute is the template of a path under SCIMPath: /scim/v2/Users,
// /scim/v2/Users/{id}, /scim/v2/Users/.search, /scim/v2/Schemas/{id}, ...;
// any other path is /scim/v2/{other}.
func scimRoute(rest string) string {
	rest = strings.Trim(rest, "/")
	if rest == "" {
		return SCIMPath
	}
	segs := strings.Split(rest, "/")
	byID, ok := scimEndpoints[segs[0]]
	switch {
	case !ok || len(segs) > 2 || len(segs) == 2 && !byID:
		return SCIMPath + "/{other}"
	case len(segs) == 1:
		return SCIMPath + "/" + segs[0]
	case segs[1] == ".search":
		return SCIMPath + "/" + segs[0] + "/.search"
	}
	return SCIMPath + "/" + segs[0] + "/{id}"
}
