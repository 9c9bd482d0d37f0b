package admin

import (
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/scimd/scimd/internal/problem"
	"github.com/scimd/scimd/licensing"
)

// auditRoutes lists the endpoints of this file.
func (h *Handler) auditRoutes() []Route {
	return []Route{
		{Method: http.MethodGet, Path: "/audit", Privileges: reading(), handler: h.listAudit},
	}
}

// auditView is one audit entry as the admin API shows it.
type auditView struct {
	ID     string          `json:"id"`
	At     time.Time       `json:"at"`
	Actor  auditActorView  `json:"actor"`
	Action string          `json:"action"`
	Target auditTargetView `json:"target"`
	Detail string          `json:"detail"`
}

// auditActorView is the token that made a write; empty fields for writes
// made on the command line.
type auditActorView struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Scope string `json:"scope"`
}

type auditTargetView struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

func viewAudit(e licensing.AuditEntry) auditView {
	return auditView{
		ID: e.ID, At: e.At.UTC(),
		Actor:  auditActorView{ID: e.ActorID, Name: e.ActorName, Scope: string(e.ActorScope)},
		Action: e.Action,
		Target: auditTargetView{Type: e.TargetType, ID: e.TargetID},
		Detail: e.Detail,
	}
}

// listAudit lists the account's audit log, newest first, filtered by
// ?action, ?actor (token id), ?targetType, ?target (target id) and the
// time range ?from (inclusive) to ?to (exclusive).
func (h *Handler) listAudit(c echo.Context) error {
	limit, after, err := h.paging(c, listAudit)
	if err != nil {
		return writeProblem(c, err)
	}
	from, err := timeParam(c, "from")
	if err != nil {
		return writeProblem(c, err)
	}
	to, err := timeParam(c, "to")
	if err != nil {
		return writeProblem(c, err)
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return writeProblem(c, problem.Invalid("from must be before to."))
	}
	q := licensing.AuditQuery{
		Action: c.QueryParam("action"), ActorID: c.QueryParam("actor"),
		TargetType: c.QueryParam("targetType"), TargetID: c.QueryParam("target"),
		From: from, To: to, Limit: limit, After: after,
	}
	for _, v := range []string{q.Action, q.ActorID, q.TargetType, q.TargetID} {
		if !storable(v) {
			return writeProblem(c, problem.Invalid("action, actor, targetType and target must be UTF-8 text without NUL."))
		}
	}
	page, err := h.opts.Store.AuditLog(c.Request().Context(), principal(c).AccountID, q)
	if errors.Is(err, licensing.ErrInvalid) && after != "" {
		return writeProblem(c, errBadCursor)
	}
	if err != nil {
		return writeProblem(c, err)
	}
	items := make([]auditView, 0, len(page.Items))
	for _, e := range page.Items {
		items = append(items, viewAudit(e))
	}
	return c.JSON(http.StatusOK, newList(items, h.nextCursor(c, listAudit, page.Next)))
}

// storable reports whether s is text every store can hold and compare:
// valid UTF-8 without NUL (PostgreSQL refuses the rest).
func storable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}
