package admin

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/scimd/scimd/internal/problem"
	"github.com/scimd/scimd/licensing"
)

// sessionRoutes lists the endpoints of this file: the shared sessions,
// that is the concurrent seats held, and ending them to free the seats.
func (h *Handler) sessionRoutes() []Route {
	return []Route{
		{Method: http.MethodGet, Path: "/sessions", Privileges: reading(licensing.PrivSessions), handler: h.listSharedSessions},
		{Method: http.MethodPost, Path: "/sessions/end", Privileges: writing(licensing.PrivSessions), handler: h.endSharedSessions},
		{Method: http.MethodDelete, Path: "/sessions/:id", Privileges: writing(licensing.PrivSessions), handler: h.endSharedSession},
	}
}

// sharedSession is what an admin sees of a concurrent seat: the agent
// holding it and the open sessions sharing it. Its id is
// "<productId>:<userId>".
type sharedSession struct {
	ID            string    `json:"id"`
	ProductID     string    `json:"productId"`
	ProductName   string    `json:"productName"`
	UserID        string    `json:"userId"`
	UserName      string    `json:"userName"`
	DisplayName   string    `json:"displayName,omitempty"`
	Email         string    `json:"email,omitempty"`
	State         string    `json:"state"`
	Since         time.Time `json:"since"`
	LastHeartbeat time.Time `json:"lastHeartbeat"`
	Sessions      int       `json:"sessions"`
}

// sharedSessions turns the account's open sessions into the shared
// sessions of the list (licensing.SharedSessions), ordered by since, then
// id.
func (h *Handler) sharedSessions(open []licensing.Session) []sharedSession {
	seats := licensing.SharedSessions(open)
	list := make([]sharedSession, len(seats))
	for i, s := range seats {
		p := h.opts.Catalog.Named(licensing.Product{ID: s.ProductID})
		list[i] = sharedSession{ID: s.ID(), ProductID: s.ProductID, ProductName: p.Name, UserID: s.UserID,
			State: string(s.State), Since: s.Since, LastHeartbeat: s.LastHeartbeat, Sessions: s.Sessions}
	}
	return list
}

// listSharedSessions lists the shared sessions (concurrent seats held),
// of one product with ?product=, oldest first. The list is built from
// the account's open sessions, which the plans' seat counts bound.
func (h *Handler) listSharedSessions(c echo.Context) error {
	ctx := c.Request().Context()
	limit, cursor, err := h.paging(c, listSessions)
	if err != nil {
		return writeProblem(c, err)
	}
	productID := c.QueryParam("product")
	if productID != "" {
		if _, err := h.product(productID); err != nil {
			return writeProblem(c, err)
		}
	}
	// The cursor is the position after the last shared session of the
	// previous page: (since, id).
	var after *position
	if cursor != "" {
		k, err := decodePosition(cursor)
		if err != nil {
			return writeProblem(c, err)
		}
		after = &k
	}
	accountID := principal(c).AccountID
	open, err := h.opts.Store.OpenSessions(ctx, accountID, productID)
	if err != nil {
		return writeProblem(c, err)
	}
	all := h.sharedSessions(open)
	if after != nil {
		// The first shared session past the cursor: later since, or the
		// same since and a greater id.
		i, _ := slices.BinarySearchFunc(all, *after, func(s sharedSession, k position) int {
			return cmp.Or(s.Since.Compare(k.At), strings.Compare(s.ID, k.ID))
		})
		for i < len(all) && all[i].Since.Equal(after.At) && all[i].ID == after.ID {
			i++
		}
		all = all[i:]
	}
	page, next := all, ""
	if len(all) > limit {
		page = all[:limit]
		last := page[limit-1]
		next = position{At: last.Since, ID: last.ID}.encode()
	}
	if err := h.fillAgents(ctx, accountID, page); err != nil {
		return writeProblem(c, err)
	}
	return c.JSON(http.StatusOK, newList(page, h.nextCursor(c, listSessions, next)))
}

// fillAgents fills the agents' names and emails of a page of shared
// sessions, with one query for the whole page.
func (h *Handler) fillAgents(ctx context.Context, accountID string, page []sharedSession) error {
	if len(page) == 0 {
		return nil
	}
	ids := make([]string, 0, len(page))
	for _, s := range page {
		ids = append(ids, s.UserID)
	}
	slices.Sort(ids)
	users, err := h.opts.Store.UsersByID(ctx, accountID, slices.Compact(ids))
	if err != nil {
		return err
	}
	byID := map[string]licensing.User{}
	for _, u := range users {
		byID[u.ID] = u
	}
	for i := range page {
		// A user deleted since the sessions were read keeps its row, without names.
		if u, ok := byID[page[i].UserID]; ok {
			v := viewUser(u)
			page[i].UserName, page[i].DisplayName, page[i].Email = v.UserName, v.DisplayName, v.Email
		}
	}
	return nil
}

// endResult is the outcome of ending one shared session.
type endResult struct {
	ID            string `json:"id"`
	Ended         bool   `json:"ended"`
	SessionsEnded int    `json:"sessionsEnded"`
	// Error says why the shared session was not ended: the problem a
	// DELETE of it would have answered.
	Error *problem.Problem `json:"error,omitempty"`
}

// errNoSharedSession answers an id that names no shared session of the
// account: malformed, of another account, or already free.
var errNoSharedSession = &problem.Error{Status: http.StatusNotFound, Code: CodeNotFound,
	Detail: "No such shared session in this account: it has ended, or the id is not a <productId>:<userId> of GET /api/v1/admin/sessions."}

// endSeat ends the shared session with the id (every open session of the
// agent's product), with the calling admin as actor, and records it in
// the audit log. It returns the sessions ended.
func (h *Handler) endSeat(c echo.Context, id string) (int, error) {
	ctx := c.Request().Context()
	productID, userID, ok := strings.Cut(id, ":")
	if !ok || userID == "" || !utf8.ValidString(userID) || strings.ContainsRune(userID, 0) {
		return 0, errNoSharedSession
	}
	if _, known := h.opts.Catalog.Product(productID); !known {
		return 0, errNoSharedSession
	}
	n, err := licensing.EndSharedSession(ctx, h.opts.Store, h.opts.Clock, principal(c).AccountID, productID, userID)
	if err != nil {
		return 0, noSharedSession(err)
	}
	return n, nil
}

// noSharedSession turns the store's "no open session" into the answer
// for a shared session id.
func noSharedSession(err error) error {
	if errors.Is(err, licensing.ErrNotFound) {
		return errNoSharedSession
	}
	return err
}

// endSharedSession ends one shared session: DELETE /sessions/:id.
func (h *Handler) endSharedSession(c echo.Context) error {
	// echo leaves a parameter escaped when the path was (a client may
	// send the colon as %3A).
	id, err := url.PathUnescape(c.Param("id"))
	if err != nil {
		return writeProblem(c, errNoSharedSession)
	}
	n, err := h.endSeat(c, id)
	if err != nil {
		return writeProblem(c, err)
	}
	return c.JSON(http.StatusOK, endResult{ID: id, Ended: true, SessionsEnded: n})
}

// maxEndIDs bounds the ids of one bulk end.
const maxEndIDs = 100

type endRequest struct {
	IDs []string `json:"ids"`
}

// endSharedSessions ends several shared sessions and answers a result per
// id, in the order asked. An id repeated in the request is handled once:
// its repeats answer 404, naming the first occurrence.
func (h *Handler) endSharedSessions(c echo.Context) error {
	var req endRequest
	if err := problem.Decode(c, &req); err != nil {
		return writeProblem(c, err)
	}
	if len(req.IDs) == 0 || len(req.IDs) > maxEndIDs {
		return writeProblem(c, problem.Invalid(fmt.Sprintf("ids must list 1 to %d shared session ids.", maxEndIDs)))
	}
	results := make([]endResult, 0, len(req.IDs))
	first := map[string]int{}
	for i, id := range req.IDs {
		if j, seen := first[id]; seen {
			repeat := problem.New(http.StatusNotFound, CodeNotFound, fmt.Sprintf("This id is repeated: it was handled once, at ids[%d].", j))
			results = append(results, endResult{ID: id, Error: &repeat})
			continue
		}
		first[id] = i
		n, err := h.endSeat(c, id)
		if err != nil {
			p := toProblem(c, err)
			results = append(results, endResult{ID: id, Error: &p})
			continue
		}
		results = append(results, endResult{ID: id, Ended: true, SessionsEnded: n})
	}
	return c.JSON(http.StatusOK, map[string]any{"results": results})
}
