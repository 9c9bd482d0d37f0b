package conformance

import (
	"context"
	"testing"
	"time"

	"github.com/scimd/scimd/licensing"
)

// testRetentionSignInThrottle: the purge deletes failed sign-in counts
// whose last failure and block both ended before the cutoff, and keeps a
// key that failed after it and a key still blocked at it.
func testRetentionSignInThrottle(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	// Within the last day: every failed sign-in, of any test sharing the
	// database, may delete keys quiet for a day along the way.
	cutoff := now().Add(-time.Hour)
	t0 := cutoff.Add(-time.Hour)
	quiet := t0.Add(-licensing.DefaultSignInQuiet)
	blockFor := func(d time.Duration, at time.Time) func(int) time.Time {
		return func(int) time.Time { return at.Add(d) }
	}
	forgotten, recent, blocked := throttleKey(), throttleKey(), throttleKey()
	record := func(key string, at time.Time, block time.Duration) {
		t.Helper()
		if _, err := s.RecordSignInFailure(ctx, key, at, quiet, blockFor(block, at)); err != nil {
			t.Fatalf("RecordSignInFailure: %v", err)
		}
	}
	record(forgotten, t0, time.Minute)
	record(recent, cutoff.Add(30*time.Minute), time.Minute)
	record(blocked, t0, 2*time.Hour) // blocked until after the cutoff

	for {
		n, err := s.Purge(ctx, licensing.PurgeSignInThrottle, cutoff, 1000)
		if err != nil {
			t.Fatalf("Purge: %v", err)
		}
		if n < 1000 {
			break
		}
	}
	// A purged key has no count left: its next failure is the first.
	if n, err := s.RecordSignInFailure(ctx, forgotten, t0.Add(time.Second), quiet, blockFor(0, t0)); err != nil || n != 1 {
		t.Errorf("failure of a purged key: count %d, %v; want 1", n, err)
	}
	if n, err := s.RecordSignInFailure(ctx, recent, cutoff.Add(40*time.Minute), quiet, blockFor(0, t0)); err != nil || n != 2 {
		t.Errorf("failure of a key that failed after the cutoff: count %d, %v; want 2 (kept)", n, err)
	}
	if until, err := s.SignInBlockedUntil(ctx, []string{blocked}, cutoff); err != nil || until.IsZero() {
		t.Errorf("a key blocked past the cutoff: blocked until %v, %v; want kept", until, err)
	}
	for _, k := range []string{forgotten, recent, blocked} {
		if err := s.ClearSignInFailures(ctx, k); err != nil {
			t.Fatalf("ClearSignInFailures: %v", err)
		}
	}
}
