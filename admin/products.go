package admin

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/scimd/scimd/internal/problem"
	"github.com/scimd/scimd/licensing"
)

// This file is the catalog's products with the account's usage of each,
// and the plan (seat numbers) of a product.

// productRoutes lists the endpoints of this file.
func (h *Handler) productRoutes() []Route {
	read := reading(licensing.PrivProducts, licensing.PrivBilling, licensing.PrivSessions)
	return []Route{
		{http.MethodGet, "/products", read, h.listProducts},
		{http.MethodGet, "/products/:product", read, h.getProduct},
		{http.MethodPut, "/products/:product/plan", writing(licensing.PrivBilling), h.setPlan},
	}
}

// productView is a product with the account's usage of it. A product
// without a plan has no seats: its totals are 0.
type productView struct {
	ID         string          `json:"id"`
	Name       string          `json:"name"`
	Named      namedUsage      `json:"named"`
	Concurrent concurrentUsage `json:"concurrent"`
}

type namedUsage struct {
	// Assigned counts the users holding a named license in force, direct
	// or inherited; ThroughGroups those of them holding it through groups
	// only; Pending the users waiting for a named seat.
	Assigned      int `json:"assigned"`
	ThroughGroups int `json:"throughGroups"`
	Pending       int `json:"pending"`
	Total         int `json:"total"`
}

type concurrentUsage struct {
	Occupied int `json:"occupied"`
	Total    int `json:"total"`
	// Waiting counts the agents waiting for a seat now.
	Waiting int `json:"waiting"`
}

// productViews shows the products with the account's usage at now.
func (h *Handler) productViews(ctx context.Context, accountID string, products []licensing.Product, now time.Time) ([]productView, error) {
	usage, err := licensing.ProductsUsage(ctx, h.opts.Store, accountID, products, now)
	if err == nil {
		err = licensing.CountGroupLicenses(ctx, h.opts.Store, accountID, usage)
	}
	if err != nil {
		return nil, err
	}
	out := make([]productView, 0, len(usage))
	for _, u := range usage {
		out = append(out, productView{ID: u.ID, Name: u.Name,
			Named: namedUsage{Assigned: u.NamedAssigned, ThroughGroups: u.NamedThroughGroups, Pending: u.Pending,
				Total: u.NamedTotal},
			Concurrent: concurrentUsage{Occupied: u.ConcurrentOccupied, Total: u.ConcurrentTotal, Waiting: u.Waiting}})
	}
	return out, nil
}

// listProducts lists the whole catalog, in catalog order, with the
// account's usage. The catalog is a handful of products, so the answer is
// always one page with no nextCursor: limit and cursor are checked like
// those of every list (no cursor opens, since none is ever issued), and
// otherwise ignored.
func (h *Handler) listProducts(c echo.Context) error {
	if _, _, err := h.paging(c, listProducts); err != nil {
		return writeProblem(c, err)
	}
	views, err := h.productViews(c.Request().Context(), principal(c).AccountID, h.opts.Catalog.Products, h.opts.Clock.Now())
	if err != nil {
		return writeProblem(c, err)
	}
	return c.JSON(http.StatusOK, newList(views, ""))
}

// getProduct shows one product with the account's usage.
func (h *Handler) getProduct(c echo.Context) error {
	return h.answerProduct(c, http.StatusOK)
}

// answerProduct answers the product of the path with its usage.
func (h *Handler) answerProduct(c echo.Context, status int) error {
	p, err := h.product(c.Param("product"))
	if err != nil {
		return writeProblem(c, err)
	}
	views, err := h.productViews(c.Request().Context(), principal(c).AccountID, []licensing.Product{p}, h.opts.Clock.Now())
	if err != nil {
		return writeProblem(c, err)
	}
	return c.JSON(status, views[0])
}

type planRequest struct {
	NamedSeats      *int `json:"namedSeats"`
	ConcurrentSeats *int `json:"concurrentSeats"`
}

// setPlan sets the named and concurrent seats of the product. Lowering the
// named seats below those assigned is refused with the numbers; lowering
// the concurrent seats below those occupied ends nobody (new claims wait
// until occupancy is below the new number).
func (h *Handler) setPlan(c echo.Context) error {
	p, err := h.product(c.Param("product"))
	if err != nil {
		return writeProblem(c, err)
	}
	var req planRequest
	if err := problem.Decode(c, &req); err != nil {
		return writeProblem(c, err)
	}
	for _, n := range []struct {
		name string
		v    *int
	}{{"namedSeats", req.NamedSeats}, {"concurrentSeats", req.ConcurrentSeats}} {
		if n.v == nil || *n.v < 0 || *n.v > licensing.MaxSeats {
			return writeProblem(c, problem.Invalid(n.name+" is required: an integer from 0 to "+strconv.Itoa(licensing.MaxSeats)+"."))
		}
	}
	plan := licensing.Plan{AccountID: principal(c).AccountID, ProductID: p.ID, NamedSeats: *req.NamedSeats, ConcurrentSeats: *req.ConcurrentSeats}
	if err := licensing.ChangePlan(c.Request().Context(), h.opts.Store, h.opts.Clock, plan); err != nil {
		return writeProblem(c, h.opts.Catalog.NameProducts(err))
	}
	return h.answerProduct(c, http.StatusOK)
}
