package licensing_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
)

// joinSpy tells the tickets JoinQueue hands out.
type joinSpy struct {
	licensing.Store
	joins chan string
}

func (s *joinSpy) JoinQueue(ctx context.Context, accountID, productID, userID string, now, expiresAt time.Time, maxWaiters int) (string, error) {
	ticket, err := s.Store.JoinQueue(ctx, accountID, productID, userID, now, expiresAt, maxWaiters)
	if err == nil {
		s.joins <- ticket
	}
	return ticket, err
}

// startWaiting starts a waiting request in the background; its result
// comes on the channel.
func startWaiting(ctx context.Context, agents *licensing.Agents, f *seatFixture, name string) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, err := agents.Start(ctx, f.acct.ID, f.users[name].ID, licensing.StartRequest{ProductID: rs5, Platform: licensing.PlatformWindows, Wait: time.Hour})
		done <- err
	}()
	return done
}

// TestAgentAsksAgainWhileWaiting: an agent who starts again while their
// first request waits gets the same place in line, ahead of those who
// came after the first request; their first request giving up does not
// lose it.
func TestAgentAsksAgainWhileWaiting(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := newSeatFixture(t, b.Open(t), "ann", "bob", "cyd")
			spy := &joinSpy{Store: f.store, joins: make(chan string, 8)}
			// The fake clock stands still: the waits end only by a seat or
			// the context.
			agents := licensing.NewAgents(spy, f.clock, licensing.DefaultCatalog(), licensing.AgentConfig{MaxWait: time.Hour, Poll: 10 * time.Millisecond}, nil)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			held, err := agents.Start(ctx, f.acct.ID, f.users["ann"].ID, licensing.StartRequest{ProductID: rs5, Platform: licensing.PlatformWindows})
			if err != nil {
				t.Fatal(err)
			}
			first, giveUp := context.WithCancel(ctx)
			bob1 := startWaiting(first, agents, f, "bob")
			bobTicket := <-spy.joins
			cydCtx, cydStop := context.WithCancel(ctx)
			defer cydStop()
			cyd := startWaiting(cydCtx, agents, f, "cyd")
			if <-spy.joins == bobTicket {
				t.Fatal("two users share a ticket")
			}
			bob2 := startWaiting(ctx, agents, f, "bob")
			if again := <-spy.joins; again != bobTicket {
				t.Fatalf("bob asking again got ticket %q, want his place %q", again, bobTicket)
			}
			if n, err := f.store.Waiting(ctx, f.acct.ID, rs5, f.clock.Now()); err != nil || n != 2 {
				t.Fatalf("Waiting = %d (%v), want 2 (bob once, cyd)", n, err)
			}
			giveUp()
			if err := <-bob1; err == nil { // the context's error, or the store's interrupted by it
				t.Fatal("bob's first request got a session after giving up")
			}
			if n, err := f.store.Waiting(ctx, f.acct.ID, rs5, f.clock.Now()); err != nil || n != 2 {
				t.Fatalf("after bob's first request gave up, Waiting = %d (%v), want 2", n, err)
			}
			if _, err := agents.End(ctx, f.acct.ID, f.users["ann"].ID, held.ID); err != nil {
				t.Fatal(err)
			}
			if err := <-bob2; err != nil {
				t.Fatalf("bob's second request, first in line when the seat was freed: %v", err)
			}
			cydStop()
			if err := <-cyd; err == nil {
				t.Fatal("cyd, second in line, got a session")
			}
		})
	}
}

// TestAgentLineFull: with MaxWaiters waiting, one more agent asking to
// wait is denied at once (the full-pool answer), not queued.
func TestAgentLineFull(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := newSeatFixture(t, b.Open(t), "ann", "bob", "cyd")
			spy := &joinSpy{Store: f.store, joins: make(chan string, 8)}
			agents := licensing.NewAgents(spy, f.clock, licensing.DefaultCatalog(), licensing.AgentConfig{MaxWait: time.Hour, Poll: 10 * time.Millisecond, MaxWaiters: 1}, nil)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if _, err := agents.Start(ctx, f.acct.ID, f.users["ann"].ID, licensing.StartRequest{ProductID: rs5, Platform: licensing.PlatformWindows}); err != nil {
				t.Fatal(err)
			}
			bobCtx, bobStop := context.WithCancel(ctx)
			bob := startWaiting(bobCtx, agents, f, "bob")
			<-spy.joins
			var full *licensing.SharedSeatsInUseError
			if err := <-startWaiting(ctx, agents, f, "cyd"); !errors.As(err, &full) || err.Error() != licensing.AllSharedInUse {
				t.Fatalf("cyd asking to wait in a full line: %v, want %q", err, licensing.AllSharedInUse)
			}
			bobStop()
			if err := <-bob; err == nil {
				t.Fatal("bob got a session")
			}
		})
	}
}

// stuckJoin is a store whose JoinQueue waits until its context ends, as a
// join waits behind many others for the line.
type stuckJoin struct{ licensing.Store }

func (stuckJoin) JoinQueue(ctx context.Context, accountID, productID, userID string, now, expiresAt time.Time, maxWaiters int) (string, error) {
	<-ctx.Done()
	return "", ctx.Err()
}

// TestJoiningBoundedByTheWait: a start that cannot join the line within
// the wait it asked for is answered as a full pool when the wait is up,
// not when the request's context ends.
func TestJoiningBoundedByTheWait(t *testing.T) {
	f := newSeatFixture(t, testenv.Backends(t)[0].Open(t), "ann", "bob")
	agents := licensing.NewAgents(stuckJoin{f.store}, f.clock, licensing.DefaultCatalog(), licensing.AgentConfig{MaxWait: time.Hour}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := agents.Start(ctx, f.acct.ID, f.users["ann"].ID, licensing.StartRequest{ProductID: rs5, Platform: licensing.PlatformWindows}); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	_, err := agents.Start(ctx, f.acct.ID, f.users["bob"].ID, licensing.StartRequest{ProductID: rs5, Platform: licensing.PlatformWindows, Wait: 200 * time.Millisecond})
	var full *licensing.SharedSeatsInUseError
	if !errors.As(err, &full) || err.Error() != licensing.AllSharedInUse {
		t.Fatalf("bob, unable to join within his wait: %v after %s, want %q", err, time.Since(began), licensing.AllSharedInUse)
	}
}

// lateJoin is a store whose JoinQueue fails once the wait is up, before
// its context says so: a join that waited for its turn until the end of
// the wait then dials a new connection, and the dial, finding its deadline
// passed, fails with an i/o timeout (the store's ErrUnavailable) while the
// context's own timer has yet to fire.
type lateJoin struct {
	licensing.Store
	clock *fakeClock
	wait  time.Duration
}

func (s lateJoin) JoinQueue(ctx context.Context, accountID, productID, userID string, now, expiresAt time.Time, maxWaiters int) (string, error) {
	s.clock.advance(s.wait)
	if ctx.Err() != nil {
		return "", ctx.Err()
	}
	return "", fmt.Errorf("sqlstore: transaction: %w: dial tcp 127.0.0.1:5432: i/o timeout", licensing.ErrUnavailable)
}

// TestJoinFailingAsTheWaitEnds: a start whose join fails once its wait is
// up is answered as a full pool, whatever the error says and even though
// the context's timer has not fired yet; it was answered 503 (seen in
// internal/e2e's TestTwoProcessesNeverOversell).
func TestJoinFailingAsTheWaitEnds(t *testing.T) {
	f := newSeatFixture(t, testenv.Backends(t)[0].Open(t), "ann", "bob")
	const wait = time.Minute // of the fake clock; the context's timer would fire after a real minute
	agents := licensing.NewAgents(lateJoin{f.store, f.clock, wait}, f.clock, licensing.DefaultCatalog(), licensing.AgentConfig{MaxWait: time.Hour}, nil)
	ctx := context.Background()
	if _, err := agents.Start(ctx, f.acct.ID, f.users["ann"].ID, licensing.StartRequest{ProductID: rs5, Platform: licensing.PlatformWindows}); err != nil {
		t.Fatal(err)
	}
	_, err := agents.Start(ctx, f.acct.ID, f.users["bob"].ID, licensing.StartRequest{ProductID: rs5, Platform: licensing.PlatformWindows, Wait: wait})
	var full *licensing.SharedSeatsInUseError
	if !errors.As(err, &full) || err.Error() != licensing.AllSharedInUse {
		t.Fatalf("bob, whose join failed as his wait ended: %v, want %q", err, licensing.AllSharedInUse)
	}
}

// endedJoin is a store whose JoinQueue gives up before the wait is up, as
// sqlstore does when the database ends the join's wait for the line's
// lock (lock_timeout) a moment before the deadline.
type endedJoin struct{ licensing.Store }

func (endedJoin) JoinQueue(ctx context.Context, accountID, productID, userID string, now, expiresAt time.Time, maxWaiters int) (string, error) {
	return "", fmt.Errorf("sqlstore: join queue: no place before the deadline: %w", context.DeadlineExceeded)
}

// TestJoinEndedByTheStoreForLackOfTime: a start whose join the store ended
// for lack of time, before the wait is up by the clock or the context, is
// answered as a full pool, not with the deadline's error (503).
func TestJoinEndedByTheStoreForLackOfTime(t *testing.T) {
	f := newSeatFixture(t, testenv.Backends(t)[0].Open(t), "ann", "bob")
	agents := licensing.NewAgents(endedJoin{f.store}, f.clock, licensing.DefaultCatalog(), licensing.AgentConfig{MaxWait: time.Hour}, nil)
	ctx := context.Background()
	if _, err := agents.Start(ctx, f.acct.ID, f.users["ann"].ID, licensing.StartRequest{ProductID: rs5, Platform: licensing.PlatformWindows}); err != nil {
		t.Fatal(err)
	}
	_, err := agents.Start(ctx, f.acct.ID, f.users["bob"].ID, licensing.StartRequest{ProductID: rs5, Platform: licensing.PlatformWindows, Wait: time.Minute})
	var full *licensing.SharedSeatsInUseError
	if !errors.As(err, &full) || err.Error() != licensing.AllSharedInUse {
		t.Fatalf("bob, whose join the store ended for lack of time: %v, want %q", err, licensing.AllSharedInUse)
	}
}
