package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"github.com/scimd/scimd/licensing"
)

// How waiters learn that a seat may be theirs (licensing.SeatWatcher).
//
// Every transaction that may let a waiter in (seats freed by ending,
// expiring or deprovisioning sessions, in applyPlans; the plan's seats
// set, in SetPlan; a waiter leaving the line, in LeaveQueue) reads, in
// the transaction, how many seats are free and the tickets of the first
// waiters in line, as many as seats are free (at most maxTickets):
// exactly those whose claim would succeed (occupied + live waiters ahead
// < seats). Waking them, and only them, wherever they wait, lets a freed
// seat be claimed at once without a herd of waiters trying for it.
// Nothing is told when no seat is free or nobody waits.
//
//   - On PostgreSQL with pg_notify on seatChannel (notifySQL), in the
//     statement that frees the seats (or the waiter's place) when it can,
//     so that the plan's row lock is held for no extra round trip, else
//     in seatsChanged. PostgreSQL delivers it at commit only, to every
//     process LISTENing, whichever replica made the change. WatchSeats
//     listens on a connection of its own (not one of the pool), named
//     ListenerName in pg_stat_activity, and reconnects with backoff when
//     it is lost.
//   - On SQLite, one process owns the file: the changes wait in
//     s.pending (guarded by the writer turn that every transaction holds)
//     and are handed to this Store's watchers once the transaction
//     committed.
//
// Delivery is best effort on both: a watcher too slow to take a change
// loses it, and a change made while the listener is disconnected is lost
// (after reconnecting, the listener sends a change of any line). Waiters
// poll as well, so a lost change costs a poll's delay, never a seat. The
// seat limits do not depend on any of this: they are the conditional
// UPDATEs of the seat transactions.

// seatChannel is the PostgreSQL notification channel of seat changes.
const seatChannel = "scimd_seats"

// ListenerName is the application_name of the PostgreSQL connection that
// listens for seat changes (one per process that watches), as
// pg_stat_activity shows it.
const ListenerName = "scimd seat listener"

// maxTickets bounds the tickets a change names (a notification's payload
// is limited to 8000 bytes).
const maxTickets = 100

// notifySQL notifies, on PostgreSQL, the first waiters of the plans of
// src, a common table expression the statement defines before it (with
// columns account_id, product_id and free, the seats free): for each plan
// with seats free and waiters, the tickets of its first waiters, as many
// as seats are free (at most maxTickets), in line order, whose claim
// would succeed now. Its arguments come after those of src: a time
// (tickets that expired by then are not counted), a ticket to leave out
// ("" for none: one the same statement deletes, which it still sees) and
// maxTickets. The payload is JSON (seatPayload); one longer than
// PostgreSQL allows is not sent, rather than failing the statement:
// waiters poll.
const notifySQL = `SELECT pg_notify('` + seatChannel + `', m) FROM
	(SELECT json_build_object('a', a, 'p', p, 'n', n, 't', t)::text AS m FROM
	  (SELECT src.account_id AS a, src.product_id AS p, src.free AS n,
	    (SELECT json_agg(w.ticket ORDER BY w.seq) FROM
	      (SELECT ticket, seq FROM waiters
	       WHERE account_id = src.account_id AND product_id = src.product_id AND expires_at > ? AND ticket <> ?
	       ORDER BY seq LIMIT LEAST(src.free, ?)) AS w) AS t
	   FROM src WHERE src.free > 0) AS f
	 WHERE t IS NOT NULL) AS c
	WHERE octet_length(m) < 8000`

// notifyPlanSQL notifies the first waiters of one plan (arguments: the
// account, the product, then those of notifySQL).
const notifyPlanSQL = `WITH src AS (SELECT account_id, product_id, concurrent_seats - concurrent_used AS free
	FROM plans WHERE account_id = ? AND product_id = ?) ` + notifySQL

// freeSeatsSQL gives back seats to a plan (arguments: named and
// concurrent seats, both <= 0, the account and the product) and, in the
// same statement, notifies its first waiters (then the arguments of
// notifySQL): the plan's row lock, which every claim and release of the
// product waits for, is held for no extra round trip.
const freeSeatsSQL = `WITH src AS (UPDATE plans SET named_used = named_used + ?, concurrent_used = concurrent_used + ?
	WHERE account_id = ? AND product_id = ?
	RETURNING account_id, product_id, concurrent_seats - concurrent_used AS free) ` + notifySQL

// leaveLineSQL takes a ticket its last holder leaves out of its line
// (arguments: the account, the ticket) and, if it was there and seats are free, notifies the
// first waiters, who moved up (then the arguments of notifySQL). It
// commits without waiting for the disk (see lazySQL).
const leaveLineSQL = `WITH left_line AS (DELETE FROM waiters USING (` + lazySQL + `) AS lazy
	  WHERE account_id = ? AND ticket = ? AND holders <= 1 RETURNING account_id, product_id),
	src AS (SELECT p.account_id, p.product_id, p.concurrent_seats - p.concurrent_used AS free
	        FROM plans AS p JOIN left_line AS l ON l.account_id = p.account_id AND l.product_id = p.product_id) ` + notifySQL

// seatPayload is the JSON of a notification.
type seatPayload struct {
	A string   `json:"a"`
	P string   `json:"p"`
	N int      `json:"n"`
	T []string `json:"t"`
}

// watchBuffer is how many changes a watcher's channel holds before
// further ones are dropped.
const watchBuffer = 1024

// watchers are the channels of this Store's WatchSeats calls on SQLite,
// and what the Store's Close ends every watch with.
type watchers struct {
	mu   sync.Mutex
	subs map[chan licensing.SeatChange]struct{}
	// done ends when the Store closes; stop ends it.
	done context.Context
	stop context.CancelFunc
}

func newWatchers() watchers {
	done, stop := context.WithCancel(context.Background())
	return watchers{subs: map[chan licensing.SeatChange]struct{}{}, done: done, stop: stop}
}

// seatsChanged tells the first waiters of the account's product, as many
// as seats are free, once the caller's transaction commits (see above).
// Tickets that expired by live are not counted (the zero time counts
// them all).
func (s *Store) seatsChanged(tx *gorm.DB, accountID, productID string, live time.Time) error {
	if s.dialect == DialectPostgres {
		_, err := exec(tx, "notify seat change", notifyPlanSQL, accountID, productID, s.timeArg(live), "", maxTickets)
		return err
	}
	// SQLite: tx holds the writer turn, which guards s.pending; tx
	// publishes it after the commit.
	free := 0
	err := query(tx, "seat change", `SELECT concurrent_seats - concurrent_used FROM plans WHERE account_id = ? AND product_id = ?`,
		[]any{accountID, productID}, func(rows *sql.Rows) error { return rows.Scan(&free) })
	if err != nil || free <= 0 {
		return err
	}
	var tickets []string
	err = query(tx, "seat change",
		`SELECT ticket FROM waiters WHERE account_id = ? AND product_id = ? AND expires_at > ? ORDER BY seq LIMIT ?`,
		[]any{accountID, productID, s.timeArg(live), min(free, maxTickets)},
		func(rows *sql.Rows) error {
			var t string
			err := rows.Scan(&t)
			tickets = append(tickets, t)
			return err
		})
	if err != nil || len(tickets) == 0 {
		return err
	}
	s.pending = append(s.pending, licensing.SeatChange{AccountID: accountID, ProductID: productID, Seats: free, Tickets: tickets})
	return nil
}

// publish hands the changes to this Store's watchers, dropping those a
// watcher has no room for.
func (s *Store) publish(changes ...licensing.SeatChange) {
	if len(changes) == 0 {
		return
	}
	s.watch.mu.Lock()
	defer s.watch.mu.Unlock()
	for ch := range s.watch.subs {
		for _, c := range changes {
			select {
			case ch <- c:
			default:
			}
		}
	}
}

// WatchSeats sends the changes that may let waiters in, committed through
// any Store on the database (on SQLite, through this one), until ctx
// ends or the Store is closed; then it closes the channel. Changes are
// dropped when the channel is full. On PostgreSQL, it connects and
// LISTENs before returning; if that fails, it logs the error and keeps
// trying in the background, as it does whenever the connection is lost
// (the first change after reconnecting has an empty AccountID: any line
// may have moved meanwhile). It never returns an error.
func (s *Store) WatchSeats(ctx context.Context) (<-chan licensing.SeatChange, error) {
	out := make(chan licensing.SeatChange, watchBuffer)
	ctx, cancel := context.WithCancel(ctx)
	unhook := context.AfterFunc(s.watch.done, cancel)
	end := func() {
		unhook()
		cancel()
	}
	if s.dialect != DialectPostgres {
		s.watch.mu.Lock()
		s.watch.subs[out] = struct{}{}
		s.watch.mu.Unlock()
		go func() {
			defer end()
			<-ctx.Done()
			s.watch.mu.Lock()
			defer s.watch.mu.Unlock()
			delete(s.watch.subs, out)
			close(out)
		}()
		return out, nil
	}
	conn, err := s.listenConn(ctx)
	if err != nil {
		s.log.Warn("seat notifications: cannot listen yet; waiters poll meanwhile", "error", err)
	}
	go func() {
		defer end()
		s.listen(ctx, conn, out)
	}()
	return out, nil
}

// Backoff of the listener's reconnections: the first attempt after a
// connection was lost is made at once, the next ones listenMinBackoff
// later, doubling up to listenMaxBackoff, so that the listener is back
// within listenMaxBackoff of the database.
const (
	listenMinBackoff = 50 * time.Millisecond
	listenMaxBackoff = time.Second
	// listenCheck is how long the listener waits for a notification
	// before it checks that the connection is alive.
	listenCheck = 30 * time.Second
)

// nextBackoff is the wait before the reconnection after one that waited d.
func nextBackoff(d time.Duration) time.Duration {
	if d == 0 {
		return listenMinBackoff
	}
	return min(2*d, listenMaxBackoff)
}

// listenConn opens the listener's connection and LISTENs.
func (s *Store) listenConn(ctx context.Context) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(s.dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: listen: %w", err)
	}
	cfg.RuntimeParams["application_name"] = ListenerName
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(cctx, cfg)
	if err != nil {
		return nil, dbErr("listen: connect", err)
	}
	if _, err := conn.Exec(cctx, "LISTEN "+seatChannel); err != nil {
		closeConn(conn)
		return nil, dbErr("listen", err)
	}
	return conn, nil
}

// listen receives the notifications on conn (nil: not connected yet) and
// sends them to out, reconnecting when the connection is lost, until ctx
// ends; then it closes out. Once connected again it sends a change of any
// line, which wakes every waiter: the changes made while it was
// disconnected were lost. It logs a lost connection once and its return
// once, whatever the number of attempts in between (those at debug).
func (s *Store) listen(ctx context.Context, conn *pgx.Conn, out chan<- licensing.SeatChange) {
	defer close(out)
	var backoff time.Duration
	for {
		for conn == nil {
			if !sleepCtx(ctx, backoff) {
				return
			}
			var err error
			if conn, err = s.listenConn(ctx); err != nil {
				if ctx.Err() != nil {
					return
				}
				backoff = nextBackoff(backoff)
				s.log.Debug("seat notifications: cannot listen yet", "error", err, "retry_in", backoff.String())
				continue
			}
			s.log.Info("seat notifications: listening again")
			send(out, licensing.SeatChange{})
		}
		since := time.Now()
		err := s.receive(ctx, conn, out)
		closeConn(conn)
		conn = nil
		if ctx.Err() != nil {
			return
		}
		// A connection that lasted is retried at once; one lost at
		// once, again and again, backs off.
		if time.Since(since) >= listenMaxBackoff {
			backoff = 0
		} else {
			backoff = nextBackoff(backoff)
		}
		if err = dbErr("listen", err); errors.Is(err, licensing.ErrUnavailable) {
			s.health.failed(err)
		}
		s.log.Warn("seat notifications: connection lost; reconnecting, waiters poll meanwhile", "error", err)
	}
}

// receive sends the notifications of conn to out until the connection
// fails or ctx ends, checking the connection after each quiet
// listenCheck.
func (s *Store) receive(ctx context.Context, conn *pgx.Conn, out chan<- licensing.SeatChange) error {
	for {
		wctx, cancel := context.WithTimeout(ctx, listenCheck)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.DeadlineExceeded):
			pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				return err
			}
			continue
		default:
			return err
		}
		var p seatPayload
		if err := json.Unmarshal([]byte(n.Payload), &p); err != nil || p.A == "" {
			s.log.Warn("seat notifications: malformed payload", "payload", n.Payload, "error", err)
			continue
		}
		send(out, licensing.SeatChange{AccountID: p.A, ProductID: p.P, Seats: max(p.N, 1), Tickets: p.T})
	}
}

// send sends c unless out is full.
func send(out chan<- licensing.SeatChange, c licensing.SeatChange) {
	select {
	case out <- c:
	default:
	}
}

// sleepCtx sleeps d and reports whether ctx is still alive.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// closeConn closes a listener's connection, waiting a moment at most.
func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = conn.Close(ctx)
}
