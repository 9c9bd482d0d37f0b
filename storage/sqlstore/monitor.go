package sqlstore

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/scimd/scimd/licensing"
)

// What the Store tells monitoring: the seats summed over all accounts
// (licensing.SeatTotals), the seat events once committed and the audit
// entries it could not write (licensing.Observable), and its connection
// pool (DB).

// seatTotalsSQL sums the plans and counts the live waiters (argument: the
// time) by product. Both halves give the same columns; a product appears
// in one row of each half at most, and SeatTotals adds them up.
const seatTotalsSQL = `/* all accounts: metrics sum every account's seats by product */ SELECT product_id, SUM(named_seats), SUM(named_used), SUM(concurrent_seats), SUM(concurrent_used),
	  SUM(CASE WHEN concurrent_seats > 0 AND concurrent_used >= concurrent_seats THEN 1 ELSE 0 END), 0
	FROM plans GROUP BY product_id
	UNION ALL
	SELECT product_id, 0, 0, 0, 0, 0, COUNT(*) FROM waiters WHERE expires_at > ? GROUP BY product_id`

// SeatTotals returns the seats of every product with a plan or a live
// waiter at now, summed over all accounts, by product id. It fails only
// when the database does.
func (s *Store) SeatTotals(ctx context.Context, now time.Time) ([]licensing.ProductSeats, error) {
	byProduct := map[string]*licensing.ProductSeats{}
	err := query(s.conn(ctx), "seat totals", seatTotalsSQL, []any{s.timeArg(now)}, func(rows *sql.Rows) error {
		var product string
		var named, assigned, seats, occupied, full, waiting int64
		if err := rows.Scan(&product, &named, &assigned, &seats, &occupied, &full, &waiting); err != nil {
			return err
		}
		p := byProduct[product]
		if p == nil {
			p = &licensing.ProductSeats{ProductID: product}
			byProduct[product] = p
		}
		p.NamedSeats += int(named)
		p.NamedAssigned += int(assigned)
		p.ConcurrentSeats += int(seats)
		p.ConcurrentOccupied += int(occupied)
		p.FullPools += int(full)
		p.Waiting += int(waiting)
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]licensing.ProductSeats, 0, len(byProduct))
	for _, p := range byProduct {
		out = append(out, *p)
	}
	slices.SortFunc(out, func(a, b licensing.ProductSeats) int { return strings.Compare(a.ProductID, b.ProductID) })
	return out, nil
}

// observer holds the StoreObserver, for an atomic pointer.
type observer struct{ o licensing.StoreObserver }

// Observe makes the Store tell o, from now on, of every seat event it
// records, once committed, and of every audit entry it cannot write; nil
// stops it.
func (s *Store) Observe(o licensing.StoreObserver) {
	if o == nil {
		s.observer.Store(nil)
		return
	}
	s.observer.Store(&observer{o})
}

// seatEventsKey is the context key of the seat events a transaction
// recorded.
type seatEventsKey struct{}

// seatEvents are the seat events of one transaction, told once it
// committed. A transaction's statements run one after the other.
type seatEvents struct{ list []licensing.SeatEvent }

// collectSeatEvents returns ctx carrying the list the transaction run
// with it collects its seat events into.
func collectSeatEvents(ctx context.Context) (context.Context, *seatEvents) {
	events := &seatEvents{}
	return context.WithValue(ctx, seatEventsKey{}, events), events
}

// recorded takes note of a seat event the statement on db stored: in a
// transaction of tx it waits for the commit; outside any, the statement
// committed it and it is told at once.
func (s *Store) recorded(db *gorm.DB, e licensing.SeatEvent) {
	if events, ok := db.Statement.Context.Value(seatEventsKey{}).(*seatEvents); ok {
		events.list = append(events.list, e)
		return
	}
	s.tell(e)
}

// committed tells the events of a transaction that ended with err, if it
// committed (err is nil).
func (s *Store) committed(err error, events *seatEvents) {
	if err != nil {
		return
	}
	s.tell(events.list...)
}

// tellAuditFailed tells the observer, if there is one, that an audit
// entry could not be written.
func (s *Store) tellAuditFailed() {
	if o := s.observer.Load(); o != nil {
		o.o.AuditWriteFailed()
	}
}

// tell hands events to the observer, if there is one.
func (s *Store) tell(events ...licensing.SeatEvent) {
	o := s.observer.Load()
	if o == nil {
		return
	}
	for _, e := range events {
		o.o.SeatEventCommitted(e)
	}
}

// DB returns the Store's connection pool, for its statistics
// (sql.DB.Stats). Callers must neither close it nor run statements on it.
func (s *Store) DB() *sql.DB { return s.sqlDB }
