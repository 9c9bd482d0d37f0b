package console

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/scimd/scimd/licensing"
)

// usersPerPage is the length of a page of the users list.
const usersPerPage = 50

// usersList names the users list's cursors (licensing.Cursors).
const usersList = "console.users"

// licenseChoice is an entry of the users list's product filter, as the
// vendor's admin center words it ("Remote Support v5 - Concurrent").
type licenseChoice struct {
	Value, Label string
	Selected     bool
}

// userRow is a user as the list shows it.
type userRow struct {
	ID, UserName, Name, Email string
	Active                    bool
	// Licenses are the licenses in force, "<product> - Named" or
	// "- Concurrent", by catalog order, inherited ones said as such (and
	// an inactive user's assignments, said not to be in force).
	Licenses []string
	// Waiting are the licenses waiting for a named seat, by catalog
	// order, with their place in line: none of them is in force.
	Waiting []string
}

// usersPage is what users.html shows.
type usersPage struct {
	Choices      []licenseChoice
	Active, Text string
	Users        []userRow
	// Next is the URL of the next page ("" on the last).
	Next string
	// Group and GroupID name the group whose direct members are listed
	// (?group=, from the user page's links), "" for none.
	Group, GroupID string
	// Filtered tells that a filter is set (for the empty list's advice).
	Filtered bool
}

// usersShow lists the account's users by creation, cursor-paged,
// filtered by license in force (product and license type) or waiting for
// a named seat, active flag, text, and direct membership of a group.
func (h *Handler) usersShow(c echo.Context) error {
	page := usersPage{Active: c.QueryParam("active"), Text: strings.TrimSpace(c.QueryParam("q"))}
	var f licensing.UserFilter
	choice := c.QueryParam("license")
	page.Choices = append(page.Choices, licenseChoice{Value: "", Label: "All products", Selected: choice == ""},
		licenseChoice{Value: string(licensing.LicensePending), Label: "Waiting for a named seat", Selected: choice == string(licensing.LicensePending)})
	f.Pending = choice == string(licensing.LicensePending)
	var products []licenseChoice
	products, f.ProductID, f.License = h.licenseChoices(choice)
	page.Choices = append(page.Choices, products...)
	if choice != "" && f.ProductID == "" && !f.Pending {
		return h.errorPage(c, http.StatusBadRequest, "No such product and license type to filter by.")
	}
	switch page.Active {
	case "":
	case "true", "false":
		f.Active = new(page.Active == "true")
	default:
		return h.errorPage(c, http.StatusBadRequest, "Filter by active or inactive users, or neither.")
	}
	if f.Active != nil && !*f.Active && f.ProductID != "" && !f.Pending {
		// Inactive users hold no license in force: asked for inactive
		// users of a product, an admin looks for those still assigned it.
		f.Direct = true
	}
	if len(page.Text) > 256 {
		return h.errorPage(c, http.StatusBadRequest, "The search text is too long (at most 256 bytes).")
	}
	account := person(c).AccountID
	cond := f.Cond()
	if id := c.QueryParam("group"); id != "" {
		// The direct members of a group, linked from the user page.
		g, err := licensing.Group{}, licensing.ErrNotFound
		if storable(id) {
			g, err = h.opts.Store.Group(c.Request().Context(), account, id)
		}
		if errors.Is(err, licensing.ErrNotFound) || errors.Is(err, licensing.ErrInvalid) {
			return h.errorPage(c, http.StatusNotFound, "There is no such group in this account.")
		}
		if err != nil {
			return h.failed(c, err)
		}
		page.Group, page.GroupID = g.DisplayName, g.ID
		member := licensing.MemberOf(g.ID)
		if cond == nil {
			cond = member
		} else {
			cond = licensing.And{cond, member}
		}
	}
	page.Filtered = choice != "" || f.Active != nil || page.Text != "" || page.Group != ""
	after, err := h.opts.Cursors.Open(account, usersList, c.QueryParam("cursor"))
	if err != nil {
		return h.errorPage(c, http.StatusBadRequest, "This page link is broken. Start from the first page.")
	}
	res, err := h.opts.Store.Users(c.Request().Context(), account, licensing.Query{Filter: cond, Text: page.Text,
		Limit: usersPerPage, After: after, WithoutGroups: true, WithoutTotal: true})
	if errors.Is(err, licensing.ErrInvalid) {
		return h.errorPage(c, http.StatusBadRequest, "This page link is broken. Start from the first page.")
	}
	if err != nil {
		return h.failed(c, err)
	}
	for _, u := range res.Items {
		page.Users = append(page.Users, h.userRow(u))
	}
	if res.Next != "" {
		q := c.QueryParams()
		q.Set("cursor", h.opts.Cursors.Seal(account, usersList, res.Next))
		page.Next = Path + "/users?" + q.Encode()
	}
	return h.render(c, http.StatusOK, "users.html", "Users", page)
}

// licenseChoices are the product filter's entries per product ("Remote
// Support v5 - Any license", "- Named", "- Concurrent"), the one whose
// value is choice selected, and the product and license type it stands
// for ("" when none is).
func (h *Handler) licenseChoices(choice string) (choices []licenseChoice, productID string, license licensing.LicenseType) {
	for _, p := range h.opts.Catalog.Products {
		for _, t := range []licensing.LicenseType{"", licensing.LicenseNamed, licensing.LicenseConcurrent} {
			v, label := p.ID, p.Name+" - Any license"
			if t != "" {
				v, label = p.ID+":"+string(t), p.Name+" - "+licenseLabel(t)
			}
			if v == choice {
				productID, license = p.ID, t
			}
			choices = append(choices, licenseChoice{Value: v, Label: label, Selected: v == choice})
		}
	}
	return choices, productID, license
}

func (h *Handler) userRow(u licensing.User) userRow {
	ct := u.Contact()
	r := userRow{ID: u.ID, UserName: u.UserName, Name: strings.TrimSpace(ct.GivenName + " " + ct.FamilyName), Email: ct.Email, Active: u.Active}
	if r.Name == "" {
		r.Name = u.DisplayName
	}
	for _, p := range h.opts.Catalog.Products {
		for _, l := range u.Licenses {
			if l.ProductID != p.ID {
				continue
			}
			label := p.Name + " - " + licenseLabel(l.License)
			switch {
			case l.Status == licensing.LicensePending:
				r.Waiting = append(r.Waiting, label+": waiting for a named seat ("+ordinal(l.Place)+" in line)")
				continue
			case !slices.Equal(l.Sources, []string{licensing.SourceDirect}):
				label += " (through a group)"
			}
			r.Licenses = append(r.Licenses, label)
		}
		if t := u.Assignments.Of(p.ID); !u.Active && t != licensing.LicenseNone {
			r.Licenses = append(r.Licenses, p.Name+" - "+licenseLabel(t)+" (assigned, not in force while inactive)")
		}
	}
	return r
}

func licenseLabel(t licensing.LicenseType) string {
	if t == licensing.LicenseNamed {
		return "Named"
	}
	return "Concurrent"
}
