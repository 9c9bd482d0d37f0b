package console

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/scimd/scimd/licensing"
)

// sessionsPerPage is the length of a page of the shared sessions list.
const sessionsPerPage = 50

// sessionsList names the shared sessions list's cursors.
const sessionsList = "console.sessions"

// stamp is a time as the pages show it: ISO 8601 in a <time datetime>
// element, which console.js rewrites to the browser's time zone, and UTC
// as its text without JavaScript.
type stamp struct{ ISO, UTC string }

func stampOf(t time.Time) stamp {
	t = t.UTC()
	return stamp{ISO: t.Format(time.RFC3339), UTC: t.Format("2006-01-02 15:04:05") + " UTC"}
}

// seatRow is a shared session as the page shows it.
type seatRow struct {
	// ID is the shared session's id, "<productId>:<userId>".
	ID, Agent, Email, State string
	Since, LastHeartbeat    stamp
	Sessions                int
	// known tells that the agent is a user of the account.
	known bool
}

// productTab is a product of the page's product choice.
type productTab struct {
	licensing.ProductUsage
	Href    string
	Current bool
}

// sessionsPage is what sessions.html shows.
type sessionsPage struct {
	Products []productTab
	// Product is the product whose shared sessions are listed.
	Product licensing.ProductUsage
	Seats   []seatRow
	// Next is the URL of the next page ("" on the last), Events the URL
	// of the page's live updates, and Self the page's own (which the
	// live updates fetch again).
	Next, Events, Self string
	// End tells that the person may end sessions.
	End bool
	// Confirm lists the sessions about to end, on the confirmation page;
	// Results the outcome of each, on the answer.
	Confirm []seatRow
	Results []endResult
	// Freed counts the seats the answer freed.
	Freed int
}

// endResult is the outcome of ending one shared session.
type endResult struct {
	Agent   string
	Ended   bool
	Message string
}

// sessionsShow lists the agents occupying the concurrent seats of a
// product (?product=, by default the first of the catalog), oldest
// first, cursor-paged, with the count waiting.
func (h *Handler) sessionsShow(c echo.Context) error {
	page, err := h.sessionsPage(c, c.QueryParam("product"))
	if err != nil {
		return h.pageFailed(c, err)
	}
	return h.render(c, http.StatusOK, "sessions.html", "Shared sessions", page)
}

// sessionsPage builds the page of the product's shared sessions. It
// returns a *pageError for a request the person can correct.
func (h *Handler) sessionsPage(c echo.Context, productID string) (sessionsPage, error) {
	ctx := c.Request().Context()
	p := person(c)
	usage, err := licensing.ProductsUsage(ctx, h.opts.Store, p.AccountID, h.opts.Catalog.Products, h.opts.Clock.Now())
	if err != nil {
		return sessionsPage{}, err
	}
	if len(usage) == 0 {
		return sessionsPage{}, &pageError{http.StatusNotFound, "The catalog has no products. Start scimd with a catalog file (--catalog) that lists them."}
	}
	page := sessionsPage{End: p.Has(licensing.PrivSessions), Product: usage[0]}
	if productID != "" {
		i := slices.IndexFunc(usage, func(u licensing.ProductUsage) bool { return u.ID == productID })
		if i < 0 {
			return sessionsPage{}, &pageError{http.StatusNotFound, "There is no such product in the catalog."}
		}
		page.Product = usage[i]
	}
	for _, u := range usage {
		page.Products = append(page.Products, productTab{ProductUsage: u, Href: Path + "/sessions?product=" + url.QueryEscape(u.ID), Current: u.ID == page.Product.ID})
	}
	after, err := h.opts.Cursors.Open(p.AccountID, sessionsList+":"+page.Product.ID, c.QueryParam("cursor"))
	if err != nil {
		return sessionsPage{}, &pageError{http.StatusBadRequest, "This page link is broken. Start from the first page."}
	}
	open, err := h.opts.Store.OpenSessions(ctx, p.AccountID, page.Product.ID)
	if err != nil {
		return sessionsPage{}, err
	}
	seats := licensing.SharedSessions(open)
	page.Self = Path + "/sessions?" + url.Values{"product": {page.Product.ID}, "cursor": {c.QueryParam("cursor")}}.Encode()
	page.Events = Path + "/sessions/events?" + url.Values{"product": {page.Product.ID}, "v": {versionOf(seats, page.Product.Waiting)}}.Encode()
	if after != "" {
		// The position is "<since in Unix nanoseconds> <id>" of the last
		// row of the previous page.
		at, id, _ := strings.Cut(after, " ")
		ns, _ := strconv.ParseInt(at, 10, 64)
		since := time.Unix(0, ns).UTC()
		i, _ := slices.BinarySearchFunc(seats, since, func(s licensing.SharedSession, t time.Time) int { return s.Since.Compare(t) })
		for i < len(seats) && seats[i].Since.Equal(since) && cmp.Compare(seats[i].ID(), id) <= 0 {
			i++
		}
		seats = seats[i:]
	}
	if len(seats) > sessionsPerPage {
		last := seats[sessionsPerPage-1]
		q := url.Values{"product": {page.Product.ID},
			"cursor": {h.opts.Cursors.Seal(p.AccountID, sessionsList+":"+page.Product.ID, strconv.FormatInt(last.Since.UnixNano(), 10)+" "+last.ID())}}
		page.Next = Path + "/sessions?" + q.Encode()
		seats = seats[:sessionsPerPage]
	}
	page.Seats, err = h.seatRows(ctx, p.AccountID, seats)
	return page, err
}

// pageError is a request the person can correct, answered as an error
// page with its status.
type pageError struct {
	status  int
	message string
}

func (e *pageError) Error() string { return e.message }

// pageFailed answers err: a *pageError as its page, any other error as
// h.failed does.
func (h *Handler) pageFailed(c echo.Context, err error) error {
	var pe *pageError
	if errors.As(err, &pe) {
		return h.errorPage(c, pe.status, pe.message)
	}
	return h.failed(c, err)
}

// seatRows names the agents of the shared sessions, with one query.
func (h *Handler) seatRows(ctx context.Context, accountID string, seats []licensing.SharedSession) ([]seatRow, error) {
	if len(seats) == 0 {
		return nil, nil
	}
	ids := make([]string, 0, len(seats))
	for _, s := range seats {
		ids = append(ids, s.UserID)
	}
	slices.Sort(ids)
	users, err := h.opts.Store.UsersByID(ctx, accountID, slices.Compact(ids))
	if err != nil {
		return nil, err
	}
	byID := map[string]licensing.User{}
	for _, u := range users {
		byID[u.ID] = u
	}
	rows := make([]seatRow, 0, len(seats))
	for _, s := range seats {
		r := seatRow{ID: s.ID(), Agent: "(deleted user)", State: stateLabel(s.State), Since: stampOf(s.Since),
			LastHeartbeat: stampOf(s.LastHeartbeat), Sessions: s.Sessions}
		// A user deleted since the sessions were read keeps its row.
		if u, ok := byID[s.UserID]; ok {
			ur := h.userRow(u)
			r.Agent, r.Email, r.known = cmp.Or(ur.Name, ur.UserName), ur.Email, true
		}
		rows = append(rows, r)
	}
	return rows, nil
}

func stateLabel(s licensing.SessionState) string {
	if s == licensing.SessionConnected {
		return "Connected to a customer"
	}
	return "Waiting for a customer"
}

// maxEnd bounds the shared sessions of one End session form, as the
// admin API's bulk end does.
const maxEnd = 100

// sessionsEnd is the End session form: without confirm=1 it shows the
// confirmation naming the sessions and their agents; with it, it ends
// them through licensing.EndSharedSession (audited with the person as
// actor) and shows the result of each and the seats freed.
func (h *Handler) sessionsEnd(c echo.Context) error {
	form, err := c.FormParams()
	if err != nil {
		return h.errorPage(c, http.StatusBadRequest, "The form could not be read.")
	}
	productID := form.Get("product")
	page, err := h.sessionsPage(c, productID)
	if err != nil {
		return h.pageFailed(c, err)
	}
	var ids []string
	for _, id := range form["id"] {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 || len(ids) > maxEnd {
		return h.errorPage(c, http.StatusBadRequest, "Select from 1 to 100 sessions to end, with their checkboxes.")
	}
	ctx := c.Request().Context()
	p := person(c)
	seats := make([]licensing.SharedSession, 0, len(ids))
	for _, id := range ids {
		product, user, ok := strings.Cut(id, ":")
		if !ok || product != page.Product.ID || user == "" || !storable(user) {
			return h.errorPage(c, http.StatusNotFound, "No such shared session in this account.")
		}
		seats = append(seats, licensing.SharedSession{ProductID: product, UserID: user})
	}
	rows, err := h.seatRows(ctx, p.AccountID, seats)
	if err != nil {
		return h.failed(c, err)
	}
	for _, r := range rows {
		if !r.known {
			return h.errorPage(c, http.StatusNotFound, "No such shared session in this account.")
		}
	}
	if form.Get("confirm") != "1" {
		page.Confirm = rows
		return h.render(c, http.StatusOK, "sessions.html", "End shared sessions?", page)
	}
	for i, s := range seats {
		r := endResult{Agent: rows[i].Agent}
		n, err := licensing.EndSharedSession(ctx, h.opts.Store, h.opts.Clock, p.AccountID, s.ProductID, s.UserID)
		switch {
		case errors.Is(err, licensing.ErrNotFound):
			r.Message = "Not ended: this agent holds no shared seat of " + page.Product.Name + " any more."
		case err != nil:
			return h.failed(c, err)
		default:
			r.Ended, r.Message = true, "Ended "+plural(n, "session")+"; the seat is free."
			page.Freed++
		}
		page.Results = append(page.Results, r)
	}
	results, freed := page.Results, page.Freed
	if page, err = h.sessionsPage(c, productID); err != nil {
		return h.failed(c, err)
	}
	page.Results, page.Freed = results, freed
	return h.render(c, http.StatusOK, "sessions.html", "Shared sessions", page)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}
