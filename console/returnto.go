package console

import (
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/labstack/echo/v4"
)

// nextField is the query parameter and hidden field of the sign-in page
// naming the console page to return to after sign-in.
const nextField = "next"

// signInPath is the sign-in page for a request that found no live
// session: a GET of a console page comes back to that page (its query
// kept) after sign-in; ended says the session ended.
func signInPath(c echo.Context, ended bool) string {
	q := url.Values{}
	if ended {
		q.Set("ended", "1")
	}
	req := c.Request()
	// The event stream is no page to come back to: its page is.
	if req.Method == http.MethodGet && req.URL.Path != Path+"/sessions/events" {
		if next := returnTo(req.URL.RequestURI()); next != Path {
			q.Set(nextField, next)
		}
	}
	if len(q) == 0 {
		return Path + "/signin"
	}
	return Path + "/signin?" + q.Encode()
}

// returnTo is where sign-in sends the person who asked for raw: raw when
// it is a path of this console (the console's home, or a path under
// /console, with its query), else the console's home. Anything that a
// browser could read as another site or another path of this one is
// refused: a scheme or host ("https://evil.example", "//evil.example"),
// backslashes that browsers read as slashes ("/\evil"), dot segments
// ("/console/../x"), control characters, and all of these percent-encoded.
func returnTo(raw string) string {
	if !strings.HasPrefix(raw, Path) || strings.ContainsAny(raw, "\\") {
		return Path
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return Path
	}
	p := u.Path
	if p != Path && !strings.HasPrefix(p, Path+"/") || strings.ContainsAny(p, "\\") {
		return Path
	}
	for _, r := range p + u.RawQuery {
		if r < 0x20 || r == 0x7f {
			return Path
		}
	}
	// A path that cleaning changes (beyond a trailing slash) had dot
	// segments or empty ones ("//"), maybe percent-encoded.
	if path.Clean(p) != strings.TrimSuffix(p, "/") {
		return Path
	}
	next := u.EscapedPath()
	if u.RawQuery != "" {
		next += "?" + u.RawQuery
	}
	return next
}
