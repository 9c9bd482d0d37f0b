package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/scimd/scimd/licensing"
)

// scimdPoolPerReplica is how many PostgreSQL connections one scimd keeps
// open at most (sqlstore.Open): the raw-SQL baseline gets as many as the
// replicas together, so that both sides of the ratio have the same
// number of connections.
const scimdPoolPerReplica = 25

// rawSeatsTables are the scratch tables of the baseline, in a schema of
// its own (%[1]s): the columns, keys and indexes of scimd's plans, seats
// and sessions (migration 0002) that a claim and a release touch, without
// the foreign keys to users and accounts.
var rawSeatsTables = []string{
	`CREATE SCHEMA %[1]s`, // runID makes the name of hex digits: no quoting needed
	`CREATE TABLE %[1]s.plans (
	    account_id       text NOT NULL,
	    product_id       text NOT NULL,
	    concurrent_seats integer NOT NULL CHECK (concurrent_seats >= 0),
	    concurrent_used  integer NOT NULL DEFAULT 0 CHECK (concurrent_used >= 0),
	    PRIMARY KEY (account_id, product_id))`,
	`CREATE TABLE %[1]s.seats (
	    account_id    text NOT NULL,
	    product_id    text NOT NULL,
	    user_id       text NOT NULL,
	    open_sessions integer NOT NULL CHECK (open_sessions >= 0),
	    since         timestamptz NOT NULL,
	    PRIMARY KEY (account_id, product_id, user_id))`,
	`CREATE INDEX ON %[1]s.seats (account_id, user_id)`,
	`CREATE TABLE %[1]s.sessions (
	    account_id   text NOT NULL,
	    id           text NOT NULL,
	    product_id   text NOT NULL,
	    user_id      text NOT NULL,
	    license      text NOT NULL,
	    state        text NOT NULL CHECK (state IN ('pending', 'connected', 'ended')),
	    attended     boolean NOT NULL,
	    platform     text NOT NULL,
	    created_at   timestamptz NOT NULL,
	    connected_at timestamptz,
	    last_seen    timestamptz NOT NULL,
	    expires_at   timestamptz NOT NULL,
	    ended_at     timestamptz,
	    end_reason   text,
	    ended_by     text,
	    PRIMARY KEY (account_id, id))`,
	`CREATE INDEX ON %[1]s.sessions (account_id, user_id, product_id) WHERE state <> 'ended'`,
	`CREATE INDEX ON %[1]s.sessions (expires_at) WHERE state <> 'ended'`,
}

// The baseline's statements, as sqlstore's StartSession, TouchSession
// and EndSession write them for a concurrent license (%[1]s is the
// schema). Left out, as scimd's own cost: the token lookup, the user and
// assignment reads, the line of waiters, the seat events, the reads of
// the plan after a refusal and the denial's own transaction.
const (
	rawTakeSeat = `INSERT INTO %[1]s.seats (account_id, product_id, user_id, open_sessions, since) VALUES ($1, $2, $3, 1, $4)
		ON CONFLICT (account_id, product_id, user_id) DO UPDATE SET open_sessions = seats.open_sessions + 1
		RETURNING open_sessions`
	rawTakePlan = `UPDATE %[1]s.plans SET concurrent_used = concurrent_used + 1
		WHERE account_id = $1 AND product_id = $2 AND concurrent_used < concurrent_seats`
	rawInsertSession = `INSERT INTO %[1]s.sessions (account_id, id, product_id, user_id, license, state, attended, platform,
		created_at, connected_at, last_seen, expires_at)
		VALUES ($1, $2, $3, $4, 'concurrent', 'pending', true, 'windows', $5, NULL, $5, $6)`
	rawConnect = `UPDATE %[1]s.sessions SET state = 'connected', connected_at = COALESCE(connected_at, $3), last_seen = $3, expires_at = $4
		WHERE account_id = $1 AND id = $2 AND state <> 'ended'`
	rawHeartbeat = `UPDATE %[1]s.sessions SET last_seen = $3, expires_at = $4
		WHERE account_id = $1 AND id = $2 AND state <> 'ended'`
	rawEndSession = `UPDATE %[1]s.sessions SET state = 'ended', ended_at = $3, end_reason = 'agent', ended_by = NULL
		WHERE account_id = $1 AND id = $2 AND state <> 'ended' RETURNING user_id, product_id`
	rawLeaveSeat = `UPDATE %[1]s.seats SET open_sessions = open_sessions - 1
		WHERE account_id = $1 AND product_id = $2 AND user_id = $3 RETURNING open_sessions`
	rawDeleteSeat = `DELETE FROM %[1]s.seats WHERE account_id = $1 AND product_id = $2 AND user_id = $3`
	rawFreePlan   = `UPDATE %[1]s.plans SET concurrent_used = concurrent_used - 1 WHERE account_id = $1 AND product_id = $2`
	rawReadPlan   = `SELECT concurrent_used, concurrent_seats FROM %[1]s.plans WHERE account_id = $1 AND product_id = $2`
)

// rawSeats is the raw-SQL baseline of the seats scenario: the seat cycle
// on scratch tables in the servers' PostgreSQL.
type rawSeats struct {
	db        *sql.DB
	conns     int
	schema    string
	accountID string
	product   string
	// q holds the statements with the schema filled in.
	q struct {
		takeSeat, takePlan, insertSession, connect, heartbeat, endSession, leaveSeat, deleteSeat, freePlan, readPlan string
	}
	// The agent use cases' defaults, which the servers run with: how long
	// a pending and a connected session hold their seat, and how often a
	// waiting start tries again.
	keyLifetime, lease, poll time.Duration
}

// openRawSeats connects with up to conns connections and makes the
// scratch tables with a plan of --seats seats.
func openRawSeats(ctx context.Context, c seatsConfig, conns int) (*rawSeats, error) {
	db, err := openPostgres(c.baselineSQL, conns)
	if err != nil {
		return nil, err
	}
	defaults := licensing.NewAgents(nil, nil, licensing.Catalog{}, licensing.AgentConfig{}, nil).Config()
	r := &rawSeats{db: db, conns: conns, schema: "scimload_seats_" + runID(), accountID: licensing.NewID(), product: c.product,
		keyLifetime: defaults.KeyLifetime, lease: defaults.Lease, poll: defaults.Poll}
	for _, q := range []struct {
		to   *string
		stmt string
	}{
		{&r.q.takeSeat, rawTakeSeat}, {&r.q.takePlan, rawTakePlan}, {&r.q.insertSession, rawInsertSession},
		{&r.q.connect, rawConnect}, {&r.q.heartbeat, rawHeartbeat}, {&r.q.endSession, rawEndSession},
		{&r.q.leaveSeat, rawLeaveSeat}, {&r.q.deleteSeat, rawDeleteSeat}, {&r.q.freePlan, rawFreePlan}, {&r.q.readPlan, rawReadPlan},
	} {
		*q.to = fmt.Sprintf(q.stmt, r.schema)
	}
	for _, stmt := range rawSeatsTables {
		if _, err := db.ExecContext(ctx, fmt.Sprintf(stmt, r.schema)); err != nil {
			r.close()
			return nil, fmt.Errorf("baseline database: make the scratch tables: %w", err)
		}
	}
	if _, err := db.ExecContext(ctx, fmt.Sprintf(`INSERT INTO %s.plans (account_id, product_id, concurrent_seats) VALUES ($1, $2, $3)`, r.schema),
		r.accountID, r.product, c.seats); err != nil {
		r.close()
		return nil, fmt.Errorf("baseline database: %w", err)
	}
	return r, nil
}

// fit caps the baseline's connections at what PostgreSQL has left now:
// max_connections less the reserved ones, those open (the servers' idle
// pools among them) and a few for others. It returns a note if it had
// to lower them.
func (r *rawSeats) fit(ctx context.Context) (string, error) {
	var limit, reserved, open int
	err := r.db.QueryRowContext(ctx, `SELECT current_setting('max_connections')::int, current_setting('superuser_reserved_connections')::int,
		(SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')`).Scan(&limit, &reserved, &open)
	if err != nil {
		return "", fmt.Errorf("baseline database: %w", err)
	}
	const spare = 5
	// The pool holds one of the open connections already.
	room := max(limit-reserved-open-spare+1, 1)
	if room >= r.conns {
		return "", nil
	}
	note := fmt.Sprintf("raw SQL ran on %d connections instead of %d: PostgreSQL's max_connections is %d and %d were open (the servers' pools among them)",
		room, r.conns, limit, open)
	r.conns = room
	r.db.SetMaxOpenConns(room)
	r.db.SetMaxIdleConns(room)
	return note, nil
}

// close drops the scratch schema and disconnects.
func (r *rawSeats) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r.db.ExecContext(ctx, `DROP SCHEMA IF EXISTS `+r.schema+` CASCADE`)
	r.db.Close()
}

// what describes the baseline for the report.
func (r *rawSeats) what(c seatsConfig) string {
	wait := fmt.Sprintf("a refused claim pauses %s and tries again", c.retryPause)
	if c.wait > 0 {
		wait = fmt.Sprintf("a refused claim tries again every %s for up to %ds (as the server's wait polls, but with no line of waiters), then pauses %s", r.poll, c.wait, c.retryPause)
	}
	return fmt.Sprintf("raw SQL: %d workers on %d connections, same PostgreSQL, scratch tables (schema %s, dropped): claim transaction "+
		"(seat row upsert, conditional UPDATE of the plan counter, session INSERT), connect and heartbeat UPDATEs, hold %s, "+
		"release transaction (end session, decrement or delete the seat row, decrement the counter); %s; "+
		"without scimd's token lookups, user and assignment reads, line of waiters and seat events",
		c.agents, r.conns, r.schema, c.hold, wait)
}

// holdsAccount says whether the baseline database holds the account: it
// is then the servers' database.
func (r *rawSeats) holdsAccount(ctx context.Context, accountID string) bool {
	found := false
	err := r.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM accounts WHERE id = $1)`, accountID).Scan(&found)
	return err == nil && found
}

// agents returns a worker per agent, each a user of its own.
func (r *rawSeats) agents(c seatsConfig) []seatDriver {
	out := make([]seatDriver, c.agents)
	for i := range out {
		out[i] = rawAgent{r: r, userID: licensing.NewID(), wait: time.Duration(c.wait) * time.Second}
	}
	return out
}

// read reads the plan counter.
func (r *rawSeats) read(ctx context.Context) (seatReading, result) {
	var s seatReading
	t0 := time.Now()
	err := r.db.QueryRowContext(ctx, r.q.readPlan, r.accountID, r.product).Scan(&s.occupied, &s.total)
	if err != nil {
		return s, sqlResult(ctx, err)
	}
	return s, result{took: time.Since(t0)}
}

// sqlResult is the result of a failed statement.
func sqlResult(ctx context.Context, err error) result {
	if ctx.Err() != nil {
		return result{cut: true}
	}
	return result{class: errSQL, detail: err.Error()}
}

// errGone is a session the baseline ended already or never had.
var errGone = errors.New("no such open session")

// rawAgent is one worker of the baseline.
type rawAgent struct {
	r      *rawSeats
	userID string
	wait   time.Duration
}

func (a rawAgent) start(ctx context.Context) (string, bool, result) {
	t0 := time.Now()
	deadline := t0.Add(a.wait)
	for {
		id, denied, err := a.r.claim(ctx, a.userID)
		switch {
		case err != nil:
			return "", false, sqlResult(ctx, err)
		case !denied:
			return id, false, result{took: time.Since(t0)}
		case a.wait <= 0:
			return "", true, result{took: time.Since(t0)}
		}
		pause(ctx, a.r.poll)
		if ctx.Err() != nil {
			return "", false, result{cut: true}
		}
		if !time.Now().Before(deadline) {
			return "", true, result{took: time.Since(t0)}
		}
	}
}

// claim is the claim transaction: it takes the user's seat and stores a
// pending session, or reports a denial (rolled back) when the plan has no
// seat free.
func (r *rawSeats) claim(ctx context.Context, userID string) (id string, denied bool, err error) {
	now := time.Now()
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return "", false, err
	}
	defer tx.Rollback()
	open := 0
	if err := tx.QueryRowContext(ctx, r.q.takeSeat, r.accountID, r.product, userID, now).Scan(&open); err != nil {
		return "", false, err
	}
	if open == 1 {
		res, err := tx.ExecContext(ctx, r.q.takePlan, r.accountID, r.product)
		if err != nil {
			return "", false, err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return "", err == nil, err
		}
	}
	id = licensing.NewID()
	if _, err := tx.ExecContext(ctx, r.q.insertSession, r.accountID, id, r.product, userID, now, now.Add(r.keyLifetime)); err != nil {
		return "", false, err
	}
	return id, false, tx.Commit()
}

func (a rawAgent) connect(ctx context.Context, id string) result {
	return a.r.touch(ctx, a.r.q.connect, id)
}

func (a rawAgent) heartbeat(ctx context.Context, id string) result {
	return a.r.touch(ctx, a.r.q.heartbeat, id)
}

// touch runs the connect or heartbeat UPDATE of an open session.
func (r *rawSeats) touch(ctx context.Context, stmt, id string) result {
	t0 := time.Now()
	now := time.Now()
	res, err := r.db.ExecContext(ctx, stmt, r.accountID, id, now, now.Add(r.lease))
	if err == nil {
		if n, nerr := res.RowsAffected(); nerr != nil || n != 1 {
			err = orGone(nerr)
		}
	}
	if err != nil {
		return sqlResult(ctx, err)
	}
	return result{took: time.Since(t0)}
}

func (a rawAgent) end(ctx context.Context, id string) result {
	t0 := time.Now()
	if err := a.r.release(ctx, id); err != nil {
		return sqlResult(ctx, err)
	}
	return result{took: time.Since(t0)}
}

// release is the release transaction: it ends the session and frees the
// user's seat if that was the user's last open session.
func (r *rawSeats) release(ctx context.Context, id string) error {
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var user, product string
	if err := tx.QueryRowContext(ctx, r.q.endSession, r.accountID, id, time.Now()).Scan(&user, &product); err != nil {
		return orGone(err)
	}
	left := 0
	if err := tx.QueryRowContext(ctx, r.q.leaveSeat, r.accountID, product, user).Scan(&left); err != nil {
		return err
	}
	if left == 0 {
		if _, err := tx.ExecContext(ctx, r.q.deleteSeat, r.accountID, product, user); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, r.q.freePlan, r.accountID, product); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// orGone turns "no rows" (or no error where a row was due) into errGone.
func orGone(err error) error {
	if err == nil || errors.Is(err, sql.ErrNoRows) {
		return errGone
	}
	return err
}
