package console

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/scimd/scimd/internal/origin"
	"github.com/scimd/scimd/licensing"
)

// connectPage is what connect.html shows.
type connectPage struct {
	// SCIMBase is the URL an identity provider provisions to.
	SCIMBase string
	// Name is the token form's name field.
	Name string
	// Token is the bearer string of the token just made, shown once.
	Token, Error string
}

// maxTokenName bounds a token's name, which the audit log repeats.
const maxTokenName = 200

// connectShow shows the SCIM base URL, the form that makes a SCIM token
// and the Okta and Entra ID steps.
func (h *Handler) connectShow(c echo.Context) error {
	return h.render(c, http.StatusOK, "connect.html", "Connect an identity provider", h.connectPage(c, "okta"))
}

func (h *Handler) connectPage(c echo.Context, name string) connectPage {
	base, _ := origin.From(c.Request().Context())
	return connectPage{SCIMBase: base + h.opts.SCIMPath, Name: name}
}

// tokenCheck makes a SCIM token and shows it, once. A SCIM token adds
// and deletes users and grants their products: making one takes the
// users and products privileges besides tokens (licensing.TokenNeeds).
func (h *Handler) tokenCheck(c echo.Context) error {
	name := strings.TrimSpace(c.FormValue("name"))
	page := h.connectPage(c, name)
	p := person(c)
	switch missing := p.Lacks(licensing.TokenNeeds(licensing.ScopeSCIM, nil)...); {
	case len(missing) > 0:
		page.Error = "A SCIM token adds and deletes users and grants their products: making one also takes the privileges " +
			licensing.FormatPrivileges(missing) + ", which you do not hold."
		return h.render(c, http.StatusForbidden, "connect.html", "Connect an identity provider", page)
	case name == "" || len(name) > maxTokenName:
		page.Error = "Name the token (at most 200 bytes), e.g. okta or entra: say who will use it."
		return h.render(c, http.StatusBadRequest, "connect.html", "Connect an identity provider", page)
	}
	_, bearer, err := licensing.IssueToken(c.Request().Context(), h.opts.Store, h.opts.Clock, p.AccountID, name, licensing.ScopeSCIM)
	if err != nil {
		return h.failed(c, err)
	}
	page.Token = bearer
	return h.render(c, http.StatusOK, "connect.html", "Connect an identity provider", page)
}
