package sqlstore

import (
	"context"
	"database/sql"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/licensing"
)

// accountWithUsers creates an account with n active users and returns it
// and the users' ids.
func accountWithUsers(t *testing.T, s *Store, n int) (licensing.Account, []string) {
	t.Helper()
	bg := context.Background()
	a := licensing.Account{ID: licensing.NewID(), Name: "line-" + randomHex(6), CreatedAt: time.Now()}
	if err := s.CreateAccount(bg, a); err != nil {
		t.Fatal(err)
	}
	users := make([]string, n)
	for i := range users {
		now := time.Now()
		u := licensing.User{AccountID: a.ID, ID: licensing.NewID(), UserName: "u-" + randomHex(8), Active: true,
			Doc: []byte(`{}`), Created: now, LastModified: now, Version: 1}
		if err := s.CreateUser(bg, u); err != nil {
			t.Fatal(err)
		}
		users[i] = u.ID
	}
	return a, users
}

// TestJoinsWaitingForTheLineHoldOneConnection holds a line's lock from
// another connection while more agents join the line than the store's
// pool has connections, and checks that the store still answers: the
// joins of one process wait for the line's lock one at a time, not one per
// connection of the pool. Once the lock is let go, every join gets its
// place.
func TestJoinsWaitingForTheLineHoldOneConnection(t *testing.T) {
	s := openPostgres(t)
	bg := context.Background()
	const joiners = 40 // more than the pool's 25 connections
	a, users := accountWithUsers(t, s, joiners)

	other, err := sql.Open("pgx", postgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	holder, err := other.Conn(bg)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	const product = "remote-support-v5"
	lockSQL := `SELECT pg_advisory_lock(hashtextextended($1, 0))`
	if _, err := holder.ExecContext(bg, lockSQL, "waiters/"+a.ID+"/"+product); err != nil {
		t.Fatal(err)
	}
	unlocked := false
	unlock := func() {
		if !unlocked {
			unlocked = true
			if _, err := holder.ExecContext(bg, `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, "waiters/"+a.ID+"/"+product); err != nil {
				t.Error(err)
			}
		}
	}
	defer unlock()

	var wg sync.WaitGroup
	errs := make(chan error, joiners)
	t0 := time.Now()
	for _, u := range users {
		wg.Go(func() {
			_, err := s.JoinQueue(bg, a.ID, product, u, t0, t0.Add(time.Minute), 1000)
			errs <- err
		})
	}
	// Until the joins reached the lock, and a while after.
	deadline := time.Now().Add(10 * time.Second)
	for waiting := 0; waiting == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if err := other.QueryRowContext(bg, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(200 * time.Millisecond)

	ctx, cancel := context.WithTimeout(bg, 3*time.Second)
	_, err = s.Usage(ctx, a.ID)
	cancel()
	if err != nil {
		t.Errorf("the store did not answer while %d joins waited for the line's lock: %v", joiners, err)
	}
	unlock()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("join: %v", err)
		}
	}
	if n, err := s.Waiting(bg, a.ID, product, t0); err != nil || n != joiners {
		t.Errorf("Waiting = %d (%v), want %d", n, err, joiners)
	}
}
