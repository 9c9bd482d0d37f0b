package sqlstore

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/scimd/scimd/licensing"
)

// How the seat transactions stay correct under concurrency.
//
// SQLite runs one write transaction at a time (every transaction begins
// IMMEDIATE), so a transaction's reads and conditional updates cannot
// interleave with another's. On PostgreSQL (READ COMMITTED) the rows a
// seat transaction touches are locked in one order: the user row, then
// sessions, then seats (by account, product, user), then plans (by
// account, product). Limits are conditional UPDATEs of the plan counters,
// which PostgreSQL re-checks on the newest row version after waiting for a
// lock. A concurrent seat is one row of seats per (account, product, user)
// counting the user's open sessions: StartSession upserts it (a second
// claim of the user waits on the unique key of an uncommitted new seat and
// then attaches to it), and a release decrements it and deletes it at 0
// while holding its row lock (a claim racing it waits, then either
// attaches to the surviving row or inserts a new seat and takes a plan
// seat for it). Row-locking clauses are emitted on PostgreSQL only.

// sessionColumns are the columns Store.sessions reads.
const sessionColumns = "account_id, id, product_id, user_id, license, state, attended, platform, " +
	"created_at, connected_at, last_seen, expires_at, ended_at, end_reason, ended_by"

// lineSQL counts the live waiters ahead of a ticket in a product's line
// (every live waiter if the ticket is not in the line: a claim with an
// unknown ticket waits behind them all, as one without a ticket does).
const lineSQL = `SELECT COUNT(*) FROM waiters AS w
	WHERE w.account_id = ? AND w.product_id = ? AND w.expires_at > ?
	AND w.seq < COALESCE((SELECT t.seq FROM waiters AS t WHERE t.account_id = ? AND t.product_id = ? AND t.ticket = ?),
	                     9223372036854775807)`

// lock returns the row-locking clause on PostgreSQL and "" on SQLite,
// whose write transactions are serialized anyway.
func (s *Store) lock(clause string) string {
	if s.dialect == DialectPostgres {
		return " " + clause
	}
	return ""
}

// byteOrder is the collation that orders text by bytes, as Go does.
func (s *Store) byteOrder(col string) string {
	if s.dialect == DialectPostgres {
		return col + ` COLLATE "C"`
	}
	return col
}

// What a commit may skip. The line of waiters (a ticket lives a few
// polls and is refreshed at each) and the denials of seats (a count for
// usage reports) change with every waiting agent's poll and every refused
// start: on PostgreSQL their writes commit without waiting for the write-
// ahead log to reach the disk (synchronous_commit off for that
// transaction only). Their changes are seen by everyone at commit as
// usual; a crash of PostgreSQL may lose the last fraction of a second of
// them (never corrupting anything): the waiters then find their tickets
// gone and join again, and a few denials go uncounted. Seats, sessions
// and every other seat event stay durable: they are what the limits and
// usage stand on. On the waiters' advisory lock (JoinQueue) this matters
// most: a durable commit would hold every join of the line behind a
// flush to disk.

// lazySQL turns off the wait for the disk for the rest of the
// transaction, from inside a statement (set_config, local to the
// transaction, is also the statement's own in autocommit).
const lazySQL = `SELECT set_config('synchronous_commit', 'off', true)`

// lazyFrom returns, on PostgreSQL, a FROM item of one row that makes the
// statement's transaction commit without waiting for the disk (see
// above), to add to an INSERT ... SELECT, an UPDATE ... FROM or a DELETE
// ... USING; on SQLite "".
func (s *Store) lazyFrom(keyword string) string {
	if s.dialect == DialectPostgres {
		return " " + keyword + " (" + lazySQL + ") AS lazy"
	}
	return ""
}

// SetPlan sets the named and concurrent seats of the account's product,
// creating the plan if needed. Lowering the named seats below the number
// assigned returns a *licensing.PlanBelowAssignedError and changes
// nothing; the concurrent seats may go below the number occupied.
// ErrNotFound if the account does not exist; ErrInvalid for negative
// numbers or an empty product id. The audit entries are stored with the
// plan.
func (s *Store) SetPlan(ctx context.Context, p licensing.Plan, audit ...licensing.AuditEntry) error {
	if p.ProductID == "" || p.NamedSeats < 0 || p.ConcurrentSeats < 0 {
		return fmt.Errorf("sqlstore: set plan: %w: a plan needs a product id and seat numbers of 0 or more", licensing.ErrInvalid)
	}
	if err := checkText(p.AccountID, p.ProductID); err != nil {
		return fmt.Errorf("sqlstore: set plan: %w", err)
	}
	return s.tx(ctx, func(tx *gorm.DB) error {
		if err := s.lockLicensing(tx, p.AccountID); err != nil {
			return err
		}
		set := false
		// The condition is checked on the row locked by the conflict, so
		// no assignment can slip in between the check and the write.
		err := query(tx, "set plan",
			`INSERT INTO plans (account_id, product_id, named_seats, concurrent_seats, named_used, concurrent_used)
			 VALUES (?, ?, ?, ?, 0, 0)
			 ON CONFLICT (account_id, product_id) DO UPDATE
			 SET named_seats = excluded.named_seats, concurrent_seats = excluded.concurrent_seats
			 WHERE plans.named_used <= excluded.named_seats
			 RETURNING named_used`,
			[]any{p.AccountID, p.ProductID, p.NamedSeats, p.ConcurrentSeats},
			func(rows *sql.Rows) error {
				set = true
				var used int
				return rows.Scan(&used)
			})
		if err != nil {
			return err
		}
		if set {
			if err := s.recordAudit(tx, p.AccountID, audit); err != nil {
				return err
			}
			// Named seats free (more, if the plan grew) go to the first
			// users queued for one.
			if err := s.promote(tx, p.AccountID, p.ProductID); err != nil {
				return err
			}
			// Seats free (more, if the plan grew) go to the first
			// waiters (a plan has no time: every waiter counts as live).
			return s.seatsChanged(tx, p.AccountID, p.ProductID, time.Time{})
		}
		used, _, err := planNumbers(tx, "named", planKey{p.AccountID, p.ProductID})
		if err != nil {
			return err
		}
		return &licensing.PlanBelowAssignedError{Product: licensing.Product{ID: p.ProductID}, Assigned: used, Requested: p.NamedSeats}
	})
}

// Usage returns the account's plans with their usage, by product id.
func (s *Store) Usage(ctx context.Context, accountID string) ([]licensing.Usage, error) {
	var out []licensing.Usage
	err := query(s.conn(ctx), "usage",
		`SELECT product_id, named_seats, concurrent_seats, named_used, concurrent_used
		 FROM plans WHERE account_id = ? ORDER BY `+s.byteOrder("product_id"),
		[]any{accountID},
		func(rows *sql.Rows) error {
			u := licensing.Usage{Plan: licensing.Plan{AccountID: accountID}}
			if err := rows.Scan(&u.ProductID, &u.NamedSeats, &u.ConcurrentSeats, &u.NamedAssigned, &u.ConcurrentOccupied); err != nil {
				return err
			}
			out = append(out, u)
			return nil
		})
	return out, err
}

// StartSession stores the new session, taking the user's concurrent seat
// of the product if the assignment is concurrent (see licensing.Seats).
// ErrNotFound if there is no such user; a *licensing.NotEntitledError if
// the user is inactive or does not hold the product; a
// *licensing.SharedSeatsInUseError unless more seats are free than live
// waiters are ahead of the claim, with a denied event recorded if the
// claim came without a ticket (a waiter's retries, with one, record none);
// ErrConflict if the session id is taken; ErrInvalid for a session without
// ids.
func (s *Store) StartSession(ctx context.Context, sess *licensing.Session, ticket string) error {
	if sess.ID == "" || sess.ProductID == "" || sess.UserID == "" {
		return fmt.Errorf("sqlstore: start session: %w: a session needs an id, a product and a user", licensing.ErrInvalid)
	}
	if err := checkText(sess.AccountID, sess.ID, sess.ProductID, sess.UserID, string(sess.Platform), ticket); err != nil {
		return fmt.Errorf("sqlstore: start session: %w", err)
	}
	full, used, total, err := s.looksFull(ctx, sess, ticket)
	var license licensing.LicenseType
	switch {
	case err != nil:
		return err
	case full:
		err = &licensing.SharedSeatsInUseError{Product: licensing.Product{ID: sess.ProductID}, Occupied: used, Total: total}
	default:
		license, err = s.startSession(ctx, sess, ticket)
	}
	var denied *licensing.SharedSeatsInUseError
	if errors.As(err, &denied) && ticket == "" {
		// Refused before the claim or by it (rolled back): the denial is
		// recorded on its own, one statement on PostgreSQL (on SQLite a
		// statement's SQL runs always inside transactions or always out,
		// and recordEvent's runs inside). A claim with a ticket is a
		// waiter's retry: its first attempt, without one, recorded the
		// denial already.
		record := func(db *gorm.DB) error {
			return s.recordDenial(db, licensing.SeatEvent{
				AccountID: sess.AccountID, ProductID: sess.ProductID, UserID: sess.UserID,
				Kind: licensing.SeatDenied, At: sess.CreatedAt,
			})
		}
		var evErr error
		if s.dialect == DialectPostgres {
			evErr = record(s.conn(ctx))
		} else {
			evErr = s.tx(ctx, record)
		}
		if evErr != nil {
			// In an outage, the outage monitor logs the outage.
			level := slog.LevelError
			if errors.Is(evErr, licensing.ErrUnavailable) || errors.Is(evErr, context.Canceled) {
				level = slog.LevelDebug
			}
			s.log.Log(ctx, level, "seat denial not recorded", "account", sess.AccountID, "product", sess.ProductID, "user", sess.UserID, "error", evErr)
		}
	}
	if err != nil {
		return err
	}
	sess.License, sess.State = license, licensing.SessionPending
	sess.ConnectedAt, sess.EndedAt, sess.EndReason, sess.EndedBy = nil, nil, "", ""
	return nil
}

// startSession is StartSession's transaction: the entitlement, the
// user's seat row, the session row, for a waiter leaving the line and,
// for a new seat, the occupied event and last of all the plan's counter.
// The plan row is the one every claim and release of the product
// updates: taken last, its lock is held only until the commit.
func (s *Store) startSession(ctx context.Context, sess *licensing.Session, ticket string) (licensing.LicenseType, error) {
	var license licensing.LicenseType
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		license, err = s.entitlement(tx, sess.AccountID, sess.UserID, sess.ProductID)
		if err != nil {
			return err
		}
		newSeat, ahead := false, 0
		if license == licensing.LicenseConcurrent {
			if newSeat, ahead, err = s.claimSeat(tx, sess, ticket); err != nil {
				return err
			}
		}
		if _, err := exec(tx, "start session",
			`INSERT INTO sessions (account_id, id, product_id, user_id, license, state, attended, platform,
			 created_at, connected_at, last_seen, expires_at)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)`,
			sess.AccountID, sess.ID, sess.ProductID, sess.UserID, string(license), string(licensing.SessionPending),
			sess.Attended, string(sess.Platform), s.timeArg(sess.CreatedAt), s.timeArg(sess.LastSeen),
			s.timeArg(sess.ExpiresAt)); err != nil {
			return err
		}
		if ticket != "" {
			if _, err := exec(tx, "leave line", `DELETE FROM waiters WHERE account_id = ? AND product_id = ? AND ticket = ?`,
				sess.AccountID, sess.ProductID, ticket); err != nil {
				return err
			}
		}
		if !newSeat {
			return nil
		}
		return s.takeSeat(tx, sess, ahead)
	})
	return license, err
}

// looksFull reads, in one statement outside any transaction, whether a
// concurrent claim of the session's user would be refused: the user is
// active and holds the product as concurrent, holds no seat of it yet, and
// occupied + the live waiters ahead of the ticket >= the seats. Then
// StartSession refuses at once, sparing the claim's transaction (most of
// the requests when many agents wait for few seats); in every other case
// the transaction decides, atomically, as if this were not asked. The
// answer never refuses a claim the transaction would have granted at the
// same moment: a ticket whose time ran out counts here only the waiters
// ahead of it, fewer than the transaction counts.
func (s *Store) looksFull(ctx context.Context, sess *licensing.Session, ticket string) (full bool, used, total int, err error) {
	now := s.timeArg(sess.CreatedAt)
	err = query(s.conn(ctx), "start session: seats full",
		`SELECT p.concurrent_used, p.concurrent_seats, (`+lineSQL+`)
		 FROM users AS u
		 JOIN user_licenses AS a ON a.account_id = u.account_id AND a.user_id = u.id AND a.product_id = ?
		   AND a.license = 'concurrent' AND a.status = 'active'
		 JOIN plans AS p ON p.account_id = u.account_id AND p.product_id = ?
		 WHERE u.account_id = ? AND u.id = ? AND u.active
		 AND NOT EXISTS (SELECT 1 FROM seats AS st WHERE st.account_id = u.account_id AND st.product_id = ? AND st.user_id = u.id)`,
		[]any{sess.AccountID, sess.ProductID, now, sess.AccountID, sess.ProductID, ticket,
			sess.ProductID, sess.ProductID, sess.AccountID, sess.UserID, sess.ProductID},
		func(rows *sql.Rows) error {
			var ahead int
			if err := rows.Scan(&used, &total, &ahead); err != nil {
				return err
			}
			full = used+ahead >= total
			return nil
		})
	return full, used, total, err
}

// entitlement reads, in a claim's transaction, how the user holds the
// product. On PostgreSQL the user row stays share-locked until commit, so
// that no write deactivating, unassigning or deleting the user (they lock
// it for update) can decide which sessions to end before this one is
// stored.
func (s *Store) entitlement(tx *gorm.DB, accountID, userID, productID string) (licensing.LicenseType, error) {
	found, active := false, false
	err := query(tx, "start session",
		`SELECT active FROM users WHERE account_id = ? AND id = ?`+s.lock("FOR SHARE"), []any{accountID, userID},
		func(rows *sql.Rows) error {
			found = true
			return rows.Scan(&active)
		})
	switch {
	case err != nil:
		return "", err
	case !found:
		return "", fmt.Errorf("sqlstore: start session: user: %w", licensing.ErrNotFound)
	case !active:
		return "", &licensing.NotEntitledError{Product: licensing.Product{ID: productID}, Inactive: true}
	}
	// A statement of its own, not a join with the locking one: on
	// PostgreSQL, a statement that waited for the lock rechecks the locked
	// row only, and would read the assignment as it was before the write
	// it waited for; this one reads it as that write left it. The
	// license is the one in force (direct or inherited).
	license := licensing.LicenseNone
	err = query(tx, "start session",
		`SELECT license FROM user_licenses WHERE account_id = ? AND user_id = ? AND product_id = ? AND status = 'active'`,
		[]any{accountID, userID, productID},
		func(rows *sql.Rows) error { return rows.Scan(&license) })
	if err != nil {
		return "", err
	}
	if license == licensing.LicenseNone {
		return "", &licensing.NotEntitledError{Product: licensing.Product{ID: productID}}
	}
	return license, nil
}

// claimSeat attaches the session to the user's seat of the product, if
// the user holds one, or reports that a new seat is needed and how many
// live waiters are ahead of this claim in the product's line (takeSeat
// then decides). The upsert comes first so that the user's seat row is
// locked (or, new, holds its key) before anything is decided: two claims
// of one user serialize on it and take one seat; a claim and the release
// of the user's last session serialize on it too.
func (s *Store) claimSeat(tx *gorm.DB, sess *licensing.Session, ticket string) (newSeat bool, ahead int, err error) {
	open := 0
	err = query(tx, "claim seat",
		`INSERT INTO seats (account_id, product_id, user_id, open_sessions, since) VALUES (?, ?, ?, 1, ?)
		 ON CONFLICT (account_id, product_id, user_id) DO UPDATE SET open_sessions = seats.open_sessions + 1
		 RETURNING open_sessions`,
		[]any{sess.AccountID, sess.ProductID, sess.UserID, s.timeArg(sess.CreatedAt)},
		func(rows *sql.Rows) error { return rows.Scan(&open) })
	if err != nil || open > 1 {
		return false, 0, err // open > 1: shared with the user's open sessions
	}
	k := planKey{sess.AccountID, sess.ProductID}
	if ticket != "" {
		// A ticket whose time ran out has left the line, cleared or not,
		// and keeps no place in it: taken out here, the line counts every
		// live waiter ahead of this claim. (A refused claim is rolled back
		// and leaves the row, ignored, to be cleared by JoinQueue.)
		if _, err := exec(tx, "claim seat",
			`DELETE FROM waiters WHERE account_id = ? AND product_id = ? AND ticket = ? AND expires_at <= ?`,
			k.account, k.product, ticket, s.timeArg(sess.CreatedAt)); err != nil {
			return false, 0, err
		}
	}
	err = query(tx, "claim seat", lineSQL,
		[]any{k.account, k.product, s.timeArg(sess.CreatedAt), k.account, k.product, ticket},
		func(rows *sql.Rows) error { return rows.Scan(&ahead) })
	return true, ahead, err
}

// takeSeat records the occupied event and takes a seat of the plan for
// the session's new seat row, the last statements of the claim: the seats
// free go to the waiters in line order, so the seat is taken only if more
// are free than there are live waiters ahead of the claim (a conditional
// UPDATE: the limit holds whatever runs concurrently). Refused, the
// answer is a *licensing.SharedSeatsInUseError and the transaction, event
// included, is rolled back.
func (s *Store) takeSeat(tx *gorm.DB, sess *licensing.Session, ahead int) error {
	k := planKey{sess.AccountID, sess.ProductID}
	if err := s.recordEvent(tx, licensing.SeatEvent{
		AccountID: k.account, ProductID: k.product, UserID: sess.UserID, SessionID: sess.ID,
		Kind: licensing.SeatOccupied, At: sess.CreatedAt,
	}); err != nil {
		return err
	}
	n, err := exec(tx, "claim seat",
		`UPDATE plans SET concurrent_used = concurrent_used + 1
		 WHERE account_id = ? AND product_id = ? AND concurrent_used + ? < concurrent_seats`,
		k.account, k.product, ahead)
	if err != nil || n == 1 {
		return err
	}
	used, total, err := planNumbers(tx, "concurrent", k)
	if err != nil {
		return err
	}
	return &licensing.SharedSeatsInUseError{Product: licensing.Product{ID: k.product}, Occupied: used, Total: total}
}

// Session returns the account's session with the id, whatever its state,
// or ErrNotFound.
func (s *Store) Session(ctx context.Context, accountID, id string) (licensing.Session, error) {
	found, err := s.sessions(s.conn(ctx), "session",
		`SELECT `+sessionColumns+` FROM sessions WHERE account_id = ? AND id = ?`, accountID, id)
	if err != nil {
		return licensing.Session{}, err
	}
	if len(found) == 0 {
		return licensing.Session{}, fmt.Errorf("sqlstore: session: %w", licensing.ErrNotFound)
	}
	return found[0], nil
}

// TouchSession records a heartbeat (and with connect the connection) of
// an open session whose lease has not run out by now. An open session
// whose lease ran out is ended there and then, as expired at now, its
// seat freed and the event recorded as ExpireSessions does, and the
// answer is a *licensing.SessionEndedError with licensing.EndedByExpiry.
// ErrNotFound if the account has no such session (of the user, unless
// userID is ""); a *licensing.SessionEndedError if it has ended.
func (s *Store) TouchSession(ctx context.Context, accountID, userID, id string, connect bool, now, expiresAt time.Time) (licensing.Session, error) {
	where, args := sessionWhere(accountID, userID, id)
	args["now"], args["expires"], args["expired"] = s.timeArg(now), s.timeArg(expiresAt), string(licensing.EndedByExpiry)
	var touched licensing.Session
	err := s.tx(ctx, func(tx *gorm.DB) error {
		found, err := s.sessions(tx, "touch session", touchSQL(connect, where), args)
		if err != nil {
			return err
		}
		if len(found) == 0 {
			return s.sessionGone(tx, "touch session", accountID, userID, id)
		}
		touched = found[0]
		if touched.State != licensing.SessionEnded {
			return nil
		}
		changes := planChanges{}
		if err := s.releaseSeats(tx, found, changes, licensing.EndedByExpiry, "", now); err != nil {
			return err
		}
		return s.applyPlans(tx, changes, now)
	})
	switch {
	case err != nil:
		return licensing.Session{}, err
	case touched.State == licensing.SessionEnded:
		// Committed: the session ended here, and the caller is told so.
		return licensing.Session{}, &licensing.SessionEndedError{Reason: licensing.EndedByExpiry}
	}
	return touched, nil
}

// touchSQL is TouchSession's statement, with the named arguments now,
// expires, expired (the end reason) and those of where. It judges the
// lease on the row it updates (on PostgreSQL the newest version, after
// waiting for any lock), so that a heartbeat racing the reaper or another
// heartbeat never revives a session whose lease ran out: if expires_at <=
// now the session ends as expired at now, as the reaper ends it;
// otherwise the heartbeat, and with connect the connection, is recorded.
// Every expression reads the row as it was before the update.
func touchSQL(connect bool, where string) string {
	state, connectedAt := `state`, `connected_at`
	if connect {
		state, connectedAt = `'connected'`, `COALESCE(connected_at, @now)`
	}
	return `UPDATE sessions SET
		state = CASE WHEN expires_at <= @now THEN 'ended' ELSE ` + state + ` END,
		connected_at = CASE WHEN expires_at <= @now THEN connected_at ELSE ` + connectedAt + ` END,
		last_seen = CASE WHEN expires_at <= @now THEN last_seen ELSE @now END,
		expires_at = CASE WHEN expires_at <= @now THEN expires_at ELSE @expires END,
		ended_at = CASE WHEN expires_at <= @now THEN @now ELSE ended_at END,
		end_reason = CASE WHEN expires_at <= @now THEN @expired ELSE end_reason END
		WHERE ` + where + ` RETURNING ` + sessionColumns
}

// EndSession ends the open session and frees the user's seat if it held
// the user's last open session of a concurrent product. A session whose
// lease ran out by now ends as expired instead (judged on the row
// updated, as in touchSQL), as TouchSession ends it, and the answer is a
// *licensing.SessionEndedError with licensing.EndedByExpiry (unless that
// is the reason asked for). ErrNotFound if there is no such session; a
// *licensing.SessionEndedError if it had ended.
func (s *Store) EndSession(ctx context.Context, accountID, userID, id string, reason licensing.EndReason, actor string, now time.Time) (licensing.Session, error) {
	if err := checkText(actor); err != nil {
		return licensing.Session{}, fmt.Errorf("sqlstore: end session: %w", err)
	}
	where, args := sessionWhere(accountID, userID, id)
	args["now"], args["expired"], args["reason"], args["actor"] =
		s.timeArg(now), string(licensing.EndedByExpiry), string(reason), nullString(actor)
	var ended licensing.Session
	err := s.tx(ctx, func(tx *gorm.DB) error {
		found, err := s.sessions(tx, "end session",
			`UPDATE sessions SET state = 'ended', ended_at = @now,
			 end_reason = CASE WHEN expires_at <= @now THEN @expired ELSE @reason END,
			 ended_by = CASE WHEN expires_at <= @now THEN NULL ELSE @actor END
			 WHERE `+where+` RETURNING `+sessionColumns, args)
		if err != nil {
			return err
		}
		if len(found) == 0 {
			return s.sessionGone(tx, "end session", accountID, userID, id)
		}
		ended = found[0]
		changes := planChanges{}
		if err := s.releaseSeats(tx, found, changes, ended.EndReason, ended.EndedBy, now); err != nil {
			return err
		}
		return s.applyPlans(tx, changes, now)
	})
	switch {
	case err != nil:
		return licensing.Session{}, err
	case ended.EndReason == licensing.EndedByExpiry && reason != licensing.EndedByExpiry:
		// Committed: the lease had run out, and the caller is told so.
		return licensing.Session{}, &licensing.SessionEndedError{Reason: licensing.EndedByExpiry}
	}
	return ended, nil
}

// EndSeat ends every open session of the user's product, freeing the
// seat, and returns them by creation, with the audit entries stored in
// the same transaction. ErrNotFound if there is none.
func (s *Store) EndSeat(ctx context.Context, accountID, productID, userID string, reason licensing.EndReason, actor string, now time.Time, audit ...licensing.AuditEntry) ([]licensing.Session, error) {
	if err := checkText(actor); err != nil {
		return nil, fmt.Errorf("sqlstore: end seat: %w", err)
	}
	var ended []licensing.Session
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		ended, err = s.endOpenSessions(tx, "end seat", accountID, userID, []string{productID}, reason, actor, now)
		if err != nil {
			return err
		}
		if len(ended) == 0 {
			return fmt.Errorf("sqlstore: end seat: no open session: %w", licensing.ErrNotFound)
		}
		changes := planChanges{}
		if err := s.releaseSeats(tx, ended, changes, reason, actor, now); err != nil {
			return err
		}
		if err := s.recordAudit(tx, accountID, audit); err != nil {
			return err
		}
		return s.applyPlans(tx, changes, now)
	})
	if err != nil {
		return nil, err
	}
	return ended, nil
}

// ExpireSessions ends, as expired, up to limit open sessions of any
// account whose lease ran out by now, freeing their seats, and returns how
// many it ended. On PostgreSQL the sessions are picked with FOR UPDATE
// SKIP LOCKED, so that reapers running at once share the work and end
// each session once; on SQLite the reaper's write transaction runs alone.
func (s *Store) ExpireSessions(ctx context.Context, now time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	count := 0
	err := s.tx(ctx, func(tx *gorm.DB) error {
		ended, err := s.sessions(tx, "expire sessions", s.expireSQL(),
			s.timeArg(now), limit, s.timeArg(now), string(licensing.EndedByExpiry))
		if err != nil {
			return err
		}
		count = len(ended)
		changes := planChanges{}
		if err := s.releaseSeats(tx, ended, changes, licensing.EndedByExpiry, "", now); err != nil {
			return err
		}
		return s.applyPlans(tx, changes, now)
	})
	if err != nil {
		return 0, err
	}
	return count, nil
}

// expireSQL ends up to a number of open sessions whose lease ran out,
// picked through sessions_expiry_idx. MATERIALIZED: the locking pick runs
// once, whatever the plan.
func (s *Store) expireSQL() string {
	return `/* all accounts: sessions whose lease ran out end, whatever their account */ WITH picked AS MATERIALIZED (
		  SELECT account_id, id FROM sessions WHERE state <> 'ended' AND expires_at <= ?
		  ORDER BY expires_at LIMIT ?` + s.lock("FOR UPDATE SKIP LOCKED") + `)
		UPDATE sessions SET state = 'ended', ended_at = ?, end_reason = ?
		WHERE state <> 'ended' AND (account_id, id) IN (SELECT account_id, id FROM picked)
		RETURNING ` + sessionColumns
}

// OpenSessions lists the account's pending and connected sessions, of
// one product or (productID "") all, by creation.
func (s *Store) OpenSessions(ctx context.Context, accountID, productID string) ([]licensing.Session, error) {
	q := `SELECT ` + sessionColumns + ` FROM sessions WHERE account_id = ? AND state <> 'ended'`
	args := []any{accountID}
	if productID != "" {
		q += ` AND product_id = ?`
		args = append(args, productID)
	}
	return s.sessions(s.conn(ctx), "open sessions", q+` ORDER BY created_at, `+s.byteOrder("id"), args...)
}

// UserOpenSessions lists the user's pending and connected sessions, by
// creation.
func (s *Store) UserOpenSessions(ctx context.Context, accountID, userID string) ([]licensing.Session, error) {
	return s.sessions(s.conn(ctx), "user open sessions",
		`SELECT `+sessionColumns+` FROM sessions WHERE account_id = ? AND user_id = ? AND state <> 'ended' ORDER BY created_at, `+s.byteOrder("id"),
		accountID, userID)
}

// JoinQueue puts the user in the product's line, or gives them the place
// they have (see licensing.Seats). The unique index on (account, product,
// user) makes two joins of one user, racing in any processes, share one
// place. On PostgreSQL the joins of one line take turns on an advisory
// lock, so that the waiters are counted against maxWaiters exactly (SQLite
// runs one write transaction at a time anyway).
func (s *Store) JoinQueue(ctx context.Context, accountID, productID, userID string, now, expiresAt time.Time, maxWaiters int) (string, error) {
	if productID == "" {
		return "", fmt.Errorf("sqlstore: join queue: %w: no product", licensing.ErrInvalid)
	}
	if err := checkText(accountID, productID, userID); err != nil {
		return "", fmt.Errorf("sqlstore: join queue: %w", err)
	}
	line := "waiters/" + accountID + "/" + productID
	if s.dialect == DialectPostgres && maxWaiters > 0 {
		// The joins of this process take turns before they take a
		// connection, so that those waiting for the line's lock hold
		// one connection of the pool, not one each: a line of hundreds
		// of agents joining at once would hold them all, and the claims,
		// ends and refreshes that move the line would wait behind it.
		done, err := s.joins.take(ctx, line)
		if err != nil {
			return "", err
		}
		defer done()
	}
	lockTimeout, bounded := lockTimeout(ctx)
	ticket, xact := "", int64(0)
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if s.dialect == DialectPostgres {
			// The line's lock is held until the commit, which then waits
			// for no disk (see lazySQL). A join with a deadline waits for
			// locks no longer than its time (see lockTimeout).
			settings, args := lazySQL, []any{}
			if bounded {
				settings += `, set_config('lock_timeout', ?, true)`
				args = append(args, lockTimeout)
			}
			stmt := settings
			if maxWaiters > 0 {
				// The settings are made before the lock is waited for:
				// the outer select list is computed on the sub-select's
				// row, and PostgreSQL never merges a sub-select calling a
				// volatile function into the query around it.
				stmt = `SELECT pg_advisory_xact_lock(hashtextextended(?, 0)) FROM (` + settings + `) AS settings`
				args = append([]any{line}, args...)
			}
			if _, err := exec(tx, "join queue", stmt, args...); err != nil {
				return err
			}
		}
		// The user's own place, if its time ran out, goes: a join never
		// revives a dead ticket.
		if _, err := exec(tx, "join queue",
			`DELETE FROM waiters WHERE account_id = ? AND product_id = ? AND expires_at <= ?`,
			accountID, productID, s.timeArg(now)); err != nil {
			return err
		}
		// One statement, after the lock (on PostgreSQL its snapshot then
		// sees every join that held it before): the place is taken if
		// the user has one already (shared) or fewer than maxWaiters
		// others wait.
		full := `FALSE`
		args := []any{newTicket(), accountID, productID, userID, s.timeArg(now), s.timeArg(expiresAt)}
		if maxWaiters > 0 {
			full = `(SELECT COUNT(*) FROM waiters WHERE account_id = ? AND product_id = ? AND expires_at > ? AND user_id <> ?) >= ?
			 AND NOT EXISTS (SELECT 1 FROM waiters WHERE account_id = ? AND product_id = ? AND user_id = ?)`
			args = append(args, accountID, productID, s.timeArg(now), userID, maxWaiters, accountID, productID, userID)
		}
		found := false
		returning, into := `ticket`, []any{&ticket}
		if s.dialect == DialectPostgres {
			returning, into = `ticket, txid_current()`, append(into, &xact)
		}
		err := query(tx, "join queue",
			`INSERT INTO waiters (ticket, account_id, product_id, user_id, joined_at, expires_at)
			 SELECT ?, ?, ?, ?, ?, ? WHERE NOT (`+full+`)
			 ON CONFLICT (account_id, product_id, user_id) DO UPDATE
			 SET holders = waiters.holders + 1,
			     expires_at = CASE WHEN waiters.expires_at < excluded.expires_at THEN excluded.expires_at ELSE waiters.expires_at END
			 RETURNING `+returning,
			args,
			func(rows *sql.Rows) error {
				found = true
				return rows.Scan(into...)
			})
		if err == nil && !found {
			return fmt.Errorf("sqlstore: join queue: %w", licensing.ErrLineFull)
		}
		return err
	})
	if bounded && lockNotAvailable(err) {
		return "", fmt.Errorf("sqlstore: join queue: no place before the deadline: %w", context.DeadlineExceeded)
	}
	if err != nil && ticket != "" && xact != 0 && ctx.Err() != nil {
		s.undoJoin(ctx, accountID, ticket, xact)
	}
	if err != nil {
		return "", err
	}
	return ticket, nil
}

// undoJoinTime bounds the clean-up of a join cut short as it committed.
const undoJoinTime = time.Second

// undoJoin takes back a join that ctx cut short during its commit, on
// PostgreSQL (ticket from its transaction xact; SQLite commits whatever
// the context does). The commit may have been made nonetheless, its
// answer lost with the connection, and the join's place (or one more
// holder of a place its user shares) would then stand in line until it
// expires, ahead of others, for an agent told there was no place. It
// asks the database whether the transaction committed and, if it did,
// lets one holder of the ticket go: this join's. A leave made without
// asking would take the place from the user's other requests sharing it
// when the commit was not made. Best effort: failing, the place expires
// with its time.
func (s *Store) undoJoin(ctx context.Context, accountID, ticket string, xact int64) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), undoJoinTime)
	defer cancel()
	for {
		status := ""
		err := query(s.conn(ctx), "undo join", `SELECT COALESCE(txid_status(?), '')`, []any{xact},
			func(rows *sql.Rows) error { return rows.Scan(&status) })
		switch {
		case err != nil:
			s.log.Warn("a join cut short as it committed may hold a place in line until it expires", "ticket", ticket, "error", err)
			return
		case status == "committed":
			if err := s.LeaveQueue(ctx, accountID, ticket); err != nil {
				s.log.Warn("a join cut short as it committed holds a place in line until it expires", "ticket", ticket, "error", err)
			}
			return
		case status != "in progress": // aborted
			return
		}
		// The server has yet to end the transaction of the closed
		// connection.
		t := time.NewTimer(10 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// lockReserve is the part of a join's time that its wait for locks leaves
// to the rest of its transaction (see lockTimeout).
const lockReserve = 50 * time.Millisecond

// lockTimeout returns the lock_timeout setting that makes a transaction
// run with ctx stop waiting for a lock before ctx's deadline, and false if
// ctx has none. A query that ctx's deadline interrupts costs its
// connection (pgx closes it), and a waiting start's join may wait for the
// line's lock until its wait is up; ended by the database instead
// (lock_not_available), the wait leaves the connection usable. It ends
// lockReserve early, so that the rollback is over before the deadline
// too, and never waits less than a millisecond (a lock_timeout of 0 waits
// forever).
func lockTimeout(ctx context.Context) (string, bool) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return "", false
	}
	wait := max(time.Until(deadline)-lockReserve, time.Millisecond)
	return strconv.FormatInt(wait.Milliseconds(), 10) + "ms", true
}

// lineTurns gives turns to the joins of lines of waiters of one process,
// one at a time per line (lines are spread over a few turns by a hash of
// their name; two lines sharing one only take turns). The zero value is
// ready.
type lineTurns struct {
	once  sync.Once
	turns [16]chan struct{}
}

// take waits for the line's turn, or until ctx ends, and returns what
// gives the turn back.
func (l *lineTurns) take(ctx context.Context, line string) (func(), error) {
	l.once.Do(func() {
		for i := range l.turns {
			l.turns[i] = make(chan struct{}, 1)
		}
	})
	h := fnv.New32a()
	h.Write([]byte(line))
	turn := l.turns[h.Sum32()%uint32(len(l.turns))]
	select {
	case turn <- struct{}{}:
		return func() { <-turn }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("sqlstore: join queue: waiting for the line: %w", ctx.Err())
	}
}

// RefreshTicket keeps a live waiter live until expiresAt. ErrNotFound if
// the ticket is not in the account's line or its time ran out by now
// (the row, if not cleared yet, stays for JoinQueue to clear).
func (s *Store) RefreshTicket(ctx context.Context, accountID, ticket string, now, expiresAt time.Time) error {
	n, err := exec(s.conn(ctx), "refresh ticket",
		`UPDATE waiters SET expires_at = ?`+s.lazyFrom("FROM")+` WHERE account_id = ? AND ticket = ? AND expires_at > ?`,
		s.timeArg(expiresAt), accountID, ticket, s.timeArg(now))
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("sqlstore: refresh ticket: %w", licensing.ErrNotFound)
	}
	return nil
}

// LeaveQueue lets one holder of the ticket leave the account's line, if
// it is there. When the last holder leaves, the place goes: the waiters
// behind it move up, and the first ones are told if seats are free (see
// watch.go; LeaveQueue has no time: every waiter counts as live).
func (s *Store) LeaveQueue(ctx context.Context, accountID, ticket string) error {
	// A join racing the leave may add a holder between the two
	// statements: then the delete finds nothing, and the holder count
	// is taken down on the second round.
	for range 2 {
		n, err := exec(s.conn(ctx), "leave queue",
			`UPDATE waiters SET holders = holders - 1`+s.lazyFrom("FROM")+` WHERE account_id = ? AND ticket = ? AND holders > 1`, accountID, ticket)
		if err != nil || n > 0 {
			return err
		}
		if left, err := s.leaveLine(ctx, accountID, ticket); err != nil || left {
			return err
		}
	}
	return nil
}

// leaveLine deletes the ticket's place if its last holder is leaving. It
// reports whether it did; on PostgreSQL it may report false though it did
// (the statement counts notifications), and LeaveQueue's second round
// then finds nothing to do.
func (s *Store) leaveLine(ctx context.Context, accountID, ticket string) (bool, error) {
	if s.dialect == DialectPostgres {
		// One statement: the notification goes at its commit.
		n, err := exec(s.conn(ctx), "leave queue", leaveLineSQL, accountID, ticket, s.timeArg(time.Time{}), ticket, maxTickets)
		return n > 0, err
	}
	found := false
	err := s.tx(ctx, func(tx *gorm.DB) error {
		product := ""
		err := query(tx, "leave queue", `DELETE FROM waiters WHERE account_id = ? AND ticket = ? AND holders <= 1 RETURNING product_id`,
			[]any{accountID, ticket},
			func(rows *sql.Rows) error {
				found = true
				return rows.Scan(&product)
			})
		if err != nil || !found {
			return err
		}
		return s.seatsChanged(tx, accountID, product, time.Time{})
	})
	return found, err
}

// Waiting counts the live waiters of the account's product at now.
func (s *Store) Waiting(ctx context.Context, accountID, productID string, now time.Time) (int, error) {
	n := 0
	err := query(s.conn(ctx), "waiting",
		`SELECT COUNT(*) FROM waiters WHERE account_id = ? AND product_id = ? AND expires_at > ?`,
		[]any{accountID, productID, s.timeArg(now)},
		func(rows *sql.Rows) error { return rows.Scan(&n) })
	return n, err
}

// SeatEvents lists the account's seat events with from <= At < to, by
// time then id.
func (s *Store) SeatEvents(ctx context.Context, accountID string, from, to time.Time) ([]licensing.SeatEvent, error) {
	return s.seatEvents(s.conn(ctx), accountID, `at >= ? AND at < ?`, []any{accountID, s.timeArg(from), s.timeArg(to)})
}

// seatEvents lists the account's seat events that match where (args
// start with the account id), by time then id.
func (s *Store) seatEvents(db *gorm.DB, accountID, where string, args []any) ([]licensing.SeatEvent, error) {
	var out []licensing.SeatEvent
	err := query(db, "seat events",
		`SELECT id, product_id, user_id, session_id, kind, reason, actor, at FROM seat_events
		 WHERE account_id = ? AND `+where+` ORDER BY at, id`,
		args,
		func(rows *sql.Rows) error {
			e := licensing.SeatEvent{AccountID: accountID}
			var session, reason, actor sql.NullString
			var kind string
			var at dbTime
			if err := rows.Scan(&e.ID, &e.ProductID, &e.UserID, &session, &kind, &reason, &actor, &at); err != nil {
				return err
			}
			e.SessionID, e.Kind, e.Reason, e.Actor = session.String, licensing.SeatEventKind(kind), licensing.EndReason(reason.String), actor.String
			e.At = at.Time
			out = append(out, e)
			return nil
		})
	return out, err
}

// sessionWhere selects one open session of the account, of the user
// unless userID is "", with named arguments (gorm reads @name from a map):
// the statements that use it name the values they repeat. A name must be
// followed by a space, a comma, a parenthesis or a line end, not a tab.
func sessionWhere(accountID, userID, id string) (string, map[string]any) {
	where := `account_id = @account AND id = @id AND state <> 'ended'`
	args := map[string]any{"account": accountID, "id": id}
	if userID != "" {
		where += ` AND user_id = @user`
		args["user"] = userID
	}
	return where, args
}

// sessionGone tells why an update of an open session changed nothing:
// ErrNotFound if the account has no such session (of the user, unless
// userID is ""), a *licensing.SessionEndedError if it has ended.
func (s *Store) sessionGone(tx *gorm.DB, op, accountID, userID, id string) error {
	found := false
	var owner, state string
	var reason sql.NullString
	err := query(tx, op, `SELECT user_id, state, end_reason FROM sessions WHERE account_id = ? AND id = ?`,
		[]any{accountID, id},
		func(rows *sql.Rows) error {
			found = true
			return rows.Scan(&owner, &state, &reason)
		})
	switch {
	case err != nil:
		return err
	case !found || userID != "" && owner != userID:
		return fmt.Errorf("sqlstore: %s: %w", op, licensing.ErrNotFound)
	case licensing.SessionState(state) == licensing.SessionEnded:
		return &licensing.SessionEndedError{Reason: licensing.EndReason(reason.String)}
	}
	// Ended is final and the caller's update matched open sessions only.
	return fmt.Errorf("sqlstore: %s: session %s is open but was not updated", op, id)
}

// userOpenWhere selects the open sessions of a user's products (account,
// user, product ids), through sessions_open_idx.
const userOpenWhere = `account_id = ? AND user_id = ? AND product_id IN ? AND state <> 'ended'`

// endOpenSessions ends the user's open sessions of the products, in the
// caller's transaction, and returns them by creation. On PostgreSQL it
// locks them first, in id order, so that two writes ending the same
// sessions cannot deadlock.
func (s *Store) endOpenSessions(tx *gorm.DB, op, accountID, userID string, products []string,
	reason licensing.EndReason, actor string, at time.Time) ([]licensing.Session, error) {
	where := userOpenWhere
	args := []any{accountID, userID, products}
	if s.dialect == DialectPostgres {
		if _, err := exec(tx, op, `SELECT id FROM sessions WHERE `+where+` ORDER BY id FOR UPDATE`, args...); err != nil {
			return nil, err
		}
	}
	return s.sessions(tx, op,
		`UPDATE sessions SET state = 'ended', ended_at = ?, end_reason = ?, ended_by = ? WHERE `+where+` RETURNING `+sessionColumns,
		append([]any{s.timeArg(at), string(reason), nullString(actor)}, args...)...)
}

// seatKey names a concurrent seat.
type seatKey struct{ account, product, user string }

func compareSeats(a, b seatKey) int {
	return cmp.Or(strings.Compare(a.account, b.account), strings.Compare(a.product, b.product), strings.Compare(a.user, b.user))
}

// releaseSeats takes the ended sessions of concurrent licenses off their
// seats, in seat order: each seat's count of open sessions drops by the
// number of its sessions ended here (sessions started concurrently keep
// it), and a seat left with none is deleted, its plan counted down in
// changes and a seat event recorded (kind by the reason).
func (s *Store) releaseSeats(tx *gorm.DB, ended []licensing.Session, changes planChanges,
	reason licensing.EndReason, actor string, at time.Time) error {
	type hold struct {
		n     int
		first string
	}
	holds := map[seatKey]*hold{}
	for _, e := range ended {
		if e.License != licensing.LicenseConcurrent {
			continue
		}
		k := seatKey{e.AccountID, e.ProductID, e.UserID}
		if holds[k] == nil {
			holds[k] = &hold{first: e.ID}
		}
		holds[k].n++
	}
	for _, k := range slices.SortedFunc(maps.Keys(holds), compareSeats) {
		h := holds[k]
		left, found := 0, false
		err := query(tx, "release seat",
			`UPDATE seats SET open_sessions = open_sessions - ? WHERE account_id = ? AND product_id = ? AND user_id = ?
			 RETURNING open_sessions`,
			[]any{h.n, k.account, k.product, k.user},
			func(rows *sql.Rows) error {
				found = true
				return rows.Scan(&left)
			})
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("sqlstore: release seat: sessions of %s/%s/%s held no seat", k.account, k.product, k.user)
		}
		if left > 0 {
			continue
		}
		if _, err := exec(tx, "release seat",
			`DELETE FROM seats WHERE account_id = ? AND product_id = ? AND user_id = ?`,
			k.account, k.product, k.user); err != nil {
			return err
		}
		changes.add(k.account, k.product).concurrent--
		if err := s.recordEvent(tx, licensing.SeatEvent{
			AccountID: k.account, ProductID: k.product, UserID: k.user, SessionID: h.first,
			Kind: releaseKind(reason), Reason: reason, Actor: actor, At: at,
		}); err != nil {
			return err
		}
	}
	return nil
}

// releaseKind is the kind of the seat event of a release for the reason.
func releaseKind(r licensing.EndReason) licensing.SeatEventKind {
	switch r {
	case licensing.EndedByExpiry:
		return licensing.SeatExpired
	case licensing.EndedByAdmin:
		return licensing.SeatEnded
	}
	return licensing.SeatReleased
}

// recordEvent stores a seat event, told to the observer once committed
// (see recorded).
func (s *Store) recordEvent(db *gorm.DB, e licensing.SeatEvent) error {
	return s.insertEvent(db, e, "")
}

// recordDenial stores a denied event in a transaction of its own (or a
// statement: on PostgreSQL db may be outside any), which commits without
// waiting for the disk (see lazySQL).
func (s *Store) recordDenial(db *gorm.DB, e licensing.SeatEvent) error {
	return s.insertEvent(db, e, s.lazyFrom("FROM"))
}

// insertEvent stores a seat event, selecting its values from from ("" or
// a lazyFrom item).
func (s *Store) insertEvent(db *gorm.DB, e licensing.SeatEvent, from string) error {
	_, err := exec(db, "record seat event",
		`INSERT INTO seat_events (account_id, product_id, user_id, session_id, kind, reason, actor, at)
		 SELECT ?, ?, ?, ?, ?, ?, ?, ?`+from,
		e.AccountID, e.ProductID, e.UserID, nullString(e.SessionID), string(e.Kind), nullString(string(e.Reason)),
		nullString(e.Actor), s.timeArg(e.At))
	if err == nil {
		err = s.unseal(db, e.At)
	}
	if err == nil {
		s.recorded(db, e)
	}
	return err
}

// sessions runs a query (or an UPDATE ... RETURNING) of sessionColumns
// and returns the sessions by creation, then id.
func (s *Store) sessions(db *gorm.DB, op, q string, args ...any) ([]licensing.Session, error) {
	var out []licensing.Session
	err := query(db, op, q, args, func(rows *sql.Rows) error {
		var e licensing.Session
		var license, state, platform string
		var reason, endedBy sql.NullString
		var created, connected, seen, expires, ended dbTime
		if err := rows.Scan(&e.AccountID, &e.ID, &e.ProductID, &e.UserID, &license, &state, &e.Attended, &platform,
			&created, &connected, &seen, &expires, &ended, &reason, &endedBy); err != nil {
			return err
		}
		e.License, e.State, e.Platform = licensing.LicenseType(license), licensing.SessionState(state), licensing.Platform(platform)
		e.CreatedAt, e.ConnectedAt, e.LastSeen, e.ExpiresAt, e.EndedAt = created.Time, connected.ptr(), seen.Time, expires.Time, ended.ptr()
		e.EndReason, e.EndedBy = licensing.EndReason(reason.String), endedBy.String
		out = append(out, e)
		return nil
	})
	slices.SortStableFunc(out, func(a, b licensing.Session) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
	})
	return out, err
}

// newTicket returns a random ticket for the line of waiters.
func newTicket() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b[:])
}
