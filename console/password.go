package console

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/scimd/scimd/licensing"
)

// Passwords chosen in the console: long enough to resist guessing, short
// enough to hash cheaply.
const (
	minPassword = 12
	maxPassword = 256
)

// passwordForm is what password.html shows.
type passwordForm struct {
	Token     string
	MinLength int
	Error     string
}

const linkGone = "This link is unknown, used or expired. Ask an admin for a new one (scimd admin create, or granting privileges again)."

// passwordShow shows the form of a one-time password link.
func (h *Handler) passwordShow(c echo.Context) error {
	token := c.QueryParam("token")
	if _, err := h.opts.Store.PasswordLink(c.Request().Context(), licensing.HashToken(token), h.opts.Clock.Now()); err != nil {
		if errors.Is(err, licensing.ErrNotFound) {
			return h.errorPage(c, http.StatusNotFound, linkGone)
		}
		return h.failed(c, err)
	}
	return h.render(c, http.StatusOK, "password.html", "Choose a password", passwordForm{Token: token, MinLength: minPassword})
}

// passwordCheck sets the password of a one-time link, then sends the
// person to sign in with it.
func (h *Handler) passwordCheck(c echo.Context) error {
	ctx := c.Request().Context()
	f := passwordForm{Token: c.FormValue("token"), MinLength: minPassword}
	c.Set(formCookie, c.FormValue(csrfField))
	password := c.FormValue("password")
	switch n := utf8.RuneCountInString(password); {
	case password != c.FormValue("repeat"):
		f.Error = "The two passwords differ."
	case n < minPassword || len(password) > maxPassword:
		f.Error = "The password must be " + strconv.Itoa(minPassword) + " to " + strconv.Itoa(maxPassword) + " characters long."
	}
	if f.Error != "" {
		return h.render(c, http.StatusBadRequest, "password.html", "Choose a password", f)
	}
	hash, err := h.opts.HashPassword(ctx, password)
	if err != nil {
		return h.failed(c, err)
	}
	l, err := licensing.ChoosePassword(ctx, h.opts.Store, h.opts.Clock, f.Token, hash)
	if errors.Is(err, licensing.ErrNotFound) {
		return h.errorPage(c, http.StatusNotFound, linkGone)
	}
	if err != nil {
		return h.failed(c, err)
	}
	q := url.Values{"password": {"set"}}
	if a, err := h.opts.Store.Account(ctx, l.AccountID); err == nil {
		q.Set("account", a.Name)
	}
	if u, err := h.opts.Store.User(ctx, l.AccountID, l.UserID); err == nil {
		q.Set("userName", u.UserName)
	}
	return c.Redirect(http.StatusSeeOther, Path+"/signin?"+q.Encode())
}
