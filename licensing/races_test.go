package licensing_test

import (
	"context"
	"errors"
	"testing"

	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
)

// TestRetryLostRace: a lost race is tried again until MaxRaceAttempts,
// then refused as unavailable; other outcomes pass through untouched; a
// wait cut by the request's end says so, unavailable too.
func TestRetryLostRace(t *testing.T) {
	ctx := t.Context()
	for attempt := 1; attempt < licensing.MaxRaceAttempts; attempt++ {
		if again, err := licensing.RetryLostRace(ctx, attempt, licensing.ErrStale); !again || err != nil {
			t.Fatalf("attempt %d lost: %v %v, want another attempt", attempt, again, err)
		}
	}
	if again, err := licensing.RetryLostRace(ctx, licensing.MaxRaceAttempts, licensing.ErrStale); again ||
		!errors.Is(err, licensing.ErrUnavailable) || errors.Is(err, licensing.ErrStale) {
		t.Errorf("the last attempt lost: %v %v, want ErrUnavailable alone", again, err)
	}
	for _, err := range []error{nil, licensing.ErrNotFound} {
		if again, got := licensing.RetryLostRace(ctx, 1, err); again || got != err {
			t.Errorf("RetryLostRace of %v: %v %v, want it back as it is", err, again, got)
		}
	}
	gone, cancel := context.WithCancel(ctx)
	cancel()
	if again, err := licensing.RetryLostRace(gone, 1, licensing.ErrStale); again ||
		!errors.Is(err, licensing.ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Errorf("a lost race after the request ended: %v %v, want ErrUnavailable and context.Canceled", again, err)
	}
}

// TestChangeUserLosingRaces: a user write (the admin API's and the
// console's grants, revokes and updates) that loses races to other
// writes of the user is made again from a fresh read and succeeds; one
// that loses every race is refused as unavailable and changes nothing.
// It was answered 409 by the admin API and 500 by the console.
func TestChangeUserLosingRaces(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			base := b.Open(t)
			f := newSeatFixture(t, base, "ann")
			store := &testenv.LosingStore{Store: base}
			grant := func(u *licensing.User) (string, error) {
				if u.Assignments.Of(rs4) == licensing.LicenseConcurrent {
					return "", nil
				}
				u.Assignments = licensing.SetLicense(u.Assignments, rs4, licensing.LicenseConcurrent)
				return rs4 + ": concurrent", nil
			}
			store.Lose.Store(12)
			u, written, err := licensing.ChangeUser(t.Context(), store, f.clock, f.acct.ID, f.users["ann"].ID, "product.grant", grant)
			if err != nil || !written || u.Assignments.Of(rs4) != licensing.LicenseConcurrent {
				t.Errorf("after losing 12 races: %v %v %v, want the grant written", u.Assignments, written, err)
			}
			store.Lose.Store(1 << 30)
			revoke := func(u *licensing.User) (string, error) {
				u.Assignments = licensing.SetLicense(u.Assignments, rs4, licensing.LicenseNone)
				return rs4 + ": concurrent", nil
			}
			if _, written, err := licensing.ChangeUser(t.Context(), store, f.clock, f.acct.ID, f.users["ann"].ID, "product.revoke", revoke); written ||
				!errors.Is(err, licensing.ErrUnavailable) || errors.Is(err, licensing.ErrStale) {
				t.Errorf("losing every race: %v %v, want ErrUnavailable alone", written, err)
			}
			if u, err := base.User(t.Context(), f.acct.ID, f.users["ann"].ID); err != nil || u.Assignments.Of(rs4) != licensing.LicenseConcurrent {
				t.Errorf("after the lost revoke: %v %v, want the grant kept", u.Assignments, err)
			}
		})
	}
}
