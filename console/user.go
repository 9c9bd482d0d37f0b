package console

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/scimd/scimd/internal/origin"
	"github.com/scimd/scimd/licensing"
)

// productLicense is a product of the catalog as the user page shows it:
// the license the user holds of it, and the one its form has selected:
// after a refused change, the license the person chose, so that they see
// what was refused.
type productLicense struct {
	ID, Name          string
	License, Selected licensing.LicenseType
	// InForce are the user's licenses of the product in force and
	// pending, direct or inherited.
	InForce []heldLicense
}

// heldLicense is one of a user's licenses in force or pending as the user
// page shows it: the license, where it comes from, and the place in line
// of a pending one.
type heldLicense struct {
	License licensing.LicenseType
	Pending bool
	// Place is the pending license's place in line, as words ("2nd").
	Place   string
	Sources []licenseSource
}

// Label words the license.
func (l heldLicense) Label() string { return licenseLabel(l.License) }

// licenseSource is where a license comes from: the user's own assignment
// (Direct), or a group, named and linked to the list of its members.
type licenseSource struct {
	Direct      bool
	GroupID     string
	DisplayName string
}

// ordinal words a place in line: 1st, 2nd, 3rd, 4th, 11th, 21st.
func ordinal(n int) string {
	suffix := "th"
	if n%100 < 11 || n%100 > 13 {
		switch n % 10 {
		case 1:
			suffix = "st"
		case 2:
			suffix = "nd"
		case 3:
			suffix = "rd"
		}
	}
	return strconv.Itoa(n) + suffix
}

// heldLicenses words the user's licenses in force and pending per
// product, naming the groups they come from (the user's direct groups
// from u.Groups, those of nested groups read from the store).
func (h *Handler) heldLicenses(ctx context.Context, u licensing.User) (map[string][]heldLicense, error) {
	names := map[string]string{}
	for _, g := range u.Groups {
		names[g.ID] = g.Display
	}
	out := map[string][]heldLicense{}
	for _, l := range u.Licenses {
		held := heldLicense{License: l.License, Pending: l.Status == licensing.LicensePending}
		if held.Pending {
			held.Place = ordinal(l.Place)
		}
		for _, src := range l.Sources {
			if src == licensing.SourceDirect {
				held.Sources = append(held.Sources, licenseSource{Direct: true})
				continue
			}
			name, ok := names[src]
			if !ok {
				g, err := h.opts.Store.Group(ctx, u.AccountID, src)
				switch {
				case errors.Is(err, licensing.ErrNotFound):
					name = src // deleted since: its members are relicensed in the same transaction
				case err != nil:
					return nil, err
				default:
					name = g.DisplayName
				}
				names[src] = name
			}
			held.Sources = append(held.Sources, licenseSource{GroupID: src, DisplayName: name})
		}
		out[l.ProductID] = append(out[l.ProductID], held)
	}
	return out, nil
}

// Held names the license the user holds, as the page words it.
func (l productLicense) Held() string {
	switch l.License {
	case licensing.LicenseNamed:
		return "Named"
	case licensing.LicenseConcurrent:
		return "Concurrent"
	}
	return "None"
}

// privilegeBox is a console privilege as the user page's form offers it:
// held by the user, and grantable by the person only if they hold it.
type privilegeBox struct {
	Name           licensing.Privilege
	Held, Disabled bool
}

// userPage is what user.html shows.
type userPage struct {
	ID, UserName, Name, Email string
	Active                    bool
	Products                  []productLicense
	Privileges                []privilegeBox
	// The forms the person's privileges open.
	MayGrant, MayManage bool
	Notice, Error       string
	// ErrorOf is the product whose form the Error belongs to ("" for
	// the page's), and Chosen the license its form asked for.
	ErrorOf string
	Chosen  licensing.LicenseType
	// Link is a one-time password link made by a grant, shown once.
	Link string
}

// notices are the messages of the user page after each write (?done=).
var notices = map[string]string{
	"license":    "The license is changed.",
	"active":     "The user's status is changed.",
	"privileges": "The console privileges are changed.",
}

// userShow shows a user: their products and licenses, status and console
// privileges, and the forms to change them that the person's privileges
// open.
func (h *Handler) userShow(c echo.Context) error {
	return h.showUser(c, http.StatusOK, userPage{Notice: notices[c.QueryParam("done")]})
}

// showUser renders the user page of the path's user with page's message.
func (h *Handler) showUser(c echo.Context, status int, page userPage) error {
	p := person(c)
	if !storable(c.Param("id")) {
		return h.userFailed(c, licensing.ErrNotFound)
	}
	u, err := h.opts.Store.User(c.Request().Context(), p.AccountID, c.Param("id"))
	if err != nil {
		return h.userFailed(c, err)
	}
	privs, err := h.opts.Store.ConsolePrivileges(c.Request().Context(), p.AccountID, u.ID)
	if err != nil {
		return h.failed(c, err)
	}
	held, err := h.heldLicenses(c.Request().Context(), u)
	if err != nil {
		return h.failed(c, err)
	}
	r := h.userRow(u)
	page.ID, page.UserName, page.Name, page.Email, page.Active = u.ID, u.UserName, r.Name, r.Email, u.Active
	page.MayGrant, page.MayManage = p.Has(licensing.PrivProducts), p.Has(licensing.PrivUsers)
	for _, pr := range h.opts.Catalog.Products {
		l := productLicense{ID: pr.ID, Name: pr.Name, License: u.Assignments.Of(pr.ID), InForce: held[pr.ID]}
		l.Selected = l.License
		if pr.ID == page.ErrorOf && page.Chosen != "" {
			l.Selected = page.Chosen
		}
		page.Products = append(page.Products, l)
	}
	for _, q := range licensing.AllPrivileges {
		page.Privileges = append(page.Privileges, privilegeBox{Name: q, Held: slices.Contains(privs, q), Disabled: !p.Has(q)})
	}
	return h.render(c, status, "user.html", u.UserName, page)
}

// userFailed answers a failed read or write of the path's user: another
// account's or an unknown id is not found.
func (h *Handler) userFailed(c echo.Context, err error) error {
	if errors.Is(err, licensing.ErrNotFound) || errors.Is(err, licensing.ErrInvalid) {
		return h.errorPage(c, http.StatusNotFound, "There is no such user in this account.")
	}
	return h.failed(c, err)
}

// storable tells that the id may be looked up: the databases hold only
// valid UTF-8 without NUL, and refuse anything else with an error that
// is not the person's.
func storable(id string) bool {
	return utf8.ValidString(id) && !strings.ContainsRune(id, 0)
}

// userPath is the user page of the id, with the notice of done.
func userPath(id, done string) string {
	return Path + "/users/" + url.PathEscape(id) + "?done=" + done
}

// licenseCheck grants the user the product as named or concurrent, or
// revokes it (license none); products privilege. The plan's named seats
// all assigned refuse the grant in the form, with the numbers.
func (h *Handler) licenseCheck(c echo.Context) error {
	if !storable(c.Param("id")) {
		return h.userFailed(c, licensing.ErrNotFound)
	}
	pr, ok := h.opts.Catalog.Product(c.Param("product"))
	if !ok {
		return h.errorPage(c, http.StatusNotFound, "There is no such product in the catalog.")
	}
	t, err := licensing.ParseLicenseType(c.FormValue("license"))
	if err != nil {
		return h.showUser(c, http.StatusBadRequest, userPage{Error: "Choose a named or concurrent license, or none."})
	}
	action := "product.grant"
	if t == licensing.LicenseNone {
		action = "product.revoke"
	}
	_, _, err = licensing.ChangeUser(c.Request().Context(), h.opts.Store, h.opts.Clock, person(c).AccountID, c.Param("id"), action,
		func(u *licensing.User) (string, error) {
			was := u.Assignments.Of(pr.ID)
			if was == t {
				return "", nil
			}
			u.Assignments = licensing.SetLicense(u.Assignments, pr.ID, t)
			if t == licensing.LicenseNone {
				return pr.ID + ": " + string(was), nil
			}
			return pr.ID + ": " + string(t), nil
		})
	if err := h.opts.Catalog.NameProducts(err); err != nil {
		return h.userWriteFailed(c, err, t)
	}
	return c.Redirect(http.StatusSeeOther, userPath(c.Param("id"), "license"))
}

// userWriteFailed answers a refused write in the user page: the seat
// rules and a concurrent change are the person's to know. A license
// refused for the seats keeps chosen selected in its form.
func (h *Handler) userWriteFailed(c echo.Context, err error, chosen licensing.LicenseType) error {
	var named *licensing.NamedSeatsExhaustedError
	switch {
	case errors.As(err, &named):
		return h.showUser(c, http.StatusConflict, userPage{Error: named.Error(), ErrorOf: named.Product.ID, Chosen: chosen})
	case errors.Is(err, licensing.ErrConflict):
		return h.showUser(c, http.StatusConflict, userPage{Error: "Someone changed this user meanwhile. Here is the user as it is now; try again."})
	}
	return h.userFailed(c, err)
}

// activeCheck deactivates or reactivates the user (users privilege).
// Deactivation ends their sessions and their console sessions, as the
// store's seat rules say.
func (h *Handler) activeCheck(c echo.Context) error {
	if !storable(c.Param("id")) {
		return h.userFailed(c, licensing.ErrNotFound)
	}
	active := c.FormValue("active")
	if active != "true" && active != "false" {
		return h.showUser(c, http.StatusBadRequest, userPage{Error: "Choose to activate or to deactivate the user."})
	}
	_, _, err := licensing.ChangeUser(c.Request().Context(), h.opts.Store, h.opts.Clock, person(c).AccountID, c.Param("id"), "user.update",
		func(u *licensing.User) (string, error) {
			if u.Active == (active == "true") {
				return "", nil
			}
			u.Active = active == "true"
			return "active", nil
		})
	if err != nil {
		return h.userWriteFailed(c, err, "")
	}
	return c.Redirect(http.StatusSeeOther, userPath(c.Param("id"), "active"))
}

// privilegesCheck sets the user's console privileges (users privilege):
// the person grants or takes away only privileges they hold. A user
// without a password who gets privileges gets a one-time password link,
// shown here once.
func (h *Handler) privilegesCheck(c echo.Context) error {
	if !storable(c.Param("id")) {
		return h.userFailed(c, licensing.ErrNotFound)
	}
	form, err := c.FormParams()
	if err != nil {
		return h.errorPage(c, http.StatusBadRequest, "The form could not be read.")
	}
	var privs []licensing.Privilege
	for _, v := range form["privilege"] {
		if !slices.Contains(licensing.AllPrivileges, licensing.Privilege(v)) {
			return h.showUser(c, http.StatusBadRequest, userPage{Error: "There is no console privilege " + v + "."})
		}
		privs = append(privs, licensing.Privilege(v))
	}
	g, err := licensing.SetConsolePrivileges(c.Request().Context(), h.opts.Store, h.opts.Clock, person(c).AccountID, c.Param("id"), privs)
	var held *licensing.PrivilegesNotHeldError
	switch {
	case errors.As(err, &held):
		return h.showUser(c, http.StatusForbidden, userPage{Error: "You grant and take away only privileges you hold; you do not hold " +
			licensing.FormatPrivileges(held.Missing) + "."})
	case err != nil:
		return h.userFailed(c, err)
	case g.Link == "":
		return c.Redirect(http.StatusSeeOther, userPath(c.Param("id"), "privileges"))
	}
	base, _ := origin.From(c.Request().Context())
	return h.showUser(c, http.StatusOK, userPage{Notice: notices["privileges"] + " The user has no password yet: send them this link, valid until " +
		stampOf(g.LinkExpires).UTC + ", where they choose one. It is shown only now.",
		Link: base + Path + "/password?token=" + url.QueryEscape(g.Link)})
}
