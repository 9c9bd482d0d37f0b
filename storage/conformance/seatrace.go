package conformance

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/licensing"
)

// raceN runs f(i) for i in [0, n) in goroutines released together and
// returns their errors.
func raceN(n int, f func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = f(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// warm opens n connections of the store's pool at once (reading the
// account's usage), so that racers released together meet in the
// database instead of being spaced out by the dialing of new connections.
func warm(t *testing.T, s licensing.Store, accountID string, n int) {
	t.Helper()
	for i, err := range raceN(n, func(int) error {
		_, err := s.Usage(context.Background(), accountID)
		return err
	}) {
		wantErr(t, fmt.Sprintf("warm-up %d", i), err, nil)
	}
}

// agents creates n active users of the account holding the product as
// license.
func agents(t *testing.T, s licensing.Store, accountID string, n int, productID, license string) []licensing.User {
	t.Helper()
	us := make([]licensing.User, n)
	for i := range us {
		us[i] = createUser(t, s, newAgent(accountID, fmt.Sprintf("agent%03d@example.com", i), productID, license))
	}
	return us
}

// testConcurrentClaims races 40 users for a pool of 10 seats.
func testConcurrentClaims(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	const seats, claimers = 10, 40
	setPlan(t, s, a.ID, productV5, 0, seats)
	us := agents(t, s, a.ID, claimers, productV5, "concurrent")
	t0 := now()
	warm(t, s, a.ID, claimers)
	sessions := make([]*licensing.Session, claimers)
	errs := raceN(claimers, func(i int) error {
		sessions[i] = newSession(a.ID, us[i].ID, productV5, t0)
		return s.StartSession(ctx, sessions[i], "")
	})
	var won []*licensing.Session
	for i, err := range errs {
		if err == nil {
			won = append(won, sessions[i])
			continue
		}
		var inUse *licensing.SharedSeatsInUseError
		if !errors.As(err, &inUse) {
			t.Errorf("claim %d: %v, want success or a *SharedSeatsInUseError", i, err)
		} else if inUse.Total != seats || inUse.Occupied != seats {
			t.Errorf("claim %d refused with %d of %d occupied, want %d of %d", i, inUse.Occupied, inUse.Total, seats, seats)
		}
	}
	if len(won) != seats {
		t.Fatalf("%d of %d claims on %d seats succeeded", len(won), claimers, seats)
	}
	if u := checkSeats(t, s, a.ID, productV5); u.ConcurrentOccupied != seats {
		t.Errorf("%d seats occupied, want %d", u.ConcurrentOccupied, seats)
	}
	evs := eventsOf(t, s, a.ID)
	if countEvents(evs, licensing.SeatOccupied) != seats || countEvents(evs, licensing.SeatDenied) != claimers-seats {
		t.Errorf("%d occupied and %d denied events, want %d and %d", countEvents(evs, licensing.SeatOccupied),
			countEvents(evs, licensing.SeatDenied), seats, claimers-seats)
	}

	errs = raceN(len(won), func(i int) error {
		_, err := s.EndSession(ctx, a.ID, won[i].UserID, won[i].ID, licensing.EndedByAgent, "", t0.Add(time.Minute))
		return err
	})
	for i, err := range errs {
		wantErr(t, fmt.Sprintf("EndSession %d", i), err, nil)
	}
	if u := checkSeats(t, s, a.ID, productV5); u.ConcurrentOccupied != 0 {
		t.Errorf("%d seats occupied after every session ended", u.ConcurrentOccupied)
	}
	if n := countEvents(eventsOf(t, s, a.ID), licensing.SeatReleased); n != seats {
		t.Errorf("%d released events, want %d", n, seats)
	}
}

// testConcurrentClaimsOneUser races 10 sessions of one user for a pool of
// one seat: they share it; then ends them at once: the seat is freed once.
func testConcurrentClaimsOneUser(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	setPlan(t, s, a.ID, productV5, 0, 1)
	ann := createUser(t, s, newAgent(a.ID, "ann@example.com", productV5, "concurrent"))
	bob := createUser(t, s, newAgent(a.ID, "bob@example.com", productV5, "concurrent"))
	const n, rounds = 10, 5
	t0 := now()
	warm(t, s, a.ID, n)
	for round := range rounds {
		sessions := make([]*licensing.Session, n)
		errs := raceN(n, func(i int) error {
			sessions[i] = newSession(a.ID, ann.ID, productV5, t0)
			return s.StartSession(ctx, sessions[i], "")
		})
		for i, err := range errs {
			wantErr(t, fmt.Sprintf("round %d: session %d of one user", round, i), err, nil)
		}
		if u := checkSeats(t, s, a.ID, productV5); u.ConcurrentOccupied != 1 {
			t.Errorf("round %d: %d sessions of one user occupy %d seats, want 1", round, n, u.ConcurrentOccupied)
		}
		wantInUse(t, "another user's claim", s.StartSession(ctx, newSession(a.ID, bob.ID, productV5, t0), ""), productV5, 1, 1)

		errs = raceN(n, func(i int) error {
			_, err := s.EndSession(ctx, a.ID, ann.ID, sessions[i].ID, licensing.EndedByAgent, "", t0.Add(time.Minute))
			return err
		})
		for i, err := range errs {
			wantErr(t, fmt.Sprintf("round %d: EndSession %d", round, i), err, nil)
		}
		if u := checkSeats(t, s, a.ID, productV5); u.ConcurrentOccupied != 0 {
			t.Errorf("round %d: %d seats occupied after every session ended, want 0", round, u.ConcurrentOccupied)
		}
		evs := eventsOf(t, s, a.ID)
		if countEvents(evs, licensing.SeatOccupied) != round+1 || countEvents(evs, licensing.SeatReleased) != round+1 {
			t.Fatalf("round %d: %d occupied and %d released events, want %d of each", round,
				countEvents(evs, licensing.SeatOccupied), countEvents(evs, licensing.SeatReleased), round+1)
		}
	}
	startSession(t, s, a.ID, bob.ID, productV5, t0.Add(time.Minute))
	checkSeats(t, s, a.ID, productV5)
}

// testClaimRacesRelease races, round after round, a new session of a
// user against the end of the user's last one, and a claim of another
// user for the one seat: the seat must stay counted exactly when a user
// has an open session, and never go to two users.
func testClaimRacesRelease(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	setPlan(t, s, a.ID, productV5, 0, 1)
	ann := createUser(t, s, newAgent(a.ID, "ann@example.com", productV5, "concurrent"))
	bob := createUser(t, s, newAgent(a.ID, "bob@example.com", productV5, "concurrent"))
	t0 := now()
	last := startSession(t, s, a.ID, ann.ID, productV5, t0)
	warm(t, s, a.ID, 3)
	for round := range 30 {
		at := t0.Add(time.Duration(round) * time.Second)
		next := newSession(a.ID, ann.ID, productV5, at)
		other := newSession(a.ID, bob.ID, productV5, at)
		errs := raceN(3, func(i int) error {
			switch i {
			case 0:
				_, err := s.EndSession(ctx, a.ID, ann.ID, last.ID, licensing.EndedByAgent, "", at)
				return err
			case 1:
				return s.StartSession(ctx, next, "")
			}
			return s.StartSession(ctx, other, "")
		})
		wantErr(t, fmt.Sprintf("round %d: EndSession", round), errs[0], nil)
		for _, err := range errs[1:] {
			if err != nil && !errors.Is(err, licensing.ErrSeatLimit) {
				t.Fatalf("round %d: claim: %v", round, err)
			}
		}
		if errs[1] == nil && errs[2] == nil {
			t.Fatalf("round %d: ann and bob both hold the one seat", round)
		}
		if u := checkSeats(t, s, a.ID, productV5); u.ConcurrentOccupied > 1 {
			t.Fatalf("round %d: %d seats occupied of 1", round, u.ConcurrentOccupied)
		}
		if t.Failed() {
			t.FailNow()
		}
		if errs[2] == nil {
			_, err := s.EndSession(ctx, a.ID, bob.ID, other.ID, licensing.EndedByAgent, "", at)
			wantErr(t, "EndSession of bob", err, nil)
		}
		if errs[1] != nil {
			// ann lost the seat: take it back for the next round.
			next = newSession(a.ID, ann.ID, productV5, at)
			wantErr(t, "StartSession of ann", s.StartSession(ctx, next, ""), nil)
		}
		last = *next
	}
	checkSeats(t, s, a.ID, productV5)
}

// testClaimRacesDeprovision races claims of a user against the write that
// takes the product away (deactivation, deletion, unassignment): whatever
// wins, the user ends with no open session and no seat.
func testClaimRacesDeprovision(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	setPlan(t, s, a.ID, productV5, 0, 100)
	warm(t, s, a.ID, 4)
	for round := range 12 {
		u := createUser(t, s, newAgent(a.ID, fmt.Sprintf("r%d@example.com", round), productV5, "concurrent"))
		startSession(t, s, a.ID, u.ID, productV5, now())
		errs := raceN(4, func(i int) error {
			if i > 0 {
				return s.StartSession(ctx, newSession(a.ID, u.ID, productV5, now()), "")
			}
			switch round % 3 {
			case 0:
				return s.DeleteUser(ctx, a.ID, u.ID, now())
			case 1:
				return s.ReplaceUser(ctx, replaced(u, func(u *licensing.User) { u.Active = false }), 1)
			}
			return s.ReplaceUser(ctx, replaced(u, func(u *licensing.User) { u.Assignments = nil }), 1)
		})
		wantErr(t, fmt.Sprintf("round %d: deprovision", round), errs[0], nil)
		for _, err := range errs[1:] {
			if err != nil && !errors.Is(err, licensing.ErrNotFound) && !errors.Is(err, licensing.ErrNotEntitled) {
				t.Errorf("round %d: claim racing deprovisioning: %v", round, err)
			}
		}
		open, err := s.OpenSessions(ctx, a.ID, productV5)
		wantErr(t, "OpenSessions", err, nil)
		for _, sess := range open {
			if sess.UserID == u.ID {
				t.Fatalf("round %d: session %s of the deprovisioned user is open", round, sess.ID)
			}
		}
		if u := checkSeats(t, s, a.ID, productV5); u.ConcurrentOccupied != 0 {
			t.Fatalf("round %d: %d seats occupied, want 0", round, u.ConcurrentOccupied)
		}
	}
}

// testConcurrentEnds races EndSeat, EndSession and the user's other
// sessions' ends: each session ends once and the seat is freed once.
func testConcurrentEnds(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	setPlan(t, s, a.ID, productV5, 0, 2)
	ann := createUser(t, s, newAgent(a.ID, "ann@example.com", productV5, "concurrent"))
	t0 := now()
	warm(t, s, a.ID, 8)
	for round := range 10 {
		var sessions []licensing.Session
		for range 3 {
			sessions = append(sessions, startSession(t, s, a.ID, ann.ID, productV5, t0))
		}
		var mu sync.Mutex
		var endedBySeat []licensing.Session
		errs := raceN(8, func(i int) error {
			if i < 2 {
				ended, err := s.EndSeat(ctx, a.ID, productV5, ann.ID, licensing.EndedByAdmin, "admin", t0)
				mu.Lock()
				endedBySeat = append(endedBySeat, ended...)
				mu.Unlock()
				return err
			}
			_, err := s.EndSession(ctx, a.ID, ann.ID, sessions[i%3].ID, licensing.EndedByAgent, "", t0)
			return err
		})
		ends := 0
		for i, err := range errs {
			var gone *licensing.SessionEndedError
			switch {
			case err == nil && i >= 2:
				ends++
			case err == nil:
			case i < 2 && errors.Is(err, licensing.ErrNotFound):
			case i >= 2 && errors.As(err, &gone):
			default:
				t.Errorf("round %d: racer %d: %v", round, i, err)
			}
		}
		if ends+len(endedBySeat) != 3 {
			t.Errorf("round %d: %d sessions ended by EndSession and %d by EndSeat, want 3 in all", round, ends, len(endedBySeat))
		}
		if u := checkSeats(t, s, a.ID, productV5); u.ConcurrentOccupied != 0 {
			t.Fatalf("round %d: %d seats occupied", round, u.ConcurrentOccupied)
		}
	}
	evs := eventsOf(t, s, a.ID)
	freed := countEvents(evs, licensing.SeatReleased) + countEvents(evs, licensing.SeatEnded)
	if countEvents(evs, licensing.SeatOccupied) != 10 || freed != 10 {
		t.Errorf("%d occupied and %d freeing events, want 10 and 10", countEvents(evs, licensing.SeatOccupied), freed)
	}
}

// testConcurrentNamedWrites races 20 creations (then 20 assignments by
// PUT) of named users for 5 named seats.
func testConcurrentNamedWrites(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	const seats = 5
	setPlan(t, s, a.ID, productV5, seats, 0)
	warm(t, s, a.ID, racers)
	created := make([]licensing.User, racers)
	errs := race(func(i int) error {
		created[i] = newAgent(a.ID, fmt.Sprintf("named%02d@example.com", i), productV5, "named")
		return s.CreateUser(ctx, created[i])
	})
	wantNamedWinners(t, s, a.ID, "CreateUser", errs, seats)
	for i, err := range errs {
		_, getErr := s.User(ctx, a.ID, created[i].ID)
		if err != nil && !errors.Is(getErr, licensing.ErrNotFound) {
			t.Errorf("refused user %d exists: %v", i, getErr)
		}
		if err == nil && getErr != nil {
			t.Errorf("created user %d: %v", i, getErr)
		}
	}

	b := newAccount(t, s)
	setPlan(t, s, b.ID, productV5, seats, 0)
	plain := agents(t, s, b.ID, racers, productDesk, "concurrent")
	errs = race(func(i int) error {
		return s.ReplaceUser(ctx, replaced(plain[i], func(u *licensing.User) {
			u.Assignments = licensing.Assignments{productV5: licensing.LicenseNamed}
		}), 1)
	})
	wantNamedWinners(t, s, b.ID, "ReplaceUser", errs, seats)
	for i, err := range errs {
		got, getErr := s.User(ctx, b.ID, plain[i].ID)
		wantErr(t, "User", getErr, nil)
		switch {
		case err == nil && (got.Version != 2 || got.Assignments.Of(productV5) != licensing.LicenseNamed):
			t.Errorf("assigned user %d = version %d %v", i, got.Version, got.Assignments)
		case err != nil && (got.Version != 1 || got.Assignments.Of(productV5) != licensing.LicenseNone ||
			got.Assignments.Of(productDesk) != licensing.LicenseConcurrent):
			t.Errorf("refused user %d changed: version %d %v", i, got.Version, got.Assignments)
		}
	}
}

// wantNamedWinners fails unless exactly seats writes succeeded, the others
// were refused with the numbers, and the counter agrees with the users.
func wantNamedWinners(t *testing.T, s licensing.Store, accountID, what string, errs []error, seats int) {
	t.Helper()
	won := 0
	for i, err := range errs {
		if err == nil {
			won++
			continue
		}
		var full *licensing.NamedSeatsExhaustedError
		if !errors.As(err, &full) {
			t.Errorf("%s %d: %v, want success or a *NamedSeatsExhaustedError", what, i, err)
		} else if full.Assigned != seats || full.Total != seats || full.Product.ID != productV5 {
			t.Errorf("%s %d refused with %+v, want %d of %d", what, i, *full, seats, seats)
		}
	}
	if won != seats {
		t.Errorf("%s: %d of %d writes succeeded for %d named seats", what, won, len(errs), seats)
	}
	if u := checkSeats(t, s, accountID, productV5); u.NamedAssigned != seats {
		t.Errorf("%s: %d named seats assigned, want %d", what, u.NamedAssigned, seats)
	}
}
