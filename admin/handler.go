package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/scimd/scimd/internal/problem"
	"github.com/scimd/scimd/licensing"
)

// Options configure the admin API.
type Options struct {
	Store   licensing.Store
	Clock   licensing.Clock
	Catalog licensing.Catalog
	// HashPassword turns a password set by an admin into the slow hash the
	// agent app's sign-in checks (a password.Pool's Hash). Nil: users
	// made here cannot be given a password. An error matching
	// licensing.ErrUnavailable (the hash pool is busy) answers 503.
	HashPassword func(ctx context.Context, password string) (string, error)
	// Cursors seals the cursor of every list (cmd passes the database's,
	// licensing.LoadCursors). Nil: licensing.EphemeralCursors, whose
	// cursors last as long as the process.
	Cursors *licensing.Cursors
	// AgentTokenTTL is the life of the agent tokens made through the API;
	// 0 lets them live until revoked.
	AgentTokenTTL time.Duration
	// Retention is how long the store keeps what usage reports read (the
	// seat events), for their retainedFrom; zero: kept forever.
	Retention licensing.Retention
}

// Handler serves the admin API.
type Handler struct {
	opts Options
}

// New returns the admin API handler.
func New(opts Options) *Handler {
	if opts.Clock == nil {
		opts.Clock = licensing.SystemClock{}
	}
	if opts.Cursors == nil {
		opts.Cursors = licensing.EphemeralCursors()
	}
	return &Handler{opts: opts}
}

// Route describes one endpoint of the admin API and the privileges that
// open it: a caller needs any one of them.
type Route struct {
	Method string
	// Path is relative to the admin API's root, in echo's syntax
	// (/users/:id).
	Path       string
	Privileges []licensing.Privilege
	handler    echo.HandlerFunc
}

// Routes lists every endpoint with the privileges it needs.
func (h *Handler) Routes() []Route {
	var all []Route
	for _, part := range [][]Route{h.userRoutes(), h.groupRoutes(), h.productRoutes(), h.sessionRoutes(), h.usageRoutes(), h.auditRoutes(), h.tokenRoutes(), h.privilegeRoutes()} {
		all = append(all, part...)
	}
	return all
}

// reading is the privileges that open a read endpoint of the area of
// privilege p: read, or p itself (or any of ps).
func reading(ps ...licensing.Privilege) []licensing.Privilege {
	return append([]licensing.Privilege{licensing.PrivRead}, ps...)
}

// writing is the privilege that opens a write endpoint.
func writing(p licensing.Privilege) []licensing.Privilege { return []licensing.Privilege{p} }

// Register mounts the routes on g (the /api/v1/admin group). auth must
// authenticate admin tokens and put their licensing.Principal in the
// request context.
func (h *Handler) Register(g *echo.Group, auth echo.MiddlewareFunc) {
	for _, r := range h.Routes() {
		g.Add(r.Method, r.Path, r.handler, auth, require(r.Privileges))
	}
	// Unknown paths under the API answer a problem, not echo's default.
	g.Any("/*", func(c echo.Context) error {
		return writeProblem(c, &problem.Error{Status: http.StatusNotFound, Code: CodeNotFound, Detail: "No such endpoint of the admin API; see /api/v1/openapi.json."})
	})
}

// require refuses callers without any of the privileges.
func require(privileges []licensing.Privilege) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p, ok := licensing.PrincipalFrom(c.Request().Context())
			if !ok || p.Scope != licensing.ScopeAdmin {
				return writeProblem(c, licensing.ErrUnauthenticated)
			}
			if !p.Has(privileges...) {
				return writeProblem(c, &problem.Error{Status: http.StatusForbidden, Code: CodeForbidden,
					Detail: "This token lacks the privilege this endpoint needs: one of " + licensing.FormatPrivileges(privileges) + "."})
			}
			return next(c)
		}
	}
}

// principal is the calling admin token.
func principal(c echo.Context) licensing.Principal {
	p, _ := licensing.PrincipalFrom(c.Request().Context())
	return p
}

// audit is the audit entry of a write the calling token is about to make,
// for the store to record in the write's own transaction.
func (h *Handler) audit(c echo.Context, action, targetType, targetID, detail string) licensing.AuditEntry {
	return licensing.NewAuditEntry(c.Request().Context(), h.opts.Clock.Now(), action, targetType, targetID, detail)
}

// Paging of every list: ?limit=N (1-500, default 50) and ?cursor=C, the
// nextCursor of the previous page.
const (
	defaultLimit = 50
	maxLimit     = 500
)

// list is the envelope of every list answer.
type list[T any] struct {
	Items []T `json:"items"`
	// NextCursor continues the listing; absent on the last page.
	NextCursor string `json:"nextCursor,omitempty"`
}

func newList[T any](items []T, next string) list[T] {
	if items == nil {
		items = []T{}
	}
	return list[T]{Items: items, NextCursor: next}
}

// The lists, as their cursors name them: a cursor of one list is refused
// by every other (licensing.Cursors).
const (
	listUsers  = "admin.users"
	listGroups = "admin.groups"
	// listMembers is followed by the group's id: a cursor of one group's
	// members opens no page of another's.
	listMembers  = "admin.members:"
	listSessions = "admin.sessions"
	listAudit    = "admin.audit"
	listTokens   = "admin.tokens"
	listProducts = "admin.products"
)

// errBadCursor answers a cursor that is not the nextCursor of an earlier
// page of the same list, unchanged.
var errBadCursor = problem.Invalid("Malformed cursor: pass the nextCursor of a previous page of this list as it came.")

// paging reads ?limit and ?cursor of the list, and opens the cursor into
// the position it continues from ("" for the first page).
func (h *Handler) paging(c echo.Context, list string) (limit int, after string, err error) {
	limit = defaultLimit
	if s := c.QueryParam("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLimit {
			return 0, "", problem.Invalid("limit must be an integer from 1 to " + strconv.Itoa(maxLimit) + ".")
		}
		limit = n
	}
	after, err = h.opts.Cursors.Open(principal(c).AccountID, list, c.QueryParam("cursor"))
	if err != nil {
		return 0, "", errBadCursor
	}
	return limit, after, nil
}

// nextCursor seals the position of the list's next page ("" for none)
// into the nextCursor the caller gets.
func (h *Handler) nextCursor(c echo.Context, list, position string) string {
	return h.opts.Cursors.Seal(principal(c).AccountID, list, position)
}

// position is where the list the handlers cut into pages themselves
// (shared sessions) continues: the time and id of the last item of the
// previous page, in a listing ordered by time, then id.
type position struct {
	At time.Time `json:"c"`
	ID string    `json:"i"`
}

func (k position) encode() string {
	b, _ := json.Marshal(k)
	return string(b)
}

func decodePosition(s string) (position, error) {
	var k position
	if json.Unmarshal([]byte(s), &k) != nil || k.ID == "" {
		return k, errBadCursor
	}
	return k, nil
}

// timeParam reads an RFC 3339 time from the query; zero when absent.
func timeParam(c echo.Context, name string) (time.Time, error) {
	s := c.QueryParam(name)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, problem.Invalid(name + " must be an RFC 3339 time such as 2026-11-26T09:00:00Z.")
	}
	return t, nil
}

// product resolves a product id of the catalog.
func (h *Handler) product(id string) (licensing.Product, error) {
	p, ok := h.opts.Catalog.Product(id)
	if !ok {
		return licensing.Product{}, &problem.Error{Status: http.StatusNotFound, Code: CodeUnknownProduct,
			Detail: "No product " + strconv.Quote(id) + " in the catalog; GET /api/v1/admin/products lists them."}
	}
	return p, nil
}
