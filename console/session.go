package console

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/scimd/scimd/internal/origin"
	"github.com/scimd/scimd/licensing"
)

// The console's cookies. Both are HttpOnly, scoped to the console, and
// Secure when the console is reached over HTTPS.
const (
	// sessionCookie holds the session id; the database holds its hash.
	sessionCookie = "scimd_console"
	// formCookie holds the CSRF token of the forms shown before sign-in
	// (sign-in, choosing a password), checked against the form's copy.
	formCookie = "scimd_console_form"
)

// sessionKey is where the session middleware leaves the session id in
// the echo context (for the CSRF token of the forms).
const sessionKey = "console.session"

// timeGone is the expiry that deletes a cookie.
var timeGone = time.Unix(1, 0)

// secure tells whether the request reached the console over HTTPS, as
// the server's edge decided it (its scheme, a trusted proxy's
// X-Forwarded-Proto, or --base-url).
func secure(c echo.Context) bool {
	base, _ := origin.From(c.Request().Context())
	return strings.HasPrefix(base, "https://") || c.Request().TLS != nil
}

// setCookie sets one of the console's cookies; a zero expiry makes a
// cookie that ends with the browser session, a past one deletes it.
func setCookie(c echo.Context, name, value string, expires time.Time, sameSite http.SameSite) {
	ck := &http.Cookie{Name: name, Value: value, Path: Path, HttpOnly: true, Secure: secure(c), SameSite: sameSite}
	if !expires.IsZero() {
		ck.Expires = expires
		if value == "" {
			ck.MaxAge = -1
		}
	}
	c.SetCookie(ck)
}

// session requires a live console session: it puts the person into the
// request context as the principal of their writes, or sends the browser
// to the sign-in page, which brings it back to the page after sign-in.
func (h *Handler) session(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ck, err := c.Cookie(sessionCookie)
		if err != nil || ck.Value == "" {
			if eventStream(c) {
				return endedStream(c)
			}
			return c.Redirect(http.StatusSeeOther, signInPath(c, false))
		}
		req := c.Request()
		now := h.opts.Clock.Now()
		s, err := h.opts.Store.TouchConsoleSession(req.Context(), licensing.HashToken(ck.Value), now, now.Add(-licensing.ConsoleIdle))
		if errors.Is(err, licensing.ErrNotFound) {
			// An event stream cannot follow the browser to sign-in: it
			// tells its page, which then goes there itself. The cookie
			// stays for that page's request to find the session ended.
			if eventStream(c) {
				return endedStream(c)
			}
			setCookie(c, sessionCookie, "", timeGone, http.SameSiteLaxMode)
			return c.Redirect(http.StatusSeeOther, signInPath(c, true))
		}
		if err != nil {
			return h.failed(c, err)
		}
		c.SetRequest(req.WithContext(licensing.WithPrincipal(req.Context(), licensing.ConsolePrincipal(s))))
		c.Set(sessionKey, ck.Value)
		return next(c)
	}
}

// person is the signed-in person (the zero principal before sign-in).
func person(c echo.Context) licensing.Principal {
	p, _ := licensing.PrincipalFrom(c.Request().Context())
	return p
}
