package agent

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/scimd/scimd/internal/problem"
	"github.com/scimd/scimd/licensing"
)

// Options configure the agent API.
type Options struct {
	Store   licensing.Store
	Clock   licensing.Clock
	Catalog licensing.Catalog
	Agents  *licensing.Agents
	// Verify reports, in constant time, whether password matches the
	// stored hash ("" never matches), on a password.Pool's sign-in lane.
	// An error (the pool is busy: licensing.ErrUnavailable, or ctx ended)
	// means nothing was checked.
	Verify func(ctx context.Context, hash, password string) (bool, error)
	// TokenTTL is the life of the token an agent gets at sign-in.
	// Default 12 hours.
	TokenTTL time.Duration
	// SignIn sets how failed password sign-ins slow down the next ones
	// (zero fields take licensing's defaults).
	SignIn licensing.SignInPolicy
}

// Handler serves the agent API.
type Handler struct {
	opts     Options
	throttle *licensing.SignInThrottle
}

// New returns the agent API handler.
func New(opts Options) *Handler {
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = 12 * time.Hour
	}
	if opts.Clock == nil {
		opts.Clock = licensing.SystemClock{}
	}
	return &Handler{opts: opts, throttle: licensing.NewSignInThrottle(opts.Store, opts.Clock, opts.SignIn)}
}

// Register mounts the routes on g (the /api/v1/agent group). auth must
// authenticate agent tokens and put their licensing.Principal in the
// request context; sign-in runs without it (it takes a password) or with
// it (an admin-issued agent token).
func (h *Handler) Register(g *echo.Group, auth echo.MiddlewareFunc) {
	g.POST("/signin", h.signIn)
	g.GET("/products", h.products, auth)
	g.GET("/sessions", h.listSessions, auth)
	g.POST("/sessions", h.startSession, auth)
	g.GET("/sessions/:id", h.getSession, auth)
	g.POST("/sessions/:id/connect", h.connect, auth)
	g.POST("/sessions/:id/heartbeat", h.heartbeat, auth)
	g.POST("/sessions/:id/end", h.end, auth)
	g.DELETE("/sessions/:id", h.end, auth)
}

// agentOf returns the signed-in agent's principal.
func agentOf(c echo.Context) (licensing.Principal, error) {
	p, ok := licensing.PrincipalFrom(c.Request().Context())
	if !ok || p.Scope != licensing.ScopeAgent || p.UserID == "" {
		return licensing.Principal{}, licensing.ErrUnauthenticated
	}
	return p, nil
}

// decode reads a JSON body strictly.
func decode(c echo.Context, v any) error { return problem.Decode(c, v) }

type signInRequest struct {
	Account  string `json:"account"`
	UserName string `json:"userName"`
	Password string `json:"password"`
}

type userView struct {
	ID          string `json:"id"`
	UserName    string `json:"userName"`
	DisplayName string `json:"displayName,omitempty"`
}

type productView struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	License  string `json:"license"`
	CanStart bool   `json:"canStart"`
	Message  string `json:"message,omitempty"`
}

type signInResponse struct {
	Token     string        `json:"token"`
	ExpiresAt time.Time     `json:"expiresAt"`
	User      userView      `json:"user"`
	Products  []productView `json:"products"`
}

// signIn exchanges a userName and password (or an admin-issued agent
// token) for a short-lived agent token, and tells which products the
// agent can start a session of now. A token from an earlier sign-in
// cannot sign in again: it would renew itself for ever, outliving a
// password change.
func (h *Handler) signIn(c echo.Context) error {
	ctx := c.Request().Context()
	u, err := h.authenticateSignIn(c)
	if err != nil {
		return writeProblem(c, err)
	}
	if !u.Active {
		return writeProblem(c, &licensing.NotEntitledError{Inactive: true})
	}
	status, err := h.opts.Agents.Status(ctx, u)
	if err != nil {
		return writeProblem(c, err)
	}
	t, bearer, err := licensing.IssueSignInToken(ctx, h.opts.Store, h.opts.Clock, u.AccountID, u.ID, h.opts.TokenTTL)
	if err != nil {
		return writeProblem(c, err)
	}
	return c.JSON(http.StatusOK, signInResponse{
		Token: bearer, ExpiresAt: *t.ExpiresAt,
		User:     userView{ID: u.ID, UserName: u.UserName, DisplayName: u.DisplayName},
		Products: productViews(status),
	})
}

// errBadSignIn answers every failed password sign-in alike, so that a
// caller cannot tell an unknown account or user from a wrong password.
var errBadSignIn = &problem.Error{Status: http.StatusUnauthorized, Code: CodeInvalidSignIn, Detail: "The account, userName or password is wrong."}

func (h *Handler) authenticateSignIn(c echo.Context) (licensing.User, error) {
	ctx := c.Request().Context()
	if header := c.Request().Header.Get(echo.HeaderAuthorization); header != "" {
		scheme, bearer, _ := strings.Cut(header, " ")
		if !strings.EqualFold(scheme, "Bearer") {
			return licensing.User{}, licensing.ErrUnauthenticated
		}
		p, err := licensing.Authenticate(ctx, h.opts.Store, h.opts.Clock, strings.TrimSpace(bearer), licensing.ScopeAgent)
		if errors.Is(err, licensing.ErrUnavailable) {
			return licensing.User{}, err
		}
		if err != nil || p.UserID == "" || p.SignIn {
			return licensing.User{}, licensing.ErrUnauthenticated
		}
		return h.opts.Store.User(ctx, p.AccountID, p.UserID)
	}
	var req signInRequest
	if err := decode(c, &req); err != nil {
		return licensing.User{}, err
	}
	if req.Account == "" || req.UserName == "" || req.Password == "" {
		return licensing.User{}, invalid("Send account, userName and password, or an agent token as Authorization: Bearer <token>.")
	}
	// A blocked attempt is refused before anything tells whether the
	// user exists, and before its password costs a hash.
	attempt := licensing.SignInAttempt{Account: req.Account, UserName: req.UserName, Address: c.RealIP()}
	if err := h.throttle.Check(ctx, attempt); err != nil {
		return licensing.User{}, err
	}
	var u licensing.User
	acct, err := h.opts.Store.AccountByName(ctx, req.Account)
	if err == nil {
		u, err = licensing.UserByName(ctx, h.opts.Store, acct.ID, req.UserName)
	}
	if err != nil && !errors.Is(err, licensing.ErrNotFound) {
		return licensing.User{}, err
	}
	// A missing user is checked against no hash: it spends the time of a
	// real check, and fails as a wrong password does.
	ok, verr := h.opts.Verify(ctx, u.PasswordHash, req.Password)
	if verr != nil {
		return licensing.User{}, verr
	}
	if err != nil || !ok {
		if err := h.throttle.Failed(ctx, attempt); err != nil {
			return licensing.User{}, err
		}
		return licensing.User{}, errBadSignIn
	}
	if err := h.throttle.Succeeded(ctx, attempt); err != nil {
		return licensing.User{}, err
	}
	return u, nil
}

func productViews(status []licensing.ProductStatus) []productView {
	out := make([]productView, 0, len(status))
	for _, s := range status {
		out = append(out, productView{ID: s.Product.ID, Name: s.Product.Name, License: string(s.License), CanStart: s.CanStart, Message: s.Message})
	}
	return out
}

// products answers which products the agent can start a session of now.
func (h *Handler) products(c echo.Context) error {
	p, err := agentOf(c)
	if err != nil {
		return writeProblem(c, err)
	}
	ctx := c.Request().Context()
	u, err := h.opts.Store.User(ctx, p.AccountID, p.UserID)
	if err != nil {
		return writeProblem(c, err)
	}
	status, err := h.opts.Agents.Status(ctx, u)
	if err != nil {
		return writeProblem(c, err)
	}
	return c.JSON(http.StatusOK, map[string]any{"products": productViews(status)})
}
