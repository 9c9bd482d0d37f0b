package admin

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/scimd/scimd/internal/problem"
	"github.com/scimd/scimd/licensing"
)

// tokenRoutes lists the endpoints of this file.
func (h *Handler) tokenRoutes() []Route {
	return []Route{
		{Method: http.MethodGet, Path: "/tokens", Privileges: reading(licensing.PrivTokens), handler: h.listTokens},
		{Method: http.MethodPost, Path: "/tokens", Privileges: writing(licensing.PrivTokens), handler: h.createToken},
		{Method: http.MethodDelete, Path: "/tokens/:id", Privileges: writing(licensing.PrivTokens), handler: h.revokeToken},
	}
}

// tokenView is a token as the admin API shows it: never its hash, and
// its secret only once, in the answer that made it (createdTokenView).
type tokenView struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Scope      string     `json:"scope"`
	Privileges []string   `json:"privileges"`
	UserID     string     `json:"userId,omitempty"`
	CreatedAt  time.Time  `json:"createdAt"`
	RevokedAt  *time.Time `json:"revokedAt,omitempty"`
	ExpiresAt  *time.Time `json:"expiresAt,omitempty"`
}

// createdTokenView is the answer to a token made: the bearer string to
// hand to the client, shown this once, and the token.
type createdTokenView struct {
	Token string `json:"token"`
	tokenView
}

func viewToken(t licensing.Token) tokenView {
	v := tokenView{
		ID: t.ID, Name: t.Name, Scope: string(t.Scope), Privileges: make([]string, 0, len(t.Privileges)),
		UserID: t.UserID, CreatedAt: t.CreatedAt.UTC(), RevokedAt: utcPtr(t.RevokedAt), ExpiresAt: utcPtr(t.ExpiresAt),
	}
	for _, p := range t.Privileges {
		v.Privileges = append(v.Privileges, string(p))
	}
	return v
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// listTokens lists the account's tokens by creation, revoked and expired
// ones included, optionally only those of ?scope (scim, admin or agent),
// a page at a time from the store.
func (h *Handler) listTokens(c echo.Context) error {
	limit, after, err := h.paging(c, listTokens)
	if err != nil {
		return writeProblem(c, err)
	}
	var scope licensing.Scope
	if s := c.QueryParam("scope"); s != "" {
		if scope, err = licensing.ParseScope(s); err != nil {
			return writeProblem(c, problem.Invalid("scope must be scim, admin or agent."))
		}
	}
	page, err := h.opts.Store.Tokens(c.Request().Context(), principal(c).AccountID, licensing.TokenQuery{Scope: scope, Limit: limit, After: after})
	if after != "" && errors.Is(err, licensing.ErrInvalid) {
		return writeProblem(c, errBadCursor)
	}
	if err != nil {
		return writeProblem(c, err)
	}
	items := make([]tokenView, 0, len(page.Items))
	for _, t := range page.Items {
		items = append(items, viewToken(t))
	}
	return c.JSON(http.StatusOK, newList(items, h.nextCursor(c, listTokens, page.Next)))
}

type createTokenRequest struct {
	Name       string   `json:"name"`
	Scope      string   `json:"scope"`
	Privileges []string `json:"privileges"`
	UserID     string   `json:"userId"`
}

// maxTokenName bounds a token's name, which the audit log repeats.
const maxTokenName = 200

// createToken makes a token of the caller's account and answers its
// bearer string, once. An admin token gets at most the privileges of the
// token making it, a SCIM token (which adds and deletes users and grants
// their products) needs the users and products privileges, and an agent
// token (which can take a shared seat as its user) needs the sessions
// privilege: a token holder cannot make a token that does more than it
// may. Agent tokens expire after Options.AgentTokenTTL.
func (h *Handler) createToken(c echo.Context) error {
	var req createTokenRequest
	if err := problem.Decode(c, &req); err != nil {
		return writeProblem(c, err)
	}
	name := strings.TrimSpace(req.Name)
	switch {
	case name == "":
		return writeProblem(c, problem.Invalid("name is required: say who or what will use the token."))
	case len(name) > maxTokenName || !storable(name):
		return writeProblem(c, problem.Invalid("name must be text of at most "+strconv.Itoa(maxTokenName)+" bytes."))
	}
	scope, err := licensing.ParseScope(req.Scope)
	if err != nil {
		return writeProblem(c, problem.Invalid("scope is required: scim, admin or agent."))
	}
	if scope != licensing.ScopeAdmin && len(req.Privileges) > 0 {
		return writeProblem(c, problem.Invalid("privileges are for tokens of scope admin only."))
	}
	if scope != licensing.ScopeAgent && req.UserID != "" {
		return writeProblem(c, problem.Invalid("userId is for tokens of scope agent only."))
	}
	var privileges []licensing.Privilege
	switch scope {
	case licensing.ScopeAdmin:
		if privileges, err = parsePrivileges(req.Privileges); err != nil {
			return writeProblem(c, err)
		}
	case licensing.ScopeAgent:
		if req.UserID == "" {
			return writeProblem(c, problem.Invalid("userId is required for a token of scope agent: the user it signs in as."))
		}
	}
	p := principal(c)
	if missing := p.Lacks(licensing.TokenNeeds(scope, privileges)...); len(missing) > 0 {
		return writeProblem(c, &problem.Error{Status: http.StatusForbidden, Code: CodeForbidden,
			Detail: "A token cannot make a token that may do more than itself: this token lacks " + licensing.FormatPrivileges(missing) + "."})
	}
	ctx := c.Request().Context()
	var t licensing.Token
	var bearer string
	switch scope {
	case licensing.ScopeAdmin:
		t, bearer, err = licensing.IssueAdminToken(ctx, h.opts.Store, h.opts.Clock, p.AccountID, name, privileges)
	case licensing.ScopeAgent:
		if !storable(req.UserID) {
			err = licensing.ErrNotFound
			break
		}
		t, bearer, err = licensing.IssueAgentToken(ctx, h.opts.Store, h.opts.Clock, p.AccountID, req.UserID, name, h.opts.AgentTokenTTL)
	default:
		t, bearer, err = licensing.IssueToken(ctx, h.opts.Store, h.opts.Clock, p.AccountID, name, scope)
	}
	if scope == licensing.ScopeAgent && errors.Is(err, licensing.ErrNotFound) {
		return writeProblem(c, &problem.Error{Status: http.StatusNotFound, Code: CodeNotFound,
			Detail: "No user " + strconv.Quote(req.UserID) + " in this account for the agent token to sign in as."})
	}
	if err != nil {
		return writeProblem(c, err)
	}
	return c.JSON(http.StatusCreated, createdTokenView{Token: bearer, tokenView: viewToken(t)})
}

// parsePrivileges reads the privileges of an admin token: at least one,
// each a known privilege or "all".
func parsePrivileges(names []string) ([]licensing.Privilege, error) {
	var out []licensing.Privilege
	for _, n := range names {
		n = strings.ToLower(strings.TrimSpace(n))
		switch {
		case n == "all":
			out = append(out, licensing.AllPrivileges...)
		case slices.Contains(licensing.AllPrivileges, licensing.Privilege(n)):
			out = append(out, licensing.Privilege(n))
		default:
			return nil, problem.Invalid("Unknown privilege " + strconv.Quote(n) + ": want some of " + licensing.FormatPrivileges(licensing.AllPrivileges) + ", or all.")
		}
	}
	if len(out) == 0 {
		return nil, problem.Invalid("privileges are required for a token of scope admin: some of " + licensing.FormatPrivileges(licensing.AllPrivileges) + ", or all.")
	}
	return licensing.NormalizePrivileges(out), nil
}

// revokeToken revokes a token of the caller's account, the caller's own
// included; it stops working at once. Revoking a revoked token changes
// nothing and is not recorded again.
func (h *Handler) revokeToken(c echo.Context) error {
	ctx := c.Request().Context()
	p := principal(c)
	id := c.Param("id")
	if !storable(id) {
		return writeProblem(c, licensing.ErrNotFound)
	}
	t, err := h.opts.Store.Token(ctx, id)
	if err == nil && t.AccountID != p.AccountID {
		err = licensing.ErrNotFound
	}
	if err != nil {
		return writeProblem(c, err)
	}
	if t.RevokedAt != nil {
		return c.NoContent(http.StatusNoContent)
	}
	if err := h.opts.Store.RevokeToken(ctx, p.AccountID, id, h.opts.Clock.Now(), h.audit(c, "token.revoke", "token", id, t.AuditDetail())); err != nil {
		return writeProblem(c, err)
	}
	return c.NoContent(http.StatusNoContent)
}
