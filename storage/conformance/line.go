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

// lineUsers makes an account with a one-seat plan of productV5 and n
// users holding it as concurrent.
func lineUsers(t *testing.T, s licensing.Store, n int) (licensing.Account, []licensing.User) {
	t.Helper()
	a := newAccount(t, s)
	setPlan(t, s, a.ID, productV5, 0, 1)
	us := make([]licensing.User, n)
	for i := range us {
		us[i] = createUser(t, s, newAgent(a.ID, fmt.Sprintf("line%d@example.com", i), productV5, "concurrent"))
	}
	return a, us
}

func wantWaiting(t *testing.T, s licensing.Store, accountID string, at time.Time, want int) {
	t.Helper()
	if n, err := s.Waiting(context.Background(), accountID, productV5, at); err != nil || n != want {
		t.Fatalf("Waiting = %d (%v), want %d", n, err, want)
	}
}

// testLineOnePlacePerUser: a user who joins again while waiting gets the
// place they have, held once more; it lasts until the later expiry and
// goes when its last holder leaves.
func testLineOnePlacePerUser(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a, us := lineUsers(t, s, 2)
	t0 := now()
	first, err := s.JoinQueue(ctx, a.ID, productV5, us[0].ID, t0, t0.Add(time.Minute), 0)
	wantErr(t, "JoinQueue", err, nil)
	other, err := s.JoinQueue(ctx, a.ID, productV5, us[1].ID, t0.Add(time.Second), t0.Add(time.Minute), 0)
	wantErr(t, "JoinQueue", err, nil)
	again, err := s.JoinQueue(ctx, a.ID, productV5, us[0].ID, t0.Add(2*time.Second), t0.Add(5*time.Minute), 0)
	wantErr(t, "JoinQueue again", err, nil)
	if again != first || other == first {
		t.Fatalf("tickets: first %q, again %q, other user %q; want the first twice", first, again, other)
	}
	wantWaiting(t, s, a.ID, t0.Add(3*time.Second), 2)
	// The later expiry holds: at 2 minutes the first place is live.
	wantWaiting(t, s, a.ID, t0.Add(2*time.Minute), 1)
	if err := s.RefreshTicket(ctx, a.ID, first, t0.Add(2*time.Minute), t0.Add(6*time.Minute)); err != nil {
		t.Fatalf("RefreshTicket of the joined-again place after the first expiry: %v", err)
	}
	// Held twice: the first leave keeps the place (still ahead of the
	// other user), the second lets it go.
	wantErr(t, "LeaveQueue", s.LeaveQueue(ctx, a.ID, first), nil)
	wantWaiting(t, s, a.ID, t0.Add(3*time.Second), 2)
	wantErr(t, "RefreshTicket after one leave", s.RefreshTicket(ctx, a.ID, first, t0.Add(3*time.Second), t0.Add(6*time.Minute)), nil)
	wantErr(t, "LeaveQueue", s.LeaveQueue(ctx, a.ID, first), nil)
	wantWaiting(t, s, a.ID, t0.Add(3*time.Second), 1)
	wantErr(t, "RefreshTicket after the last leave", s.RefreshTicket(ctx, a.ID, first, t0.Add(3*time.Second), t0.Add(6*time.Minute)), licensing.ErrNotFound)
	// Once gone, a join makes a new place, at the back.
	back, err := s.JoinQueue(ctx, a.ID, productV5, us[0].ID, t0.Add(4*time.Second), t0.Add(time.Minute), 0)
	wantErr(t, "JoinQueue after leaving", err, nil)
	if back == first {
		t.Fatal("a user who left the line got the old place back")
	}
}

// testConcurrentJoinsOneUser: joins of one user racing each other share
// one place; as many leaves let it go.
func testConcurrentJoinsOneUser(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a, us := lineUsers(t, s, 1)
	t0 := now()
	const n = 16
	tickets := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if tickets[i], err = s.JoinQueue(ctx, a.ID, productV5, us[0].ID, t0, t0.Add(time.Minute), 0); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for _, tk := range tickets {
		if tk != tickets[0] || tk == "" {
			t.Fatalf("racing joins of one user got tickets %q", tickets)
		}
	}
	wantWaiting(t, s, a.ID, t0, 1)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.LeaveQueue(ctx, a.ID, tickets[i]); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	wantWaiting(t, s, a.ID, t0, 0)
}

// testLineMaxWaiters: a line holding maxWaiters live waiters refuses
// another user with ErrLineFull, never one already in it; expired
// waiters do not count; racing joins never pass the cap.
func testLineMaxWaiters(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a, us := lineUsers(t, s, 12)
	t0 := now()
	for i := range 2 {
		_, err := s.JoinQueue(ctx, a.ID, productV5, us[i].ID, t0, t0.Add(time.Minute), 2)
		wantErr(t, "JoinQueue within the cap", err, nil)
	}
	_, err := s.JoinQueue(ctx, a.ID, productV5, us[2].ID, t0, t0.Add(time.Minute), 2)
	wantErr(t, "JoinQueue beyond the cap", err, licensing.ErrLineFull)
	_, err = s.JoinQueue(ctx, a.ID, productV5, us[0].ID, t0, t0.Add(time.Minute), 2)
	wantErr(t, "JoinQueue again of a user in the full line", err, nil)
	wantWaiting(t, s, a.ID, t0, 2)
	// Once the waiters expired, the line has room.
	t1 := t0.Add(2 * time.Minute)
	_, err = s.JoinQueue(ctx, a.ID, productV5, us[2].ID, t1, t1.Add(time.Minute), 2)
	wantErr(t, "JoinQueue after the waiters expired", err, nil)

	// Racing joins of 9 more users into a line with room for 3 in all.
	var wg sync.WaitGroup
	var mu sync.Mutex
	joined, full := 0, 0
	for _, u := range us[3:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.JoinQueue(ctx, a.ID, productV5, u.ID, t1, t1.Add(time.Minute), 3)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				joined++
			case errors.Is(err, licensing.ErrLineFull):
				full++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if joined != 2 || full != 7 {
		t.Fatalf("racing joins into a line with room for 2: %d joined, %d refused; want 2 and 7", joined, full)
	}
	wantWaiting(t, s, a.ID, t1, 3)
}
