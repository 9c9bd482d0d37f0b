package console

import (
	"crypto/subtle"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/scimd/scimd/licensing"
)

// csrfField is the hidden field of every form that carries its token.
const csrfField = "csrf"

// csrf checks the token of a form posted to the route: with signedIn, the
// token of the person's session (licensing.CSRFToken); before sign-in,
// the token of the form cookie anonymousToken set. A POST without a valid
// token answers a 403 page and changes nothing.
func (h *Handler) csrf(signedIn bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			want := ""
			if signedIn {
				if id, _ := c.Get(sessionKey).(string); id != "" {
					want = licensing.CSRFToken(id)
				}
			} else if ck, err := c.Cookie(formCookie); err == nil {
				want = ck.Value
			}
			got := c.FormValue(csrfField)
			if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
				return h.errorPage(c, http.StatusForbidden,
					"The form was refused: it is stale or did not come from this console. Reload the page and try again.")
			}
			return next(c)
		}
	}
}

// anonymousToken gives a browser without one the form cookie whose value
// the forms shown before sign-in carry.
func (h *Handler) anonymousToken(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if ck, err := c.Cookie(formCookie); err == nil && len(ck.Value) >= 32 {
			c.Set(formCookie, ck.Value)
			return next(c)
		}
		token := licensing.NewSecret()
		setCookie(c, formCookie, token, time.Time{}, http.SameSiteStrictMode)
		c.Set(formCookie, token)
		return next(c)
	}
}

// formToken is the CSRF token the forms of the page carry.
func formToken(c echo.Context) string {
	if id, _ := c.Get(sessionKey).(string); id != "" {
		return licensing.CSRFToken(id)
	}
	token, _ := c.Get(formCookie).(string)
	return token
}
