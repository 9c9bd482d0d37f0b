package console

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/scimd/scimd/licensing"
)

// productsPage is what products.html shows.
type productsPage struct {
	Products []licensing.ProductUsage
	// Billing tells that the person may change the plan.
	Billing       bool
	Notice, Error string
}

// productsShow shows, per product, the named seats assigned of the plan's
// (with those taken through groups and the users waiting for one) and the
// concurrent seats occupied of the plan's with the agents
// waiting, and to a person holding billing the form that changes the plan.
func (h *Handler) productsShow(c echo.Context) error {
	page := productsPage{}
	if c.QueryParam("changed") != "" {
		if p, ok := h.opts.Catalog.Product(c.QueryParam("changed")); ok {
			page.Notice = "The plan of " + p.Name + " is changed."
		}
	}
	return h.showProducts(c, http.StatusOK, page)
}

func (h *Handler) showProducts(c echo.Context, status int, page productsPage) error {
	usage, err := licensing.ProductsUsage(c.Request().Context(), h.opts.Store, person(c).AccountID, h.opts.Catalog.Products, h.opts.Clock.Now())
	if err == nil {
		err = licensing.CountGroupLicenses(c.Request().Context(), h.opts.Store, person(c).AccountID, usage)
	}
	if err != nil {
		return h.failed(c, err)
	}
	page.Products, page.Billing = usage, person(c).Has(licensing.PrivBilling)
	return h.render(c, status, "products.html", "Products and plan", page)
}

// planCheck changes the plan of a product (billing privilege): lowering
// the named seats below those assigned is refused, with the numbers, in
// the page.
func (h *Handler) planCheck(c echo.Context) error {
	p, ok := h.opts.Catalog.Product(c.Param("product"))
	if !ok {
		return h.errorPage(c, http.StatusNotFound, "There is no such product in the catalog.")
	}
	named, err1 := strconv.Atoi(c.FormValue("namedSeats"))
	concurrent, err2 := strconv.Atoi(c.FormValue("concurrentSeats"))
	if err1 != nil || err2 != nil || min(named, concurrent) < 0 || max(named, concurrent) > licensing.MaxSeats {
		return h.showProducts(c, http.StatusBadRequest, productsPage{Error: "Seat numbers must be whole numbers from 0 to " + strconv.Itoa(licensing.MaxSeats) + "."})
	}
	plan := licensing.Plan{AccountID: person(c).AccountID, ProductID: p.ID, NamedSeats: named, ConcurrentSeats: concurrent}
	err := h.opts.Catalog.NameProducts(licensing.ChangePlan(c.Request().Context(), h.opts.Store, h.opts.Clock, plan))
	var below *licensing.PlanBelowAssignedError
	switch {
	case errors.As(err, &below):
		return h.showProducts(c, http.StatusConflict, productsPage{Error: below.Error()})
	case err != nil:
		return h.failed(c, err)
	}
	return c.Redirect(http.StatusSeeOther, Path+"/products?changed="+p.ID)
}
