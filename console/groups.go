package console

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/scimd/scimd/licensing"
)

// groupsPerPage is the length of a page of the groups list.
const groupsPerPage = 50

// groupsList names the groups list's cursors (licensing.Cursors).
const groupsList = "console.groups"

// groupRow is a group as the list shows it.
type groupRow struct {
	ID, DisplayName string
	// Licenses are the licenses the group gives, "<product> - Named" or
	// "- Concurrent", in catalog order.
	Licenses []string
	Members  int
}

// groupsPage is what groups.html shows.
type groupsPage struct {
	Choices []licenseChoice
	Text    string
	Groups  []groupRow
	// Next is the URL of the next page ("" on the last).
	Next string
	// Filtered tells that a filter is set (for the empty list's advice).
	Filtered bool
}

// groupsShow lists the account's groups by creation, cursor-paged, with
// the licenses they give and their direct member counts, searched by name
// and by the license they give.
func (h *Handler) groupsShow(c echo.Context) error {
	page := groupsPage{Text: strings.TrimSpace(c.QueryParam("q"))}
	var f licensing.GroupFilter
	choice := c.QueryParam("license")
	page.Choices = append(page.Choices, licenseChoice{Value: "", Label: "All products", Selected: choice == ""})
	var products []licenseChoice
	products, f.ProductID, f.License = h.licenseChoices(choice)
	page.Choices = append(page.Choices, products...)
	if choice != "" && f.ProductID == "" {
		return h.errorPage(c, http.StatusBadRequest, "No such product and license type to filter by.")
	}
	if len(page.Text) > 256 {
		return h.errorPage(c, http.StatusBadRequest, "The search text is too long (at most 256 bytes).")
	}
	f.Name = page.Text
	page.Filtered = choice != "" || page.Text != ""
	account := person(c).AccountID
	after, err := h.opts.Cursors.Open(account, groupsList, c.QueryParam("cursor"))
	if err != nil {
		return h.errorPage(c, http.StatusBadRequest, "This page link is broken. Start from the first page.")
	}
	res, err := h.opts.Store.Groups(c.Request().Context(), account, licensing.Query{Filter: f.Cond(),
		Limit: groupsPerPage, After: after, WithoutMembers: true, WithoutTotal: true})
	if errors.Is(err, licensing.ErrInvalid) {
		return h.errorPage(c, http.StatusBadRequest, "This page link is broken. Start from the first page.")
	}
	if err != nil {
		return h.failed(c, err)
	}
	for _, g := range res.Items {
		page.Groups = append(page.Groups, groupRow{ID: g.ID, DisplayName: g.DisplayName, Licenses: h.givenLicenses(g), Members: g.MemberCount})
	}
	if res.Next != "" {
		q := c.QueryParams()
		q.Set("cursor", h.opts.Cursors.Seal(account, groupsList, res.Next))
		page.Next = Path + "/groups?" + q.Encode()
	}
	return h.render(c, http.StatusOK, "groups.html", "Groups", page)
}

// givenLicenses words the licenses the group gives, in catalog order.
func (h *Handler) givenLicenses(g licensing.Group) []string {
	var out []string
	for _, p := range h.opts.Catalog.Products {
		if t := g.Assignments.Of(p.ID); t != licensing.LicenseNone {
			out = append(out, p.Name+" - "+licenseLabel(t))
		}
	}
	return out
}

// count words a number of things: "1 member", "3 members".
func count(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return strconv.Itoa(n) + " " + thing + "s"
}
