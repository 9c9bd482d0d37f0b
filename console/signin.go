package console

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/scimd/scimd/licensing"
)

// signInForm is what signin.html shows.
type signInForm struct {
	Account, UserName string
	Notice, Error     string
	// Next is the console page to go to after sign-in (returnTo).
	Next string
}

// signInShow shows the sign-in form, with the account and userName of
// the query filled in (the password page sends them along), and the
// console page to go to after it (next, kept only if returnTo accepts it).
func (h *Handler) signInShow(c echo.Context) error {
	f := signInForm{Account: c.QueryParam("account"), UserName: c.QueryParam("userName"), Next: returnTo(c.QueryParam(nextField))}
	if f.Account == "" {
		f.Account = licensing.DefaultAccountName
	}
	switch {
	case c.QueryParam("ended") != "":
		f.Notice = "Your session ended. Sign in again."
	case c.QueryParam("signedout") != "":
		f.Notice = "You signed out."
	case c.QueryParam("password") != "":
		f.Notice = "Your password is set. Sign in with it."
	}
	return h.render(c, http.StatusOK, "signin.html", "Sign in", f)
}

// errBadSignIn is the one answer to a wrong account, userName or password,
// and to a user who may not use the console: nobody learns which it was.
const errBadSignIn = "The account, user name or password is wrong."

// signInCheck checks the account, userName and password and starts a
// console session, then sends the person to the page they asked for
// (next) or to the console's home. Failures are throttled per userName
// and per client address before any password is hashed.
func (h *Handler) signInCheck(c echo.Context) error {
	ctx := c.Request().Context()
	f := signInForm{Account: strings.TrimSpace(c.FormValue("account")), UserName: strings.TrimSpace(c.FormValue("userName")),
		Next: returnTo(c.FormValue(nextField))}
	password := c.FormValue("password")
	c.Set(formCookie, c.FormValue(csrfField)) // the form shown again keeps its token
	if f.Account == "" || f.UserName == "" || password == "" {
		f.Error = "Fill in the account, user name and password."
		return h.render(c, http.StatusBadRequest, "signin.html", "Sign in", f)
	}
	attempt := licensing.SignInAttempt{Account: f.Account, UserName: f.UserName, Address: c.RealIP()}
	var throttled *licensing.SignInThrottledError
	if err := h.throttle.Check(ctx, attempt); errors.As(err, &throttled) {
		c.Response().Header().Set(echo.HeaderRetryAfter, strconv.Itoa(throttled.Seconds()))
		f.Error = "Too many failed sign-ins. Try again in " + wait(throttled.Seconds()) + "."
		return h.render(c, http.StatusTooManyRequests, "signin.html", "Sign in", f)
	} else if err != nil {
		return h.failed(c, err)
	}
	u, privs, err := h.consoleUser(c, f.Account, f.UserName)
	if err != nil {
		return h.failed(c, err)
	}
	// A missing user is checked against no hash: it costs the time of a
	// real check and fails as a wrong password does.
	ok, err := h.opts.Verify(ctx, u.PasswordHash, password)
	if err != nil {
		return h.failed(c, err)
	}
	if !ok || !u.Active || len(privs) == 0 {
		if err := h.throttle.Failed(ctx, attempt); err != nil {
			return h.failed(c, err)
		}
		f.Error = errBadSignIn
		return h.render(c, http.StatusOK, "signin.html", "Sign in", f)
	}
	if err := h.throttle.Succeeded(ctx, attempt); err != nil {
		return h.failed(c, err)
	}
	s, id := licensing.NewConsoleSession(u.AccountID, u.ID, h.opts.Clock.Now())
	if err := h.opts.Store.CreateConsoleSession(ctx, s); err != nil {
		return h.failed(c, err)
	}
	setCookie(c, sessionCookie, id, s.ExpiresAt, http.SameSiteLaxMode)
	return c.Redirect(http.StatusSeeOther, f.Next)
}

// consoleUser finds the account's user and their console privileges; a
// zero user (no password hash) when there is none.
func (h *Handler) consoleUser(c echo.Context, account, userName string) (licensing.User, []licensing.Privilege, error) {
	ctx := c.Request().Context()
	acct, err := h.opts.Store.AccountByName(ctx, account)
	if errors.Is(err, licensing.ErrNotFound) || errors.Is(err, licensing.ErrInvalid) {
		return licensing.User{}, nil, nil
	}
	if err != nil {
		return licensing.User{}, nil, err
	}
	u, err := licensing.UserByName(ctx, h.opts.Store, acct.ID, userName)
	if errors.Is(err, licensing.ErrNotFound) || errors.Is(err, licensing.ErrInvalid) {
		return licensing.User{}, nil, nil
	}
	if err != nil {
		return licensing.User{}, nil, err
	}
	privs, err := h.opts.Store.ConsolePrivileges(ctx, acct.ID, u.ID)
	return u, privs, err
}

// signOut ends the person's session.
func (h *Handler) signOut(c echo.Context) error {
	id, _ := c.Get(sessionKey).(string)
	if err := h.opts.Store.EndConsoleSession(c.Request().Context(), licensing.HashToken(id)); err != nil {
		return h.failed(c, err)
	}
	setCookie(c, sessionCookie, "", timeGone, http.SameSiteLaxMode)
	return c.Redirect(http.StatusSeeOther, Path+"/signin?signedout=1")
}

// wait says how long to wait, in seconds or (from two minutes) minutes,
// rounded up.
func wait(seconds int) string {
	if seconds < 120 {
		return strconv.Itoa(seconds) + " seconds"
	}
	return strconv.Itoa((seconds+59)/60) + " minutes"
}
