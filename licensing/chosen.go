package licensing

import (
	"context"
	"time"
)

// chosenDeadlineKey is the context key of a deadline the caller chose.
type chosenDeadlineKey struct{}

// WithChosenTimeout returns a copy of parent that ends after d, marked as
// bounded by its caller's choice rather than by how long the store may
// take: a waiting start gives up joining the line when its wait is up. A
// store operation that fails because that deadline passed tells nothing
// of the database's health, and stores do not count it as an outage
// (ChoseToStop).
func WithChosenTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(parent, d)
	deadline, _ := ctx.Deadline()
	return context.WithValue(ctx, chosenDeadlineKey{}, deadline), cancel
}

// ChoseToStop reports whether ctx carries a deadline chosen with
// WithChosenTimeout and that deadline has passed: an error of an
// operation run with ctx is then the caller's doing, whatever it says (a
// connection dialled as the deadline passed fails with an i/o timeout
// before the context says it ended).
func ChoseToStop(ctx context.Context) bool {
	deadline, ok := ctx.Value(chosenDeadlineKey{}).(time.Time)
	return ok && !time.Now().Before(deadline)
}
