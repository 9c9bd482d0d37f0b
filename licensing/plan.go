package licensing

import (
	"context"
	"fmt"
	"strconv"
)

// MaxSeats bounds the seat numbers of a plan (the database keeps them in
// 32-bit integers).
const MaxSeats = 1_000_000

// ChangePlan sets the plan of an account's product as the context's
// principal asks, audited as "plan.change". Seat numbers out of 0 to
// MaxSeats are ErrInvalid; lowering the named seats below those assigned
// is a *PlanBelowAssignedError naming the product, and changes nothing.
func ChangePlan(ctx context.Context, store Store, clock Clock, catalog Catalog, p Plan) error {
	if p.NamedSeats < 0 || p.NamedSeats > MaxSeats || p.ConcurrentSeats < 0 || p.ConcurrentSeats > MaxSeats {
		return fmt.Errorf("%w: seat numbers must be from 0 to %d", ErrInvalid, MaxSeats)
	}
	entry := NewAuditEntry(ctx, clock.Now(), "plan.change", "plan", p.ProductID,
		"named "+strconv.Itoa(p.NamedSeats)+", concurrent "+strconv.Itoa(p.ConcurrentSeats))
	return catalog.NameProducts(store.SetPlan(ctx, p, entry))
}
