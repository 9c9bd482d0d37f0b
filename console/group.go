package console

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"github.com/scimd/scimd/licensing"
)

// membersShown bounds the direct members and the waiting members the
// group page lists; the users list (?group=) pages through all direct
// members.
const membersShown = 50

// groupLicense is a product of the catalog as the group page shows it: the
// license the group gives of it.
type groupLicense struct {
	ID, Name string
	License  licensing.LicenseType
}

// Held names the license the group gives, as the page words it.
func (l groupLicense) Held() string { return productLicense{License: l.License}.Held() }

// waitingRow is a member of the group waiting for a named seat.
type waitingRow struct {
	UserID, UserName, Product, Place string
	// ViaID and Via name the nested group the user is a member through
	// ("" for a direct member).
	ViaID, Via string
}

// groupPage is what group.html shows.
type groupPage struct {
	ID, DisplayName string
	Products        []groupLicense
	// MayGrant tells that the person may change the licenses.
	MayGrant bool
	Notice   string
	// Members are the first direct user members; MemberCount counts the
	// direct members, users and groups.
	Members     []userRow
	MoreMembers bool
	MemberCount int
	Nested      []licensing.Member
	Waiting     []waitingRow
	// WaitingCount counts the members waiting (Waiting may list fewer).
	WaitingCount int
}

// MemberWords words the direct members from what they are: "2 users",
// "1 group", "2 users and 1 group", or "No members".
func (p groupPage) MemberWords() string {
	users, groups := p.MemberCount-len(p.Nested), len(p.Nested)
	switch {
	case groups == 0 && users == 0:
		return "No members"
	case groups == 0:
		return count(users, "user")
	case users == 0:
		return count(groups, "group")
	}
	return count(users, "user") + " and " + count(groups, "group")
}

// groupShow shows a group: the licenses it gives (with the form that
// changes them, products privilege), its direct members and nested
// groups, and its members, directly or through nested groups, waiting for
// a named seat with their place in line.
func (h *Handler) groupShow(c echo.Context) error {
	page := groupPage{}
	if c.QueryParam("done") == "licenses" {
		page.Notice = "The group's licenses are changed."
	}
	ctx := c.Request().Context()
	account := person(c).AccountID
	if !storable(c.Param("id")) {
		return h.groupFailed(c, licensing.ErrNotFound)
	}
	t, err := licensing.ReadGroupTree(ctx, h.opts.Store, account, c.Param("id"))
	if err != nil {
		return h.groupFailed(c, err)
	}
	g := t.Group
	page.ID, page.DisplayName, page.MemberCount = g.ID, g.DisplayName, len(g.Members)
	page.MayGrant = person(c).Has(licensing.PrivProducts)
	for _, p := range h.opts.Catalog.Products {
		page.Products = append(page.Products, groupLicense{ID: p.ID, Name: p.Name, License: g.Assignments.Of(p.ID)})
	}
	for _, m := range g.Members {
		if m.Type == licensing.MemberGroup {
			page.Nested = append(page.Nested, m)
		}
	}
	members, err := h.opts.Store.Users(ctx, account, licensing.Query{Filter: licensing.MemberOf(g.ID), Limit: membersShown,
		WithoutGroups: true, WithoutTotal: true})
	if err != nil {
		return h.failed(c, err)
	}
	for _, u := range members.Items {
		page.Members = append(page.Members, h.userRow(u))
	}
	page.MoreMembers = members.Next != ""
	waiting, total, err := t.Pending(ctx, h.opts.Store, membersShown)
	if err != nil {
		return h.failed(c, err)
	}
	page.WaitingCount = total
	for _, w := range waiting {
		name := w.ProductID
		if p, ok := h.opts.Catalog.Product(w.ProductID); ok {
			name = p.Name
		}
		page.Waiting = append(page.Waiting, waitingRow{UserID: w.User.ID, UserName: w.User.UserName, Product: name,
			Place: ordinal(w.Place), ViaID: w.Via, Via: t.Names[w.Via]})
	}
	return h.render(c, http.StatusOK, "group.html", g.DisplayName, page)
}

// groupFailed answers a failed read or write of the path's group: another
// account's or an unknown id is not found.
func (h *Handler) groupFailed(c echo.Context, err error) error {
	if errors.Is(err, licensing.ErrNotFound) || errors.Is(err, licensing.ErrInvalid) {
		return h.errorPage(c, http.StatusNotFound, "There is no such group in this account.")
	}
	return h.failed(c, err)
}

// groupLicenseCheck sets the license the group gives of the product
// (products privilege): named, concurrent or none. It never fails for
// lack of named seats: the members left without one wait in line, as the
// page then shows.
func (h *Handler) groupLicenseCheck(c echo.Context) error {
	if !storable(c.Param("id")) {
		return h.groupFailed(c, licensing.ErrNotFound)
	}
	pr, ok := h.opts.Catalog.Product(c.Param("product"))
	if !ok {
		return h.errorPage(c, http.StatusNotFound, "There is no such product in the catalog.")
	}
	t, err := licensing.ParseLicenseType(c.FormValue("license"))
	if err != nil || c.FormValue("license") == "" {
		return h.errorPage(c, http.StatusBadRequest, "Choose a named or concurrent license, or none.")
	}
	_, _, err = licensing.SetGroupLicenses(c.Request().Context(), h.opts.Store, h.opts.Clock, person(c).AccountID, c.Param("id"),
		func(was licensing.Assignments) licensing.Assignments { return licensing.SetLicense(was, pr.ID, t) })
	if err != nil {
		// A write that kept losing races to other writes of the group is
		// ErrUnavailable: 503 with Retry-After, as the admin API answers.
		return h.groupFailed(c, err)
	}
	return c.Redirect(http.StatusSeeOther, Path+"/groups/"+url.PathEscape(c.Param("id"))+"?done=licenses")
}
