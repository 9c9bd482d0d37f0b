package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimd/scimd/licensing"
)

// TestJoinOutOfTimeKeepsItsConnection holds a line's lock from another
// connection while an agent joins the line with a deadline, as a waiting
// start does, and checks that the join fails as its deadline's (no place
// in time), not as an unavailable database, that no outage is reported,
// and that the store's one connection survives: the wait for the lock is
// ended by the database (lock_timeout), not by pgx interrupting the query,
// which closes the connection.
func TestJoinOutOfTimeKeepsItsConnection(t *testing.T) {
	s := openPostgres(t)
	bg := context.Background()
	a, users := accountWithUsers(t, s, 1)
	now := time.Now()
	var outages atomic.Int32
	s.OnUnavailable(func(error) { outages.Add(1) })
	// One connection: the query after the join runs on the join's
	// connection if it survived, on a new one (another backend) if not.
	s.sqlDB.SetMaxOpenConns(1)
	backend := func() int {
		t.Helper()
		pid := 0
		if err := s.sqlDB.QueryRowContext(bg, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
			t.Fatal(err)
		}
		return pid
	}
	before := backend()

	other, err := sql.Open("pgx", postgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	other.SetMaxOpenConns(1) // the unlock below runs on the locking connection
	const product = "remote-support-v5"
	line := "waiters/" + a.ID + "/" + product
	if _, err := other.ExecContext(bg, `SELECT pg_advisory_lock(hashtextextended($1, 0))`, line); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := licensing.WithChosenTimeout(bg, 300*time.Millisecond)
	defer cancel()
	_, err = s.JoinQueue(ctx, a.ID, product, users[0], now, now.Add(time.Minute), 1000)
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, licensing.ErrUnavailable) {
		t.Errorf("join held up by the line's lock past its deadline: %v, want its deadline's error, not ErrUnavailable", err)
	}
	if n := outages.Load(); n != 0 {
		t.Errorf("%d outages reported for a join out of time", n)
	}
	if after := backend(); after != before {
		t.Errorf("the join's connection (backend %d) was closed; the next query ran on backend %d", before, after)
	}
	if _, err := other.ExecContext(bg, `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, line); err != nil {
		t.Fatal(err)
	}
	if _, err := s.JoinQueue(bg, a.ID, product, users[0], now, now.Add(time.Minute), 1000); err != nil {
		t.Errorf("join once the lock is free: %v", err)
	}
}
