package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/scimd/scimd/internal/origin"
	"github.com/scimd/scimd/internal/problem"
	"github.com/scimd/scimd/licensing"
)

// This file is the users of an account and the products they hold. Users
// go through the same store calls as SCIM (CreateUser, ReplaceUser,
// DeleteUser), so the store applies the seat rules (named seat limits,
// sessions ended when a product goes) and a user made here is a SCIM user
// like any other: the name and email live in User.Doc under their SCIM
// attribute names.

// userRoutes lists the endpoints of this file.
func (h *Handler) userRoutes() []Route {
	read := reading(licensing.PrivUsers, licensing.PrivProducts)
	return []Route{
		{http.MethodGet, "/users", read, h.listUsers},
		{http.MethodGet, "/users/:id", read, h.getUser},
		{http.MethodPost, "/users", writing(licensing.PrivUsers), h.createUser},
		{http.MethodPatch, "/users/:id", writing(licensing.PrivUsers), h.patchUser},
		{http.MethodDelete, "/users/:id", writing(licensing.PrivUsers), h.deleteUser},
		{http.MethodPut, "/users/:id/products/:product", writing(licensing.PrivProducts), h.grantProduct},
		{http.MethodDelete, "/users/:id/products/:product", writing(licensing.PrivProducts), h.revokeProduct},
	}
}

// userView is a user as the admin API shows it.
type userView struct {
	ID          string    `json:"id"`
	UserName    string    `json:"userName"`
	DisplayName string    `json:"displayName,omitempty"`
	Name        *userName `json:"name,omitempty"`
	// Email is the primary email, or the first one.
	Email  string `json:"email,omitempty"`
	Active bool   `json:"active"`
	// Products maps the products the user holds to the license type.
	Products map[string]licensing.LicenseType `json:"products"`
	// Licenses are the licenses in force and pending, read-only: they
	// follow from Products, Active and the user's groups.
	Licenses     []licenseView `json:"licenses"`
	Created      time.Time     `json:"created"`
	LastModified time.Time     `json:"lastModified"`
	Version      int64         `json:"version"`
}

// licenseView is one of a user's licenses in force or pending.
type licenseView struct {
	Product string                  `json:"product"`
	License licensing.LicenseType   `json:"license"`
	Status  licensing.LicenseStatus `json:"status"`
	// Reason and Place say why and where a pending license waits.
	Reason string `json:"reason,omitempty"`
	Place  int    `json:"place,omitempty"`
	// Sources are "direct" or the ids of the groups giving the license.
	Sources []string `json:"sources"`
}

// viewLicenses shows a user's licenses (an empty list for none).
func viewLicenses(ls []licensing.License) []licenseView {
	out := make([]licenseView, 0, len(ls))
	for _, l := range ls {
		out = append(out, licenseView{Product: l.ProductID, License: l.License, Status: l.Status,
			Reason: l.Reason(), Place: l.Place, Sources: l.Sources})
	}
	return out
}

// userName is the part of SCIM's name attribute the admin API shows and
// sets.
type userName struct {
	GivenName  string `json:"givenName,omitempty"`
	FamilyName string `json:"familyName,omitempty"`
}

// viewUser shows u. A document it cannot read (never written by scimd)
// shows no name and email rather than failing the listing.
func viewUser(u licensing.User) userView {
	v := userView{ID: u.ID, UserName: u.UserName, DisplayName: u.DisplayName, Active: u.Active,
		Products: map[string]licensing.LicenseType{}, Licenses: viewLicenses(u.Licenses), Created: u.Created.UTC(), LastModified: u.LastModified.UTC(), Version: u.Version}
	for p, t := range u.Assignments {
		if t != licensing.LicenseNone && t != "" {
			v.Products[p] = t
		}
	}
	c := u.Contact()
	if c.GivenName != "" || c.FamilyName != "" {
		v.Name = &userName{GivenName: c.GivenName, FamilyName: c.FamilyName}
	}
	v.Email = c.Email
	return v
}

// listUsers lists the account's users by creation, filtered by
// ?product=<id> with ?license=named|concurrent|none (product alone: any
// license but none), compared with the licenses in force (direct or
// inherited from groups) unless ?source=direct compares them with the
// direct assignments; ?license=pending (with or without product) keeps the
// users waiting for a named seat; ?active=true|false and ?q=<text>
// (case-insensitive, contained in userName, displayName, name or email).
func (h *Handler) listUsers(c echo.Context) error {
	limit, after, err := h.paging(c, listUsers)
	if err != nil {
		return writeProblem(c, err)
	}
	filter, text, err := h.userFilter(c)
	if err != nil {
		return writeProblem(c, err)
	}
	page, err := h.opts.Store.Users(c.Request().Context(), principal(c).AccountID,
		licensing.Query{Filter: filter, Text: text, Limit: limit, After: after, WithoutGroups: true, WithoutTotal: true})
	if after != "" && errors.Is(err, licensing.ErrInvalid) {
		return writeProblem(c, errBadCursor)
	}
	if err != nil {
		return writeProblem(c, err)
	}
	items := make([]userView, 0, len(page.Items))
	for _, u := range page.Items {
		items = append(items, viewUser(u))
	}
	return c.JSON(http.StatusOK, newList(items, h.nextCursor(c, listUsers, page.Next)))
}

// maxQueryText bounds ?q.
const maxQueryText = 256

// userFilter turns the list's query parameters into a condition (nil: all
// users) and the text to search for (?q, "" for none).
func (h *Handler) userFilter(c echo.Context) (cond licensing.Cond, text string, err error) {
	var f licensing.UserFilter
	productID, license := c.QueryParam("product"), c.QueryParam("license")
	switch source := c.QueryParam("source"); source {
	case "":
	case licensing.SourceDirect:
		f.Direct = true
	default:
		return nil, "", problem.Invalid("source must be direct (or absent, for the licenses in force).")
	}
	if productID != "" {
		p, err := h.product(productID)
		if err != nil {
			return nil, "", err
		}
		f.ProductID = p.ID
	}
	switch {
	case license == string(licensing.LicensePending) && f.Direct:
		return nil, "", problem.Invalid("license=pending concerns inherited licenses only; drop source=direct.")
	case license == string(licensing.LicensePending):
		f.Pending = true
	case license != "" && productID == "":
		return nil, "", problem.Invalid("license needs product: ?product=remote-support-v5&license=concurrent (only license=pending goes alone).")
	case license != "":
		var err error
		if f.License, err = licensing.ParseLicenseType(license); err != nil {
			return nil, "", problem.Invalid("license must be named, concurrent, none or pending.")
		}
	case f.Direct && productID == "":
		return nil, "", problem.Invalid("source=direct needs product: ?product=remote-support-v5&source=direct.")
	}
	switch active := c.QueryParam("active"); active {
	case "":
	case "true", "false":
		f.Active = new(active == "true")
	default:
		return nil, "", problem.Invalid("active must be true or false.")
	}
	if q := strings.TrimSpace(c.QueryParam("q")); q != "" {
		if len(q) > maxQueryText {
			return nil, "", problem.Invalid("q must be at most " + strconv.Itoa(maxQueryText) + " bytes.")
		}
		text = q
	}
	return f.Cond(), text, nil
}

// getUser shows one user.
func (h *Handler) getUser(c echo.Context) error {
	u, err := h.opts.Store.User(c.Request().Context(), principal(c).AccountID, c.Param("id"))
	if err != nil {
		return writeProblem(c, err)
	}
	return c.JSON(http.StatusOK, viewUser(u))
}

// userRequest is the body of POST /users (userName required) and of PATCH
// /users/:id, where the fields present change and the others stay. An
// empty string clears displayName, a name part or the email; products
// entries merge into the user's products, "none" removing one.
type userRequest struct {
	UserName    *string           `json:"userName"`
	DisplayName *string           `json:"displayName"`
	Name        *nameRequest      `json:"name"`
	Email       *string           `json:"email"`
	Active      *bool             `json:"active"`
	Password    *string           `json:"password"`
	Products    map[string]string `json:"products"`
}

type nameRequest struct {
	GivenName  *string `json:"givenName"`
	FamilyName *string `json:"familyName"`
}

// createUser makes a user, with its products under the seat rules.
func (h *Handler) createUser(c echo.Context) error {
	var req userRequest
	if err := problem.Decode(c, &req); err != nil {
		return writeProblem(c, err)
	}
	if err := mayWrite(c, req); err != nil {
		return writeProblem(c, err)
	}
	if req.UserName == nil {
		return writeProblem(c, problem.Invalid("userName is required."))
	}
	now := h.opts.Clock.Now()
	u := licensing.User{AccountID: principal(c).AccountID, ID: licensing.NewID(), Active: true, Doc: json.RawMessage(`{}`),
		Created: now, LastModified: now, Version: 1}
	hash, err := h.passwordHash(c.Request().Context(), req, u.ID)
	if err != nil {
		return writeProblem(c, err)
	}
	if _, err := h.applyUser(&u, req, hash); err != nil {
		return writeProblem(c, err)
	}
	if err := h.opts.Store.CreateUser(c.Request().Context(), u, h.audit(c, "user.create", "user", u.ID, u.UserName)); err != nil {
		return h.userProblem(c, u, err)
	}
	// The public base URL the server's edge decided (internal/origin);
	// without one the Location is relative.
	base, _ := origin.From(c.Request().Context())
	c.Response().Header().Set(echo.HeaderLocation, base+strings.TrimSuffix(c.Request().URL.Path, "/")+"/"+u.ID)
	return h.answerUser(c, http.StatusCreated, u)
}

// patchUser changes the fields of the body; a body that changes nothing
// writes nothing and keeps the version.
func (h *Handler) patchUser(c echo.Context) error {
	var req userRequest
	if err := problem.Decode(c, &req); err != nil {
		return writeProblem(c, err)
	}
	if err := mayWrite(c, req); err != nil {
		return writeProblem(c, err)
	}
	// The password is hashed once, not at each attempt of a write that
	// loses races (changeUser): the hash is slow on purpose.
	hash, err := h.passwordHash(c.Request().Context(), req, c.Param("id"))
	if err != nil {
		return writeProblem(c, err)
	}
	return h.changeUser(c, "user.update", func(u *licensing.User) (string, error) {
		changed, err := h.applyUser(u, req, hash)
		return strings.Join(changed, ", "), err
	})
}

// fieldPrivileges names the fields of a user write that need a privilege
// beyond the route's users privilege: products grant and revoke licenses,
// which is the products privilege's to do.
var fieldPrivileges = []struct {
	field     string
	privilege licensing.Privilege
	present   func(userRequest) bool
}{
	{"products", licensing.PrivProducts, func(r userRequest) bool { return r.Products != nil }},
}

// mayWrite refuses a user write carrying a field whose privilege the
// calling token lacks, before anything is changed.
func mayWrite(c echo.Context, req userRequest) error {
	p := principal(c)
	for _, f := range fieldPrivileges {
		if f.present(req) && !p.Has(f.privilege) {
			return &problem.Error{Status: http.StatusForbidden, Code: CodeForbidden,
				Detail: "Setting " + f.field + " needs the " + string(f.privilege) + " privilege, which this token lacks."}
		}
	}
	return nil
}

// deleteUser deletes a user, freeing their seats and ending their
// sessions.
func (h *Handler) deleteUser(c echo.Context) error {
	ctx := c.Request().Context()
	accountID := principal(c).AccountID
	u, err := h.opts.Store.User(ctx, accountID, c.Param("id"))
	if err != nil {
		return writeProblem(c, err)
	}
	if err := h.opts.Store.DeleteUser(ctx, accountID, u.ID, h.opts.Clock.Now(), h.audit(c, "user.delete", "user", u.ID, u.UserName)); err != nil {
		return writeProblem(c, err)
	}
	return c.NoContent(http.StatusNoContent)
}

type grantRequest struct {
	License string `json:"license"`
}

// grantProduct gives the user the product with a named or concurrent
// license (switching the type if they hold the other one).
func (h *Handler) grantProduct(c echo.Context) error {
	p, err := h.product(c.Param("product"))
	if err != nil {
		return writeProblem(c, err)
	}
	var req grantRequest
	if err := problem.Decode(c, &req); err != nil {
		return writeProblem(c, err)
	}
	t := licensing.LicenseType(req.License)
	if t != licensing.LicenseNamed && t != licensing.LicenseConcurrent {
		return writeProblem(c, problem.Invalid(`license must be "named" or "concurrent"; DELETE revokes the product.`))
	}
	return h.changeUser(c, "product.grant", func(u *licensing.User) (string, error) {
		if u.Assignments.Of(p.ID) == t {
			return "", nil
		}
		u.Assignments = licensing.SetLicense(u.Assignments, p.ID, t)
		return p.ID + ": " + string(t), nil
	})
}

// revokeProduct takes the product from the user, ending their sessions of
// it. Revoking a product the user does not hold changes nothing.
func (h *Handler) revokeProduct(c echo.Context) error {
	p, err := h.product(c.Param("product"))
	if err != nil {
		return writeProblem(c, err)
	}
	return h.changeUser(c, "product.revoke", func(u *licensing.User) (string, error) {
		was := u.Assignments.Of(p.ID)
		if was == licensing.LicenseNone {
			return "", nil
		}
		u.Assignments = licensing.SetLicense(u.Assignments, p.ID, licensing.LicenseNone)
		return p.ID + ": " + string(was), nil
	})
}

// changeUser reads the user of the path, lets change modify it and, if
// change reports a change (a non-empty audit detail), stores it as the
// next version and records action. It answers the user as it now is.
func (h *Handler) changeUser(c echo.Context, action string, change func(u *licensing.User) (detail string, err error)) error {
	var refused error
	u, written, err := licensing.ChangeUser(c.Request().Context(), h.opts.Store, h.opts.Clock, principal(c).AccountID, c.Param("id"), action,
		func(u *licensing.User) (string, error) {
			detail, err := change(u)
			refused = err
			return detail, err
		})
	switch {
	case err != nil && err == refused:
		return writeProblem(c, err)
	case err != nil:
		return h.userProblem(c, u, err)
	case !written:
		return c.JSON(http.StatusOK, viewUser(u))
	}
	return h.answerUser(c, http.StatusOK, u)
}

// answerUser answers the user just written as the store now holds it
// (times at the store's precision), or as written if it is already gone.
func (h *Handler) answerUser(c echo.Context, status int, written licensing.User) error {
	u, err := h.opts.Store.User(c.Request().Context(), written.AccountID, written.ID)
	if errors.Is(err, licensing.ErrNotFound) {
		u, err = written, nil
	}
	if err != nil {
		return writeProblem(c, err)
	}
	return c.JSON(status, viewUser(u))
}

// userProblem answers a failed user write: a taken userName, or the
// store's seat refusal with the product named from the catalog.
func (h *Handler) userProblem(c echo.Context, u licensing.User, err error) error {
	if errors.Is(err, licensing.ErrConflict) {
		return writeProblem(c, &problem.Error{Status: http.StatusConflict, Code: CodeConflict,
			Detail: "The userName " + strconv.Quote(u.UserName) + " is taken in this account."})
	}
	return writeProblem(c, h.opts.Catalog.NameProducts(err))
}

// passwordHash returns the hash of the password req sets for the user of
// the id, or "" if it sets none.
func (h *Handler) passwordHash(ctx context.Context, req userRequest, id string) (string, error) {
	if req.Password == nil {
		return "", nil
	}
	if *req.Password == "" {
		return "", problem.Invalid("password must not be empty.")
	}
	if h.opts.HashPassword == nil {
		return "", problem.Invalid("This server cannot set passwords through the admin API; set them through SCIM.")
	}
	hash, err := h.opts.HashPassword(ctx, *req.Password)
	if err != nil {
		return "", fmt.Errorf("hash the password of user %s: %w", id, err)
	}
	return hash, nil
}

// applyUser applies the fields present in req to u, with hash the hash
// of its password (passwordHash), and returns the names of those that
// changed it.
func (h *Handler) applyUser(u *licensing.User, req userRequest, hash string) ([]string, error) {
	var changed []string
	set := func(name string, dst *string, v *string) {
		if v != nil && *v != *dst {
			*dst = *v
			changed = append(changed, name)
		}
	}
	if req.UserName != nil && strings.TrimSpace(*req.UserName) == "" {
		return nil, problem.Invalid("userName must not be empty.")
	}
	set("userName", &u.UserName, req.UserName)
	set("displayName", &u.DisplayName, req.DisplayName)
	if req.Active != nil && *req.Active != u.Active {
		u.Active = *req.Active
		changed = append(changed, "active")
	}
	docChanged, err := editDoc(u, req)
	if err != nil {
		return nil, err
	}
	changed = append(changed, docChanged...)
	if req.Password != nil {
		u.PasswordHash = hash
		changed = append(changed, "password")
	}
	productsChanged := false
	for _, id := range sortedKeys(req.Products) {
		p, ok := h.opts.Catalog.Product(id)
		if !ok {
			return nil, problem.Invalid("products names " + strconv.Quote(id) + ", which is not in the catalog; GET /api/v1/admin/products lists them.")
		}
		t, err := licensing.ParseLicenseType(req.Products[id])
		if err != nil || req.Products[id] == "" {
			return nil, problem.Invalid("products." + id + " must be named, concurrent or none.")
		}
		if u.Assignments.Of(p.ID) != t {
			u.Assignments = licensing.SetLicense(u.Assignments, p.ID, t)
			productsChanged = true
		}
	}
	if productsChanged {
		changed = append(changed, "products")
	}
	return changed, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// editDoc applies the name and email of req to the user's SCIM document,
// keeping every other attribute it holds, and returns the names of the
// fields that changed. The email is the value of the primary email (or
// the first): it is replaced there, added as the primary work email if
// the user has none, and removed when set to "".
func editDoc(u *licensing.User, req userRequest) ([]string, error) {
	if req.Name == nil && req.Email == nil {
		return nil, nil
	}
	doc := map[string]any{}
	if len(u.Doc) > 0 {
		if err := json.Unmarshal(u.Doc, &doc); err != nil || doc == nil {
			return nil, fmt.Errorf("decode the document of user %s: %w", u.ID, err)
		}
	}
	var changed []string
	if req.Name != nil {
		name, _ := doc["name"].(map[string]any)
		if name == nil {
			name = map[string]any{}
		}
		nameChanged := false
		for _, part := range []struct {
			key string
			v   *string
		}{{"givenName", req.Name.GivenName}, {"familyName", req.Name.FamilyName}} {
			old, had := name[part.key].(string)
			switch {
			case part.v == nil || (had && *part.v == old):
			case *part.v == "":
				delete(name, part.key)
				nameChanged = nameChanged || had
			default:
				name[part.key] = *part.v
				nameChanged = true
			}
		}
		if nameChanged {
			changed = append(changed, "name")
		}
		if len(name) == 0 {
			delete(doc, "name")
		} else {
			doc["name"] = name
		}
	}
	if req.Email != nil {
		if *req.Email != "" && !strings.Contains(*req.Email, "@") {
			return nil, problem.Invalid("email must be an email address.")
		}
		if setEmail(doc, *req.Email) {
			changed = append(changed, "email")
		}
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encode the document of user %s: %w", u.ID, err)
	}
	u.Doc = raw
	return changed, nil
}

// setEmail sets the primary (or first) email of the document to value,
// "" removing it, and reports whether that changed the document.
func setEmail(doc map[string]any, value string) bool {
	emails, _ := doc["emails"].([]any)
	at := -1
	for i, e := range emails {
		m, _ := e.(map[string]any)
		if primary, _ := m["primary"].(bool); primary || at < 0 {
			at = i
			if primary {
				break
			}
		}
	}
	switch {
	case at < 0 && value == "":
		return false
	case at < 0:
		emails = []any{map[string]any{"value": value, "type": "work", "primary": true}}
	case value == "":
		emails = slices.Delete(emails, at, at+1)
	default:
		m, _ := emails[at].(map[string]any)
		if m == nil {
			m = map[string]any{}
		}
		if old, _ := m["value"].(string); old == value {
			return false
		}
		m["value"] = value
		emails[at] = m
	}
	if len(emails) == 0 {
		delete(doc, "emails")
	} else {
		doc["emails"] = emails
	}
	return true
}
