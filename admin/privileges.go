package admin

import (
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/scimd/scimd/internal/origin"
	"github.com/scimd/scimd/internal/problem"
	"github.com/scimd/scimd/licensing"
)

// This file is the console privileges of users: a user holding any makes
// a console user, who signs in at /console. The rule of who may grant
// what is licensing.SetConsolePrivileges', shared with the console and
// the command line.

// privilegeRoutes lists the endpoints of this file. Setting privileges is
// managing users (the users privilege); the token must hold, besides,
// every privilege it grants or takes away.
func (h *Handler) privilegeRoutes() []Route {
	return []Route{
		{http.MethodPut, "/users/:id/privileges", writing(licensing.PrivUsers), h.setPrivileges},
	}
}

// privilegesRequest is the body of PUT /users/:id/privileges: the whole
// set of console privileges the user holds afterwards (empty: none).
type privilegesRequest struct {
	Privileges *[]string `json:"privileges"`
}

// privilegesView answers PUT /users/:id/privileges.
type privilegesView struct {
	UserID     string                `json:"userId"`
	Privileges []licensing.Privilege `json:"privileges"`
	// PasswordLink, present once, when a user without a password became
	// a console user: the one-time link where they choose one.
	PasswordLink        string     `json:"passwordLink,omitempty"`
	PasswordLinkExpires *time.Time `json:"passwordLinkExpires,omitempty"`
}

// consolePasswordPath is where a password link leads (the console's).
const consolePasswordPath = "/console/password"

// setPrivileges sets a user's console privileges. Taking one away ends
// the user's console sessions at once.
func (h *Handler) setPrivileges(c echo.Context) error {
	var req privilegesRequest
	if err := problem.Decode(c, &req); err != nil {
		return writeProblem(c, err)
	}
	if req.Privileges == nil {
		return writeProblem(c, problem.Invalid("privileges is required: the console privileges the user holds afterwards ([] for none)."))
	}
	var privs []licensing.Privilege
	if len(*req.Privileges) > 0 {
		var err error
		if privs, err = parsePrivileges(*req.Privileges); err != nil {
			return writeProblem(c, err)
		}
	}
	ctx := c.Request().Context()
	if !storable(c.Param("id")) {
		return writeProblem(c, licensing.ErrNotFound)
	}
	g, err := licensing.SetConsolePrivileges(ctx, h.opts.Store, h.opts.Clock, principal(c).AccountID, c.Param("id"), privs)
	if err != nil {
		return writeProblem(c, err)
	}
	v := privilegesView{UserID: g.User.ID, Privileges: g.New}
	if v.Privileges == nil {
		v.Privileges = []licensing.Privilege{}
	}
	if g.Link != "" {
		base, _ := origin.From(ctx)
		v.PasswordLink = base + consolePasswordPath + "?token=" + url.QueryEscape(g.Link)
		exp := g.LinkExpires.UTC()
		v.PasswordLinkExpires = &exp
	}
	return c.JSON(http.StatusOK, v)
}
