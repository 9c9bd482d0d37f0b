package console

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/scimd/scimd/licensing"
)

// auditPerPage is the length of a page of the audit log.
const auditPerPage = 50

// auditList names the audit log's cursors (licensing.Cursors).
const auditList = "console.audit"

// auditForm is the audit log's filter, as the admin API's GET /audit
// takes it: exact actor id, action, target type and target id, and the
// time range [From, To) in UTC.
type auditForm struct {
	Actor, Action, TargetType, Target, From, To string
}

// ZoneLabel names the zone of the form's times for the range template:
// the audit log's are UTC.
func (auditForm) ZoneLabel() string { return "UTC" }

// auditRow is an audit entry as the log shows it.
type auditRow struct {
	// At is the time in UTC as shown without JavaScript; AtISO the same
	// in RFC 3339, for the browser to show in its time zone.
	At, AtISO, ActorID, Actor, Action, TargetType, Target, Detail string
	// ActorLink, ActionLink and TargetLink filter the log by the cell.
	ActorLink, ActionLink, TargetLink string
}

// auditPage is what audit.html shows.
type auditPage struct {
	Form    auditForm
	Entries []auditRow
	Error   string
	// Next is the URL of the next page ("" on the last).
	Next     string
	Filtered bool
}

// auditShow lists the account's audit log, newest first, filtered as
// the admin API's and cursor-paged with sealed cursors.
func (h *Handler) auditShow(c echo.Context) error {
	f := auditForm{Actor: strings.TrimSpace(c.QueryParam("actor")), Action: strings.TrimSpace(c.QueryParam("action")),
		TargetType: strings.TrimSpace(c.QueryParam("targetType")), Target: strings.TrimSpace(c.QueryParam("target")),
		From: c.QueryParam("from"), To: c.QueryParam("to")}
	page := auditPage{Form: f, Filtered: f != auditForm{}}
	q := licensing.AuditQuery{ActorID: f.Actor, Action: f.Action, TargetType: f.TargetType, TargetID: f.Target, Limit: auditPerPage}
	from, err1 := parseFormTime(f.From)
	to, err2 := parseFormTime(f.To)
	q.From, q.To = from, to
	for _, v := range []string{f.Actor, f.Action, f.TargetType, f.Target} {
		if !utf8.ValidString(v) || strings.ContainsRune(v, 0) || len(v) > 256 {
			page.Error = "Actor, action, target type and target must be text of at most 256 bytes."
		}
	}
	switch {
	case err1 != nil || err2 != nil:
		page.Error = "From and to must be times such as 2026-11-26T09:00 (UTC)."
	case !from.IsZero() && !to.IsZero() && !from.Before(to):
		page.Error = "From must be before to."
	}
	if page.Error != "" {
		return h.render(c, http.StatusBadRequest, "audit.html", "Audit log", page)
	}
	account := person(c).AccountID
	q.After, err1 = h.opts.Cursors.Open(account, auditList, c.QueryParam("cursor"))
	if err1 != nil {
		return h.errorPage(c, http.StatusBadRequest, "This page link is broken. Start from the first page.")
	}
	res, err := h.opts.Store.AuditLog(c.Request().Context(), account, q)
	if errors.Is(err, licensing.ErrInvalid) {
		return h.errorPage(c, http.StatusBadRequest, "This page link is broken. Start from the first page.")
	}
	if err != nil {
		return h.failed(c, err)
	}
	for _, e := range res.Items {
		page.Entries = append(page.Entries, auditRowOf(e))
	}
	if res.Next != "" {
		v := c.QueryParams()
		v.Set("cursor", h.opts.Cursors.Seal(account, auditList, res.Next))
		page.Next = Path + "/audit?" + v.Encode()
	}
	return h.render(c, http.StatusOK, "audit.html", "Audit log", page)
}

func auditRowOf(e licensing.AuditEntry) auditRow {
	r := auditRow{At: e.At.UTC().Format(shownTime), AtISO: e.At.UTC().Format(time.RFC3339), ActorID: e.ActorID, Actor: e.ActorName, Action: e.Action,
		TargetType: e.TargetType, Target: e.TargetID, Detail: e.Detail}
	switch {
	case r.Actor == "" && r.ActorID == "":
		r.Actor = "(unknown)"
	case r.Actor == "":
		r.Actor = r.ActorID
	}
	if e.ActorID != "" {
		r.ActorLink = Path + "/audit?" + url.Values{"actor": {e.ActorID}}.Encode()
	}
	r.ActionLink = Path + "/audit?" + url.Values{"action": {e.Action}}.Encode()
	if e.TargetID != "" {
		r.TargetLink = Path + "/audit?" + url.Values{"targetType": {e.TargetType}, "target": {e.TargetID}}.Encode()
	}
	return r
}
