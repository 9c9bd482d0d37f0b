package licensing_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

const (
	rs5 = "remote-support-v5"
	rs4 = "remote-support-v4"
)

// seatFixture is an account with a one-seat plan and concurrent agents,
// on a database of its own (the reaper works across accounts), with a
// fake clock.
type seatFixture struct {
	store licensing.Store
	clock *fakeClock
	acct  licensing.Account
	users map[string]licensing.User
}

func newSeatFixture(t *testing.T, store licensing.Store, agents ...string) *seatFixture {
	t.Helper()
	ctx := context.Background()
	f := &seatFixture{store: store, clock: &fakeClock{now: time.Date(2100, 1, 1, 9, 0, 0, 0, time.UTC)}, users: map[string]licensing.User{}}
	f.acct, _ = testenv.Account(t, store)
	if err := store.SetPlan(ctx, licensing.Plan{AccountID: f.acct.ID, ProductID: rs5, ConcurrentSeats: 1}); err != nil {
		t.Fatal(err)
	}
	for _, name := range agents {
		now := f.clock.Now()
		u := licensing.User{AccountID: f.acct.ID, ID: licensing.NewID(), UserName: name, Active: true, Doc: []byte(`{}`),
			Created: now, LastModified: now, Version: 1, Assignments: licensing.Assignments{rs5: licensing.LicenseConcurrent}}
		if err := store.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		f.users[name] = u
	}
	return f
}

func (f *seatFixture) occupied(t *testing.T) int {
	t.Helper()
	usage, err := f.store.Usage(context.Background(), f.acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range usage {
		if u.ProductID == rs5 {
			return u.ConcurrentOccupied
		}
	}
	return 0
}

// events counts the account's seat events of the kind.
func (f *seatFixture) events(t *testing.T, kind licensing.SeatEventKind) int {
	t.Helper()
	evs, err := f.store.SeatEvents(context.Background(), f.acct.ID, time.Time{}, f.clock.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range evs {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

// reap runs the reaper and reports whether the session was ended by it.
// (The reaper works across accounts, and on the shared PostgreSQL test
// database other tests' sessions expire too, so its count says little.)
func (f *seatFixture) reap(t *testing.T, sessionID string) bool {
	t.Helper()
	if _, err := licensing.Reap(context.Background(), f.store, f.clock, 100); err != nil {
		t.Fatal(err)
	}
	s, err := f.store.Session(context.Background(), f.acct.ID, sessionID)
	if err != nil {
		t.Fatal(err)
	}
	return s.State == licensing.SessionEnded && s.EndReason == licensing.EndedByExpiry
}

// TestLeases checks, with a fake clock and without sleeping, that a
// pending session holds its seat for the support key's lifetime, a
// connected one for the lease after its last heartbeat, and that the
// reaper then frees the seat and the agent is told the session expired.
func TestLeases(t *testing.T) {
	for _, b := range testenv.IsolatedBackends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			f := newSeatFixture(t, b.Open(t), "ann")
			ann := f.users["ann"]
			agents := licensing.NewAgents(f.store, f.clock, licensing.DefaultCatalog(),
				licensing.AgentConfig{KeyLifetime: 10 * time.Minute, Lease: 2 * time.Minute}, nil)

			s, err := agents.Start(ctx, f.acct.ID, ann.ID, licensing.StartRequest{ProductID: rs5, Platform: licensing.PlatformWindows})
			if err != nil {
				t.Fatal(err)
			}
			if !s.ExpiresAt.Equal(f.clock.Now().Add(10 * time.Minute)) {
				t.Fatalf("pending session expires at %s, want key lifetime", s.ExpiresAt)
			}
			f.clock.advance(9 * time.Minute)
			if _, err := agents.Heartbeat(ctx, f.acct.ID, ann.ID, s.ID); err != nil {
				t.Fatal(err)
			}
			f.clock.advance(59 * time.Second)
			if f.reap(t, s.ID) || f.occupied(t) != 1 {
				t.Fatalf("reaped before the key lifetime (occupied %d); a heartbeat must not stretch a pending session", f.occupied(t))
			}
			f.clock.advance(2 * time.Second)
			if !f.reap(t, s.ID) || f.occupied(t) != 0 {
				t.Fatalf("after the key lifetime: not reaped or seat kept (occupied %d)", f.occupied(t))
			}
			var ended *licensing.SessionEndedError
			if _, err := agents.Connect(ctx, f.acct.ID, ann.ID, s.ID); !errors.As(err, &ended) || ended.Reason != licensing.EndedByExpiry {
				t.Fatalf("connect on an expired session: %v, want SessionEndedError(expired)", err)
			}

			s, err = agents.Start(ctx, f.acct.ID, ann.ID, licensing.StartRequest{ProductID: rs5, Platform: licensing.PlatformMac})
			if err != nil {
				t.Fatal(err)
			}
			f.clock.advance(time.Minute)
			if s, err = agents.Connect(ctx, f.acct.ID, ann.ID, s.ID); err != nil || s.State != licensing.SessionConnected {
				t.Fatalf("connect: %v %v", s.State, err)
			}
			for i := 0; i < 5; i++ { // heartbeats keep it for longer than the lease
				f.clock.advance(90 * time.Second)
				if _, err := agents.Heartbeat(ctx, f.acct.ID, ann.ID, s.ID); err != nil {
					t.Fatalf("heartbeat %d: %v", i, err)
				}
				if f.reap(t, s.ID) {
					t.Fatalf("a session with heartbeats was reaped")
				}
			}
			f.clock.advance(2*time.Minute - time.Second)
			if f.reap(t, s.ID) || f.occupied(t) != 1 {
				t.Fatalf("reaped within the lease (occupied %d)", f.occupied(t))
			}
			f.clock.advance(2 * time.Second)
			if !f.reap(t, s.ID) || f.occupied(t) != 0 {
				t.Fatalf("after a missed lease: not reaped or seat kept (occupied %d)", f.occupied(t))
			}
		})
	}
}

// TestWaitingForASeat checks the waiting start: it gets the seat freed
// while it waits, and gives up with the vendor's sentence at its
// deadline. The waiter's polling moves the fake clock instead of sleeping.
func TestWaitingForASeat(t *testing.T) {
	for _, b := range testenv.IsolatedBackends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			f := newSeatFixture(t, b.Open(t), "ann", "bob")
			ann, bob := f.users["ann"], f.users["bob"]
			plain := licensing.NewAgents(f.store, f.clock, licensing.DefaultCatalog(), licensing.AgentConfig{}, nil)
			held, err := plain.Start(ctx, f.acct.ID, ann.ID, licensing.StartRequest{ProductID: rs5, Platform: licensing.PlatformWindows})
			if err != nil {
				t.Fatal(err)
			}

			polls, released := 0, false
			sleep := func(ctx context.Context, d time.Duration) error {
				polls++
				f.clock.advance(d)
				if polls == 3 && !released { // ann ends her session while bob waits
					released = true
					if _, err := plain.End(ctx, f.acct.ID, ann.ID, held.ID); err != nil {
						t.Errorf("ann end: %v", err)
					}
				}
				return nil
			}
			waiting := licensing.NewAgents(f.store, f.clock, licensing.DefaultCatalog(), licensing.AgentConfig{MaxWait: time.Minute, Poll: time.Second}, sleep)
			s, err := waiting.Start(ctx, f.acct.ID, bob.ID, licensing.StartRequest{ProductID: rs5, Platform: licensing.PlatformMac, Wait: 30 * time.Second})
			if err != nil || s.UserID != bob.ID || polls != 3 {
				t.Fatalf("bob waited %d polls: %v %v, want the seat after the third", polls, s, err)
			}
			if n, err := f.store.Waiting(ctx, f.acct.ID, rs5, f.clock.Now()); err != nil || n != 0 {
				t.Fatalf("bob still in line after getting the seat: %d %v", n, err)
			}

			// Now ann waits and nobody frees the seat: she gives up at her
			// deadline with the sentence, and leaves the line.
			polls = 0
			start := f.clock.Now()
			_, err = waiting.Start(ctx, f.acct.ID, ann.ID, licensing.StartRequest{ProductID: rs5, Platform: licensing.PlatformWindows, Wait: 10 * time.Second})
			var full *licensing.SharedSeatsInUseError
			if !errors.As(err, &full) || err.Error() != licensing.AllSharedInUse || full.Product.Name != "Remote Support v5" {
				t.Fatalf("ann's wait: %v, want the sentence", err)
			}
			if waited := f.clock.Now().Sub(start); waited < 10*time.Second || waited > 12*time.Second {
				t.Fatalf("ann waited %s of fake time, want about 10s", waited)
			}
			if n, err := f.store.Waiting(ctx, f.acct.ID, rs5, f.clock.Now()); err != nil || n != 0 {
				t.Fatalf("ann still in line after giving up: %d %v", n, err)
			}
			// Each wait counts as one denial (its first attempt), however
			// many times it polled.
			if n := f.events(t, licensing.SeatDenied); n != 2 {
				t.Fatalf("%d denied events after two waits, want 2", n)
			}
		})
	}
}

// TestWaiterAfterLongPause checks that a waiter whose ticket expired
// during a long pause loses its place: the waiter who joined meanwhile is
// served first, and the paused one joins again at the back.
func TestWaiterAfterLongPause(t *testing.T) {
	for _, b := range testenv.IsolatedBackends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			f := newSeatFixture(t, b.Open(t), "ann", "bob", "cid")
			ann, bob, cid := f.users["ann"], f.users["bob"], f.users["cid"]
			plain := licensing.NewAgents(f.store, f.clock, licensing.DefaultCatalog(), licensing.AgentConfig{}, nil)
			held, err := plain.Start(ctx, f.acct.ID, ann.ID, licensing.StartRequest{ProductID: rs5, Platform: licensing.PlatformWindows})
			if err != nil {
				t.Fatal(err)
			}
			polls := 0
			var cidTicket string
			sleep := func(ctx context.Context, d time.Duration) error {
				polls++
				f.clock.advance(d)
				switch polls {
				case 1:
					// cid joins the line behind bob, ann frees the seat,
					// and bob's request stalls past his ticket's time to
					// live (4 polls): his ticket expires, not yet cleared.
					now := f.clock.Now()
					var err error
					if cidTicket, err = f.store.JoinQueue(ctx, f.acct.ID, rs5, cid.ID, now, now.Add(time.Hour), 0); err != nil {
						t.Errorf("cid joins: %v", err)
					}
					if _, err := plain.End(ctx, f.acct.ID, ann.ID, held.ID); err != nil {
						t.Errorf("ann end: %v", err)
					}
					f.clock.advance(5 * time.Second)
				case 3:
					// cid gives up; bob is first now.
					if err := f.store.LeaveQueue(ctx, f.acct.ID, cidTicket); err != nil {
						t.Errorf("cid leaves: %v", err)
					}
				}
				return nil
			}
			waiting := licensing.NewAgents(f.store, f.clock, licensing.DefaultCatalog(), licensing.AgentConfig{MaxWait: time.Minute, Poll: time.Second}, sleep)
			s, err := waiting.Start(ctx, f.acct.ID, bob.ID, licensing.StartRequest{ProductID: rs5, Platform: licensing.PlatformMac, Wait: 30 * time.Second})
			if err != nil || s.UserID != bob.ID || polls != 3 {
				t.Fatalf("bob waited %d polls: %v %v, want the seat after the third, once cid left the line he had lost his place to", polls, s, err)
			}
			if n := f.events(t, licensing.SeatDenied); n != 1 {
				t.Fatalf("%d denied events after one wait, want 1", n)
			}
		})
	}
}

// TestLateHeartbeat checks that a heartbeat arriving after the lease ran
// out, before any reaper ran, is told the session expired and finds the
// seat free: the session does not depend on when the reaper last ran.
func TestLateHeartbeat(t *testing.T) {
	for _, b := range testenv.IsolatedBackends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			f := newSeatFixture(t, b.Open(t), "ann", "bob")
			ann, bob := f.users["ann"], f.users["bob"]
			agents := licensing.NewAgents(f.store, f.clock, licensing.DefaultCatalog(),
				licensing.AgentConfig{KeyLifetime: 10 * time.Minute, Lease: 2 * time.Minute}, nil)

			s, err := agents.Start(ctx, f.acct.ID, ann.ID, licensing.StartRequest{ProductID: rs5, Platform: licensing.PlatformWindows})
			if err != nil {
				t.Fatal(err)
			}
			f.clock.advance(time.Minute)
			if s, err = agents.Connect(ctx, f.acct.ID, ann.ID, s.ID); err != nil {
				t.Fatal(err)
			}
			f.clock.advance(2*time.Minute + time.Second) // the lease is missed; no reaper runs
			late := f.clock.Now()
			_, err = agents.Heartbeat(ctx, f.acct.ID, ann.ID, s.ID)
			var ended *licensing.SessionEndedError
			if !errors.As(err, &ended) || ended.Reason != licensing.EndedByExpiry {
				t.Fatalf("heartbeat after the lease: %v, want SessionEndedError(expired)", err)
			}
			if f.occupied(t) != 0 {
				t.Fatalf("seat still occupied (%d) after the late heartbeat", f.occupied(t))
			}
			got, err := f.store.Session(ctx, f.acct.ID, s.ID)
			if err != nil || got.State != licensing.SessionEnded || got.EndReason != licensing.EndedByExpiry ||
				got.EndedAt == nil || !got.EndedAt.Equal(late) {
				t.Fatalf("session after the late heartbeat: %+v %v, want ended as expired at %v", got, err, late)
			}
			if _, err := agents.Start(ctx, f.acct.ID, bob.ID, licensing.StartRequest{ProductID: rs5, Platform: licensing.PlatformMac}); err != nil {
				t.Fatalf("bob's claim of the freed seat: %v", err)
			}
			// Ann's app hears the same afterwards, and the reaper has
			// nothing left to end.
			if _, err := agents.End(ctx, f.acct.ID, ann.ID, s.ID); !errors.As(err, &ended) || ended.Reason != licensing.EndedByExpiry {
				t.Fatalf("end after the late heartbeat: %v, want SessionEndedError(expired)", err)
			}
			if n, err := licensing.Reap(ctx, f.store, f.clock, 100); err != nil || n != 0 {
				t.Fatalf("the reaper ended %d sessions (%v), want 0", n, err)
			}
			if n := f.events(t, licensing.SeatExpired); n != 1 {
				t.Fatalf("%d expired events, want 1", n)
			}
		})
	}
}
