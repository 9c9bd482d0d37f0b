package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver, to find and end the listener's connection

	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/storage/sqlstore"
)

// These tests prove that a waiter is woken by the store, not by its
// polling: the waiters poll once a minute and give up after a few
// seconds, so only a seat change told by the store lets them in.

const (
	rs5      = "remote-support-v5"
	slowPoll = time.Minute
	shortMax = 4 * time.Second
)

// watchFixture is an account with a one-seat plan of rs5 and agents
// holding it as concurrent, and Agents that watch the store's seat
// changes and poll once a minute.
type watchFixture struct {
	store  *sqlstore.Store
	agents *licensing.Agents
	acct   licensing.Account
	users  map[string]licensing.User
}

func newWatchFixture(t *testing.T, store *sqlstore.Store, names ...string) *watchFixture {
	t.Helper()
	ctx := context.Background()
	f := &watchFixture{store: store, users: map[string]licensing.User{}}
	f.acct, _ = testenv.Account(t, store)
	if err := store.SetPlan(ctx, licensing.Plan{AccountID: f.acct.ID, ProductID: rs5, ConcurrentSeats: 1}); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		now := time.Now()
		u := licensing.User{AccountID: f.acct.ID, ID: licensing.NewID(), UserName: name, Active: true, Doc: []byte(`{}`),
			Created: now, LastModified: now, Version: 1, Assignments: licensing.Assignments{rs5: licensing.LicenseConcurrent}}
		if err := store.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		f.users[name] = u
	}
	f.agents = licensing.NewAgents(store, licensing.SystemClock{}, licensing.DefaultCatalog(),
		// Sessions expire (for the reaper) within the waiters' tickets'
		// time to live (4 polls).
		licensing.AgentConfig{Poll: slowPoll, MaxWait: shortMax, KeyLifetime: slowPoll}, nil)
	if err := f.agents.Watch(t.Context()); err != nil {
		t.Fatal(err)
	}
	return f
}

// start starts a session of rs5 for the user without waiting.
func (f *watchFixture) start(t *testing.T, name string) licensing.Session {
	t.Helper()
	s, err := f.agents.Start(context.Background(), f.acct.ID, f.users[name].ID,
		licensing.StartRequest{ProductID: rs5, Platform: licensing.PlatformWindows})
	if err != nil {
		t.Fatalf("%s starts: %v", name, err)
	}
	return s
}

// waitFor starts a waiting session for the user, waits until the store
// has inLine waiters (the user among them), and returns the outcome.
func (f *watchFixture) waitFor(t *testing.T, name string, inLine int) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := f.agents.Start(context.Background(), f.acct.ID, f.users[name].ID,
			licensing.StartRequest{ProductID: rs5, Platform: licensing.PlatformMac, Wait: shortMax})
		done <- err
	}()
	for deadline := time.Now().Add(shortMax); ; {
		n, err := f.store.Waiting(context.Background(), f.acct.ID, rs5, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if n == inLine {
			return done
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not in line: %d waiting, want %d", name, n, inLine)
		}
		select {
		case err := <-done:
			t.Fatalf("%s did not wait: %v", name, err)
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// gotSeat checks that the waiter got its seat.
func gotSeat(t *testing.T, name string, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s was not woken (waiters poll once a minute): %v", name, err)
		}
	case <-time.After(2 * shortMax):
		t.Fatalf("%s still waiting after its deadline", name)
	}
}

// TestWaiterWokenBySeatChange checks, on each backend, that every way of
// letting a waiter in wakes it at once through the store's seat changes:
// the holder's session ended, the seat ended by an admin, the session
// expired by the reaper, the holder deactivated, the plan grown, and a
// waiter ahead leaving the line.
func TestWaiterWokenBySeatChange(t *testing.T) {
	cases := []struct {
		name string
		// release lets bob in; ann holds the seat (her session), unless
		// free: then the seat is free and a ticket is ahead of bob.
		release func(t *testing.T, f *watchFixture, held licensing.Session, ahead string)
		free    bool
	}{
		{name: "holder ends", release: func(t *testing.T, f *watchFixture, held licensing.Session, _ string) {
			if _, err := f.store.EndSession(context.Background(), f.acct.ID, held.UserID, held.ID, licensing.EndedByAgent, "", time.Now()); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "admin ends the seat", release: func(t *testing.T, f *watchFixture, held licensing.Session, _ string) {
			if _, err := f.store.EndSeat(context.Background(), f.acct.ID, rs5, held.UserID, licensing.EndedByAdmin, "", time.Now()); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "reaper expires", release: func(t *testing.T, f *watchFixture, held licensing.Session, _ string) {
			// (Earlier cases' sessions on this database expire too.)
			if n, err := f.store.ExpireSessions(context.Background(), held.ExpiresAt, 100); err != nil || n < 1 {
				t.Fatalf("reaper ended %d: %v", n, err)
			}
		}},
		{name: "holder deactivated", release: func(t *testing.T, f *watchFixture, held licensing.Session, _ string) {
			ctx := context.Background()
			u, err := f.store.User(ctx, f.acct.ID, held.UserID)
			if err != nil {
				t.Fatal(err)
			}
			u.Active, u.Version, u.LastModified = false, u.Version+1, time.Now()
			if err := f.store.ReplaceUser(ctx, u, u.Version-1); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "plan grows", release: func(t *testing.T, f *watchFixture, _ licensing.Session, _ string) {
			if err := f.store.SetPlan(context.Background(), licensing.Plan{AccountID: f.acct.ID, ProductID: rs5, ConcurrentSeats: 2}); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "waiter ahead leaves", free: true, release: func(t *testing.T, f *watchFixture, _ licensing.Session, ahead string) {
			if err := f.store.LeaveQueue(context.Background(), f.acct.ID, ahead); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, b := range testenv.IsolatedBackends(t) {
		t.Run(b.Name, func(t *testing.T) {
			store := b.Open(t)
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					f := newWatchFixture(t, store, "ann", "bob", "cyd")
					var held licensing.Session
					ahead, inLine := "", 1
					if c.free {
						// cyd's ticket, joined first and never refreshed
						// for an hour, keeps bob out of the free seat.
						now := time.Now()
						var err error
						if ahead, err = store.JoinQueue(context.Background(), f.acct.ID, rs5, f.users["cyd"].ID, now, now.Add(time.Hour), 0); err != nil {
							t.Fatal(err)
						}
						inLine = 2
					} else {
						held = f.start(t, "ann")
					}
					done := f.waitFor(t, "bob", inLine)
					c.release(t, f, held, ahead)
					gotSeat(t, "bob", done)
				})
			}
		})
	}
}

// TestWaiterWokenAcrossStores checks that a seat freed through one
// store wakes the waiter of another on the same PostgreSQL database, as
// with two scimd replicas: bob waits through store A, ann's session ends
// through store B.
func TestWaiterWokenAcrossStores(t *testing.T) {
	url := isolatedPostgres(t)
	a, b := openURL(t, url), openURL(t, url)
	f := newWatchFixture(t, a, "ann", "bob")
	held := f.start(t, "ann")
	done := f.waitFor(t, "bob", 1)
	if _, err := b.EndSession(context.Background(), f.acct.ID, held.UserID, held.ID, licensing.EndedByAgent, "", time.Now()); err != nil {
		t.Fatal(err)
	}
	gotSeat(t, "bob", done)
}

// TestListenerSurvivesDroppedConnection checks that the store listens
// again after its listening connection is ended (pg_terminate_backend,
// as a failover or an idle-connection killer would): a seat freed
// afterwards still wakes the waiter.
func TestListenerSurvivesDroppedConnection(t *testing.T) {
	url := isolatedPostgres(t)
	store := openURL(t, url)
	f := newWatchFixture(t, store, "ann", "bob")
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })

	first := listenerPID(t, db, 0)
	var ended bool
	if err := db.QueryRow(`SELECT pg_terminate_backend($1)`, first).Scan(&ended); err != nil || !ended {
		t.Fatalf("terminate listener %d: %v %v", first, ended, err)
	}
	second := listenerPID(t, db, first)
	t.Logf("listener %d ended, %d listens now", first, second)

	held := f.start(t, "ann")
	done := f.waitFor(t, "bob", 1)
	if _, err := store.EndSession(context.Background(), f.acct.ID, held.UserID, held.ID, licensing.EndedByAgent, "", time.Now()); err != nil {
		t.Fatal(err)
	}
	gotSeat(t, "bob", done)
}

// listenerPID waits for the store's listening connection to this
// database, other than the backend not, to have LISTENed, and returns its
// process id.
func listenerPID(t *testing.T, db *sql.DB, not int) int {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		var pid int
		err := db.QueryRow(`SELECT pid FROM pg_stat_activity
			WHERE datname = current_database() AND application_name = $1 AND pid <> $2 AND query LIKE 'LISTEN%'`,
			sqlstore.ListenerName, not).Scan(&pid)
		switch {
		case err == nil:
			return pid
		case !errors.Is(err, sql.ErrNoRows):
			t.Fatal(err)
		case time.Now().After(deadline):
			t.Fatalf("no listener (other than %d) on the database", not)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// isolatedPostgres returns a database of the test's own: the tests that
// end connections must not end those of other tests.
func isolatedPostgres(t *testing.T) string {
	t.Helper()
	for _, b := range testenv.Backends(t) {
		if b.Name == "postgres" {
			return testenv.IsolatedPostgresURL(t)
		}
	}
	t.Skipf("%s not set", testenv.PostgresEnv)
	return ""
}

// openURL opens and migrates a store, closed when the test ends.
func openURL(t *testing.T, url string) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(url, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}
