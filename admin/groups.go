package admin

import (
	"cmp"
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

// This file is the account's groups and the licenses they give their
// members. Groups and their memberships are the identity provider's, made
// through SCIM; the admin API reads them and sets only their licenses,
// through the same store call as SCIM (ReplaceGroup), so the members'
// licenses in force change in the write's transaction and a group write
// never fails for lack of named seats: members left without one wait in
// line.

// groupRoutes lists the endpoints of this file.
func (h *Handler) groupRoutes() []Route {
	read := reading(licensing.PrivUsers, licensing.PrivProducts)
	return []Route{
		{http.MethodGet, "/groups", read, h.listGroups},
		{http.MethodGet, "/groups/:id", read, h.getGroup},
		{http.MethodPut, "/groups/:id/licenses", writing(licensing.PrivProducts), h.setGroupLicenses},
	}
}

// groupView is a group as the admin API shows it.
type groupView struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	ExternalID  string `json:"externalId,omitempty"`
	// Licenses maps the products the group gives its members
	// (transitively) to the license type.
	Licenses map[string]licensing.LicenseType `json:"licenses"`
	// MemberCount counts the direct members, users and groups; shown by
	// the answers about one group only (lists do not read the members).
	MemberCount  *int      `json:"memberCount,omitempty"`
	Created      time.Time `json:"created"`
	LastModified time.Time `json:"lastModified"`
	Version      int64     `json:"version"`
}

// viewGroup shows g; withMembers adds its member count.
func viewGroup(g licensing.Group, withMembers bool) groupView {
	v := groupView{ID: g.ID, DisplayName: g.DisplayName, ExternalID: g.ExternalID, Licenses: map[string]licensing.LicenseType{},
		Created: g.Created.UTC(), LastModified: g.LastModified.UTC(), Version: g.Version}
	for p, t := range g.Assignments {
		if t == licensing.LicenseNamed || t == licensing.LicenseConcurrent {
			v.Licenses[p] = t
		}
	}
	if withMembers {
		n := len(g.Members)
		v.MemberCount = &n
	}
	return v
}

// listGroups lists the account's groups by creation, with their licenses.
func (h *Handler) listGroups(c echo.Context) error {
	limit, after, err := h.paging(c, listGroups)
	if err != nil {
		return writeProblem(c, err)
	}
	page, err := h.opts.Store.Groups(c.Request().Context(), principal(c).AccountID,
		licensing.Query{Limit: limit, After: after, WithoutMembers: true, WithoutTotal: true})
	if after != "" && errors.Is(err, licensing.ErrInvalid) {
		return writeProblem(c, errBadCursor)
	}
	if err != nil {
		return writeProblem(c, err)
	}
	items := make([]groupView, 0, len(page.Items))
	for _, g := range page.Items {
		items = append(items, viewGroup(g, false))
	}
	return c.JSON(http.StatusOK, newList(items, h.nextCursor(c, listGroups, page.Next)))
}

// getGroup shows one group with its member count.
func (h *Handler) getGroup(c echo.Context) error {
	g, err := h.opts.Store.Group(c.Request().Context(), principal(c).AccountID, c.Param("id"))
	if err != nil {
		return writeProblem(c, err)
	}
	return c.JSON(http.StatusOK, viewGroup(g, true))
}

// groupLicensesAnswer is the answer of PUT /groups/:id/licenses: the group
// and the members now waiting for a named seat of a product it gives.
type groupLicensesAnswer struct {
	groupView
	// Pending are the group's direct user members waiting for a named
	// seat of a product the group gives as named, first in line first (at
	// most maxPendingShown); PendingCount counts them all.
	Pending      []pendingMember `json:"pending"`
	PendingCount int             `json:"pendingCount"`
}

type pendingMember struct {
	ID       string `json:"id"`
	UserName string `json:"userName"`
	Product  string `json:"product"`
	Place    int    `json:"place"`
}

// maxPendingShown bounds the pending members a licenses write lists.
const maxPendingShown = 100

// setGroupLicenses replaces the licenses the group gives: the body maps
// product ids to named, concurrent or none, and products it leaves out
// are none. Writing the licenses the group already gives changes nothing
// and records nothing.
func (h *Handler) setGroupLicenses(c echo.Context) error {
	var req map[string]string
	if err := problem.Decode(c, &req); err != nil {
		return writeProblem(c, err)
	}
	if req == nil {
		return writeProblem(c, problem.Invalid(`The body maps product ids to licenses: {"remote-support-v5":"concurrent"}.`))
	}
	want := licensing.Assignments{}
	for _, id := range sortedKeys(req) {
		p, ok := h.opts.Catalog.Product(id)
		if !ok {
			return writeProblem(c, problem.Invalid(strconv.Quote(id)+" is not a product of the catalog; GET /api/v1/admin/products lists them."))
		}
		t, err := licensing.ParseLicenseType(req[id])
		if err != nil || req[id] == "" {
			return writeProblem(c, problem.Invalid(id+" must be named, concurrent or none."))
		}
		if t != licensing.LicenseNone {
			want[p.ID] = t
		}
	}
	ctx := c.Request().Context()
	accountID := principal(c).AccountID
	var g licensing.Group
	for attempt := 0; ; attempt++ {
		var err error
		if g, err = h.opts.Store.Group(ctx, accountID, c.Param("id")); err != nil {
			return writeProblem(c, err)
		}
		detail := licensesChange(g.Assignments, want)
		if detail == "" {
			break
		}
		next := g
		next.Assignments = want
		next.Version = g.Version + 1
		next.LastModified = h.opts.Clock.Now()
		err = h.opts.Store.ReplaceGroup(ctx, next, g.Version, h.audit(c, "group.licenses", "group", g.ID, g.DisplayName+": "+detail))
		if errors.Is(err, licensing.ErrStale) && attempt < 3 {
			continue // a SCIM write came between: apply the licenses over it
		}
		if err != nil {
			return writeProblem(c, h.opts.Catalog.NameProducts(err))
		}
		if g, err = h.opts.Store.Group(ctx, accountID, g.ID); err != nil {
			return writeProblem(c, err)
		}
		break
	}
	answer := groupLicensesAnswer{groupView: viewGroup(g, true), Pending: []pendingMember{}}
	var named licensing.Or
	for p, t := range g.Assignments {
		if t == licensing.LicenseNamed {
			named = append(named, licensing.UserFilter{ProductID: p, Pending: true}.Cond())
		}
	}
	if len(named) > 0 {
		page, err := h.opts.Store.Users(ctx, accountID, licensing.Query{Filter: licensing.And{licensing.MemberOf(g.ID), named},
			Limit: maxPendingShown, WithoutGroups: true})
		if err != nil {
			return writeProblem(c, err)
		}
		answer.PendingCount = page.Total
		for _, u := range page.Items {
			for _, l := range u.Licenses {
				if l.Status == licensing.LicensePending && g.Assignments.Of(l.ProductID) == licensing.LicenseNamed {
					answer.Pending = append(answer.Pending, pendingMember{ID: u.ID, UserName: u.UserName, Product: l.ProductID, Place: l.Place})
				}
			}
		}
		slices.SortFunc(answer.Pending, func(a, b pendingMember) int {
			return cmp.Or(strings.Compare(a.Product, b.Product), cmp.Compare(a.Place, b.Place))
		})
	}
	return c.JSON(http.StatusOK, answer)
}

// licensesChange describes the change from the licenses was to want for
// the audit log ("" when they are the same).
func licensesChange(was, want licensing.Assignments) string {
	var parts []string
	seen := map[string]bool{}
	for _, m := range []licensing.Assignments{was, want} {
		for _, p := range sortedKeys(m) {
			if seen[p] {
				continue
			}
			seen[p] = true
			if a, b := was.Of(p), want.Of(p); a != b {
				parts = append(parts, p+": "+string(a)+" -> "+string(b))
			}
		}
	}
	return strings.Join(parts, ", ")
}
