package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
)

// TestPurgeSignInThrottle: the purge deletes the failed sign-in counts
// whose last failure and block both ended before the cutoff, and keeps a
// key that failed after it and a key still blocked at it. It needs a
// database of its own: its purge would delete other tests' keys.
func TestPurgeSignInThrottle(t *testing.T) {
	for _, b := range testenv.IsolatedBackends(t) {
		t.Run(b.Name, func(t *testing.T) {
			s := b.Open(t)
			ctx := context.Background()
			cutoff := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
			t0 := cutoff.Add(-time.Hour)
			quiet := t0.Add(-licensing.DefaultSignInQuiet)
			blockFor := func(d time.Duration, at time.Time) func(int) time.Time {
				return func(int) time.Time { return at.Add(d) }
			}
			record := func(key string, at time.Time, block time.Duration) int {
				t.Helper()
				n, err := s.RecordSignInFailure(ctx, key, at, quiet, blockFor(block, at))
				if err != nil {
					t.Fatalf("RecordSignInFailure: %v", err)
				}
				return n
			}
			record("forgotten", t0, time.Minute)
			record("recent", cutoff.Add(30*time.Minute), time.Minute)
			record("blocked", t0, 2*time.Hour) // blocked until after the cutoff

			if n, err := s.Purge(ctx, licensing.PurgeSignInThrottle, cutoff, 1000); n != 1 || err != nil {
				t.Fatalf("Purge = %d, %v; want the one forgotten key", n, err)
			}
			// A purged key has no count left: its next failure is the first.
			if n := record("forgotten", t0.Add(time.Second), 0); n != 1 {
				t.Errorf("failure of a purged key: count %d, want 1", n)
			}
			if n := record("recent", cutoff.Add(40*time.Minute), 0); n != 2 {
				t.Errorf("failure of a key that failed after the cutoff: count %d, want 2 (kept)", n)
			}
			if until, err := s.SignInBlockedUntil(ctx, []string{"blocked"}, cutoff); err != nil || until.IsZero() {
				t.Errorf("a key blocked past the cutoff: blocked until %v, %v; want kept", until, err)
			}
		})
	}
}
