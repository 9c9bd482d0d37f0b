package admin

import (
	"errors"
	"net/http"
	"net/url"
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
		{http.MethodGet, "/groups/:id/members", read, h.listMembers},
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
	// MemberCount counts the direct members, users and groups.
	MemberCount  int       `json:"memberCount"`
	Created      time.Time `json:"created"`
	LastModified time.Time `json:"lastModified"`
	Version      int64     `json:"version"`
}

// viewGroup shows g with its count of direct members: len(g.Members) for
// a group read with its members, g.MemberCount for one listed without
// them (the store counts them with the page, not a query per group).
func viewGroup(g licensing.Group, memberCount int) groupView {
	v := groupView{ID: g.ID, DisplayName: g.DisplayName, ExternalID: g.ExternalID, Licenses: map[string]licensing.LicenseType{},
		MemberCount: memberCount, Created: g.Created.UTC(), LastModified: g.LastModified.UTC(), Version: g.Version}
	for p, t := range g.Assignments {
		if t == licensing.LicenseNamed || t == licensing.LicenseConcurrent {
			v.Licenses[p] = t
		}
	}
	return v
}

// listGroups lists the account's groups by creation, with their licenses
// and member counts, filtered by ?q=<text> (case-insensitive, contained
// in displayName) and ?product=<id> with ?license=named|concurrent|none
// (product alone: any license but none).
func (h *Handler) listGroups(c echo.Context) error {
	limit, after, err := h.paging(c, listGroups)
	if err != nil {
		return writeProblem(c, err)
	}
	filter, err := h.groupFilter(c)
	if err != nil {
		return writeProblem(c, err)
	}
	page, err := h.opts.Store.Groups(c.Request().Context(), principal(c).AccountID,
		licensing.Query{Filter: filter.Cond(), Limit: limit, After: after, WithoutMembers: true, WithoutTotal: true})
	if after != "" && errors.Is(err, licensing.ErrInvalid) {
		return writeProblem(c, errBadCursor)
	}
	if err != nil {
		return writeProblem(c, err)
	}
	items := make([]groupView, 0, len(page.Items))
	for _, g := range page.Items {
		items = append(items, viewGroup(g, g.MemberCount))
	}
	return c.JSON(http.StatusOK, newList(items, h.nextCursor(c, listGroups, page.Next)))
}

// groupFilter reads the search parameters of the groups list.
func (h *Handler) groupFilter(c echo.Context) (licensing.GroupFilter, error) {
	var f licensing.GroupFilter
	if q := strings.TrimSpace(c.QueryParam("q")); q != "" {
		if len(q) > maxQueryText {
			return f, problem.Invalid("q must be at most " + strconv.Itoa(maxQueryText) + " bytes.")
		}
		f.Name = q
	}
	productID, license := c.QueryParam("product"), c.QueryParam("license")
	if productID != "" {
		p, err := h.product(productID)
		if err != nil {
			return f, err
		}
		f.ProductID = p.ID
	}
	switch {
	case license == "":
	case productID == "":
		return f, problem.Invalid("license needs product: ?product=remote-support-v5&license=named.")
	default:
		var err error
		if f.License, err = licensing.ParseLicenseType(license); err != nil {
			return f, problem.Invalid("license must be named, concurrent or none.")
		}
	}
	return f, nil
}

// getGroup shows one group with its member count.
func (h *Handler) getGroup(c echo.Context) error {
	g, err := h.opts.Store.Group(c.Request().Context(), principal(c).AccountID, c.Param("id"))
	if err != nil {
		return writeProblem(c, err)
	}
	return c.JSON(http.StatusOK, viewGroup(g, len(g.Members)))
}

// groupLicensesAnswer is the answer of PUT /groups/:id/licenses: the group,
// the members now waiting for a named seat of a product it gives, and the
// first page of the members the write concerns.
type groupLicensesAnswer struct {
	groupView
	// Pending are the group's user members, direct or through nested
	// groups, waiting for a named seat of a product the group gives as
	// named, first in line first (at most maxPendingShown); PendingCount
	// counts them all.
	Pending      []pendingMember `json:"pending"`
	PendingCount int             `json:"pendingCount"`
	// Members are the first users the write concerns (the group's members,
	// directly or through nested groups), with their licenses of the
	// products it changed; MemberTotal counts them all and MembersNext,
	// absent when all are listed, is the next page of GET
	// /groups/{id}/members.
	Members     []memberView `json:"members"`
	MemberTotal int          `json:"memberTotal"`
	MembersNext string       `json:"membersNext,omitempty"`
}

type pendingMember struct {
	ID       string `json:"id"`
	UserName string `json:"userName"`
	Product  string `json:"product"`
	Place    int    `json:"place"`
	// Via is the nested group the user is a member through; absent for
	// a direct member.
	Via *groupRef `json:"via,omitempty"`
}

// memberView is a user the group's licenses reach.
type memberView struct {
	ID       string    `json:"id"`
	UserName string    `json:"userName"`
	Active   bool      `json:"active"`
	Via      *groupRef `json:"via,omitempty"`
	// Licenses are the user's licenses in force or pending of the
	// products concerned; a product absent from them the user does not
	// hold (inactive users hold none).
	Licenses []licenseView `json:"licenses"`
}

// groupRef names a group.
type groupRef struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
}

// maxPendingShown bounds the pending members a licenses write lists, and
// the members it lists.
const maxPendingShown = 100

// via is the nested group of t through which u is a member (nil for a
// direct member).
func via(t licensing.GroupTree, u licensing.User) *groupRef {
	id := t.Via(u)
	if id == "" {
		return nil
	}
	return &groupRef{ID: id, DisplayName: t.Names[id]}
}

// viewMember shows u with its licenses of the products.
func viewMember(t licensing.GroupTree, u licensing.User, products map[string]bool) memberView {
	var ls []licensing.License
	for _, l := range u.Licenses {
		if products[l.ProductID] {
			ls = append(ls, l)
		}
	}
	return memberView{ID: u.ID, UserName: u.UserName, Active: u.Active, Via: via(t, u), Licenses: viewLicenses(ls)}
}

// members reads a page of the users under the group of t, by creation,
// with their licenses of the products; total counts them all unless
// withoutTotal.
func (h *Handler) members(c echo.Context, t licensing.GroupTree, products map[string]bool, limit int, after string, withoutTotal bool) (items []memberView, total int, next string, err error) {
	page, err := h.opts.Store.Users(c.Request().Context(), principal(c).AccountID,
		licensing.Query{Filter: t.Members(), Limit: limit, After: after, WithoutTotal: withoutTotal})
	if err != nil {
		return nil, 0, "", err
	}
	items = make([]memberView, 0, len(page.Items))
	for _, u := range page.Items {
		items = append(items, viewMember(t, u, products))
	}
	return items, page.Total, h.nextCursor(c, listMembers+t.Group.ID, page.Next), nil
}

// listMembers lists the users the group's licenses reach: its members,
// directly or through nested groups, by creation, each with the nested
// group it is a member through and its licenses of the products the
// group gives.
func (h *Handler) listMembers(c echo.Context) error {
	limit, after, err := h.paging(c, listMembers+c.Param("id"))
	if err != nil {
		return writeProblem(c, err)
	}
	t, err := licensing.ReadGroupTree(c.Request().Context(), h.opts.Store, principal(c).AccountID, c.Param("id"))
	if err != nil {
		return writeProblem(c, err)
	}
	products := map[string]bool{}
	for p := range viewGroup(t.Group, len(t.Group.Members)).Licenses {
		products[p] = true
	}
	items, _, next, err := h.members(c, t, products, limit, after, true)
	if after != "" && errors.Is(err, licensing.ErrInvalid) {
		return writeProblem(c, errBadCursor)
	}
	if err != nil {
		return writeProblem(c, err)
	}
	return c.JSON(http.StatusOK, newList(items, next))
}

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
	was, _, err := licensing.SetGroupLicenses(ctx, h.opts.Store, h.opts.Clock, accountID, c.Param("id"),
		func(licensing.Assignments) licensing.Assignments { return want })
	if err != nil {
		return writeProblem(c, h.opts.Catalog.NameProducts(err))
	}
	// concerned are the products the write may have changed: those the
	// group gave or gives.
	concerned := map[string]bool{}
	for _, a := range []licensing.Assignments{was.Assignments, want} {
		for p, t := range a {
			concerned[p] = concerned[p] || t != licensing.LicenseNone
		}
	}
	t, err := licensing.ReadGroupTree(ctx, h.opts.Store, accountID, was.ID)
	if err != nil {
		return writeProblem(c, err)
	}
	answer := groupLicensesAnswer{groupView: viewGroup(t.Group, len(t.Group.Members))}
	if answer.Pending, answer.PendingCount, err = h.pending(c, t); err != nil {
		return writeProblem(c, err)
	}
	if answer.Members, answer.MemberTotal, answer.MembersNext, err = h.members(c, t, concerned, maxPendingShown, "", false); err != nil {
		return writeProblem(c, err)
	}
	if answer.MembersNext != "" {
		answer.MembersNext = "/api/v1/admin/groups/" + url.PathEscape(was.ID) + "/members?limit=" + strconv.Itoa(maxPendingShown) + "&cursor=" + url.QueryEscape(answer.MembersNext)
	}
	return c.JSON(http.StatusOK, answer)
}

// pending lists the first members of the group of t (directly or
// through nested groups) waiting for a named seat of a product the group
// gives as named, by product then place, and counts them all.
func (h *Handler) pending(c echo.Context, t licensing.GroupTree) ([]pendingMember, int, error) {
	waiting, total, err := t.Pending(c.Request().Context(), h.opts.Store, maxPendingShown)
	out := make([]pendingMember, 0, len(waiting))
	for _, p := range waiting {
		out = append(out, pendingMember{ID: p.User.ID, UserName: p.User.UserName, Product: p.ProductID, Place: p.Place, Via: via(t, p.User)})
	}
	return out, total, err
}
