package conformance

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/scimd/scimd/licensing"
)

// racers is how many goroutines the concurrency tests start at once.
const racers = 20

// race runs f(i) for i in [0, racers) in goroutines released together and
// returns their errors.
func race(f func(i int) error) []error {
	errs := make([]error, racers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() {
			<-start
			errs[i] = f(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// wantOneWinner fails unless exactly one error is nil and every other
// matches loser.
func wantOneWinner(t *testing.T, what string, errs []error, loser error) int {
	t.Helper()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("%s: goroutines %d and %d both succeeded", what, winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, loser):
			t.Errorf("%s: goroutine %d failed with %v, want %v", what, i, err, loser)
		}
	}
	if winner < 0 {
		t.Fatalf("%s: no goroutine succeeded", what)
	}
	return winner
}

func testConcurrentCreateUser(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	errs := race(func(i int) error {
		name := "race@example.com"
		if i%2 == 1 {
			name = strings.ToUpper(name)
		}
		return s.CreateUser(ctx, newUser(a.ID, name))
	})
	wantOneWinner(t, "CreateUser with one userName", errs, licensing.ErrConflict)
	page, err := s.Users(ctx, a.ID, licensing.Query{Limit: 100})
	wantErr(t, "Users", err, nil)
	if page.Total != 1 {
		t.Errorf("%d users stored, want 1", page.Total)
	}
}

func testConcurrentReplaceUser(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	u := createUser(t, s, newUser(a.ID, "contended@example.com"))
	errs := race(func(i int) error {
		next := u
		next.DisplayName = fmt.Sprintf("writer %d", i)
		next.Version = 2
		return s.ReplaceUser(ctx, next, 1)
	})
	winner := wantOneWinner(t, "ReplaceUser from one version", errs, licensing.ErrStale)
	got, err := s.User(ctx, a.ID, u.ID)
	wantErr(t, "User", err, nil)
	if want := fmt.Sprintf("writer %d", winner); got.DisplayName != want || got.Version != 2 {
		t.Errorf("user = %q version %d, want %q version 2", got.DisplayName, got.Version, want)
	}
}

func testConcurrentCreateGroup(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	u := createUser(t, s, newUser(a.ID, "member@example.com"))
	errs := race(func(i int) error {
		name := "Racers"
		if i%2 == 1 {
			name = "RACERS"
		}
		return s.CreateGroup(ctx, newGroup(a.ID, name, member(u.ID)))
	})
	wantOneWinner(t, "CreateGroup with one displayName", errs, licensing.ErrConflict)
	page, err := s.Groups(ctx, a.ID, licensing.Query{Limit: 100})
	wantErr(t, "Groups", err, nil)
	if page.Total != 1 || len(page.Items) != 1 || len(page.Items[0].Members) != 1 {
		t.Errorf("Groups = %+v, want one group with one member", page)
	}
}

// testConcurrentMembershipAndDelete races adding a user to a group against
// deleting the user: whichever wins, no group may list a deleted user.
func testConcurrentMembershipAndDelete(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	g := createGroup(t, s, newGroup(a.ID, "Race"))
	for i := range 10 {
		u := createUser(t, s, newUser(a.ID, fmt.Sprintf("racer%d@example.com", i)))
		cur, err := s.Group(ctx, a.ID, g.ID)
		wantErr(t, "Group", err, nil)
		next := cur
		next.Members = append([]licensing.Member{member(u.ID)}, cur.Members...)
		next.Version = cur.Version + 1

		var errDelete, errReplace error
		start := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() { <-start; errDelete = s.DeleteUser(ctx, a.ID, u.ID, now()) })
		wg.Go(func() { <-start; errReplace = s.ReplaceGroup(ctx, next, cur.Version) })
		close(start)
		wg.Wait()

		wantErr(t, "DeleteUser", errDelete, nil)
		if errReplace != nil && !errors.Is(errReplace, licensing.ErrInvalid) {
			t.Errorf("ReplaceGroup racing DeleteUser: %v, want success or ErrInvalid", errReplace)
		}
		got, err := s.Group(ctx, a.ID, g.ID)
		wantErr(t, "Group", err, nil)
		for _, m := range got.Members {
			if m.ID == u.ID {
				t.Fatalf("round %d: group lists deleted user %s (replace error %v)", i, u.ID, errReplace)
			}
		}
	}
}

// testUserTotals checks the total of unfiltered listings, which a store
// may keep as a count of its own rather than count the users each time:
// it must follow creates (concurrent ones too), refused creates and
// deletes, and stay per account.
func testUserTotals(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)
	total := func(accountID string) int {
		t.Helper()
		page, err := s.Users(ctx, accountID, licensing.Query{Limit: 0})
		wantErr(t, "Users", err, nil)
		all, err := s.Users(ctx, accountID, licensing.Query{Limit: 1000})
		wantErr(t, "Users", err, nil)
		if page.Total != len(all.Items) {
			t.Errorf("unfiltered total %d, but %d users listed", page.Total, len(all.Items))
		}
		return page.Total
	}
	if n := total(a.ID); n != 0 {
		t.Fatalf("new account total %d, want 0", n)
	}
	errs := race(func(i int) error {
		return s.CreateUser(ctx, newUser(a.ID, fmt.Sprintf("total%02d@example.com", i)))
	})
	created := 0
	for _, err := range errs {
		wantErr(t, "concurrent CreateUser", err, nil)
		created++
	}
	// A refused create (userName taken) counts nothing.
	wantErr(t, "CreateUser with a taken userName", s.CreateUser(ctx, newUser(a.ID, "TOTAL00@example.com")), licensing.ErrConflict)
	other := createUser(t, s, newUser(b.ID, "total00@example.com"))
	if n := total(a.ID); n != created {
		t.Errorf("total after %d creates = %d", created, n)
	}
	all, err := s.Users(ctx, a.ID, licensing.Query{Limit: 1000})
	wantErr(t, "Users", err, nil)
	for _, u := range all.Items[:3] {
		wantErr(t, "DeleteUser", s.DeleteUser(ctx, a.ID, u.ID, now()), nil)
	}
	if n := total(a.ID); n != created-3 {
		t.Errorf("total after 3 deletes = %d, want %d", n, created-3)
	}
	bare, err := s.Users(ctx, a.ID, licensing.Query{Limit: 1000, WithoutTotal: true})
	wantErr(t, "Users without total", err, nil)
	if bare.Total != 0 || len(bare.Items) != created-3 {
		t.Errorf("Users without total: total %d and %d users, want 0 and %d", bare.Total, len(bare.Items), created-3)
	}
	wantErr(t, "DeleteUser", s.DeleteUser(ctx, b.ID, other.ID, now()), nil)
	if n := total(b.ID); n != 0 {
		t.Errorf("other account's total = %d, want 0", n)
	}
}
