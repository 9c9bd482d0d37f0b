package licensing_test

import (
	"context"
	"errors"
	"testing"

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
