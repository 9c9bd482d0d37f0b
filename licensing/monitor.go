package licensing

import (
	"context"
	"time"
)

// What a store tells monitoring. It speaks of products only: the numbers
// are summed over every account, and an observer is handed the events to
// count by product and kind, so that nothing an operator sees names an
// account, a user or a session.

// ProductSeats is the use of one product's seats summed over every
// account that has a plan of it.
type ProductSeats struct {
	ProductID string
	// NamedSeats and NamedAssigned are the named seats bought and those
	// assigned.
	NamedSeats, NamedAssigned int
	// ConcurrentSeats and ConcurrentOccupied are the shared seats bought
	// and those occupied (which may exceed the seats after a plan was
	// lowered).
	ConcurrentSeats, ConcurrentOccupied int
	// FullPools counts the accounts whose shared seats of the product are
	// all occupied (at least one seat bought).
	FullPools int
	// Waiting counts the live waiters in the product's lines.
	Waiting int
}

// SeatTotals is the part of the Store that sums the use of seats over all
// accounts, for monitoring.
type SeatTotals interface {
	// SeatTotals returns, ordered by product id, the seats of every
	// product that has a plan or a live waiter (one whose time runs out
	// after now) in any account, summed over the accounts. It only fails
	// when the database does (ctx ending included) and reads the plans
	// and lines in one statement, without locking anything.
	SeatTotals(ctx context.Context, now time.Time) ([]ProductSeats, error)
}

// StoreObserver is told what a store did, for counting. Its methods are
// called on the writer's goroutine and must return quickly without
// calling the store.
type StoreObserver interface {
	// SeatEventCommitted is called once per seat event, after the
	// transaction that recorded it committed: an event rolled back (a
	// claim refused within its transaction) is never told.
	SeatEventCommitted(e SeatEvent)
	// AuditWriteFailed is called for each audit entry the store could not
	// write: text the database cannot hold, or a statement the database
	// refused or failed while the write's context was live (a write
	// abandoned by its caller is not counted). The write the entry records
	// failed with it, since both commit together.
	AuditWriteFailed()
}

// Observable is the part of the Store that tells a StoreObserver what it
// does (not what other processes sharing the database do).
type Observable interface {
	// Observe makes the store tell o what it does from now on; nil stops
	// it. It may be called while the store is in use.
	Observe(o StoreObserver)
}
