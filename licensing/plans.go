package licensing

import (
	"context"
	"fmt"
)

// The trial plan: the seats the account made at first start, and an
// account made with `scimd account create --trial`, get for every product
// of the catalog, so that a first test can assign a product to a user at
// once. Every other account starts with no seats.
const (
	TrialNamedSeats      = 5
	TrialConcurrentSeats = 2
)

// ChangePlan sets an account's named and concurrent seats of one product,
// recorded in the audit log ("plan.change") as made by the context's
// principal. It returns what Store.SetPlan returns: ErrInvalid for
// negative seats, ErrNotFound for an unknown account, and a
// *PlanBelowAssignedError (naming the product by id only) when the named
// seats would be fewer than those assigned.
func ChangePlan(ctx context.Context, store Store, clock Clock, p Plan) error {
	entry := NewAuditEntry(ctx, clock.Now(), "plan.change", "plan", p.ProductID,
		fmt.Sprintf("named %d, concurrent %d", p.NamedSeats, p.ConcurrentSeats))
	return store.SetPlan(ctx, p, entry)
}

// TrialPlans returns the trial plan of the account: TrialNamedSeats and
// TrialConcurrentSeats for each product of the catalog, in its order.
func TrialPlans(c Catalog, accountID string) []Plan {
	plans := make([]Plan, len(c.Products))
	for i, p := range c.Products {
		plans[i] = Plan{AccountID: accountID, ProductID: p.ID, NamedSeats: TrialNamedSeats, ConcurrentSeats: TrialConcurrentSeats}
	}
	return plans
}

// GrantTrial gives the account the trial plan of the catalog, one product
// after another through ChangePlan, and returns it. It stops at the first
// error (see ChangePlan), leaving the products before it changed.
func GrantTrial(ctx context.Context, store Store, clock Clock, c Catalog, accountID string) ([]Plan, error) {
	plans := TrialPlans(c, accountID)
	for _, p := range plans {
		if err := ChangePlan(ctx, store, clock, p); err != nil {
			return nil, fmt.Errorf("trial plan of %s: %w", p.ProductID, err)
		}
	}
	return plans, nil
}
