package conformance

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/licensing"
)

// throttleKey returns a key no other test uses.
func throttleKey() string { return "conf:" + newID() }

// testSignInThrottle checks the counting and blocking of failed sign-ins:
// counts go on per key, a block only grows, a quiet key starts again, and
// clearing forgets.
func testSignInThrottle(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	t0 := now()
	quiet := t0.Add(-24 * time.Hour)
	a, b := throttleKey(), throttleKey()
	until, err := s.SignInBlockedUntil(ctx, []string{a, b}, t0)
	if err != nil || !until.IsZero() {
		t.Fatalf("keys without failures: blocked until %v, %v", until, err)
	}
	blockAfter := func(free int, d time.Duration, at time.Time) func(int) time.Time {
		return func(n int) time.Time {
			if n <= free {
				return time.Time{}
			}
			return at.Add(d)
		}
	}
	for want := 1; want <= 3; want++ {
		n, err := s.RecordSignInFailure(ctx, a, t0, quiet, blockAfter(2, time.Minute, t0))
		if err != nil || n != want {
			t.Fatalf("failure %d of a key: count %d, %v", want, n, err)
		}
	}
	until, err = s.SignInBlockedUntil(ctx, []string{b, a}, t0)
	if err != nil || !until.Equal(t0.Add(time.Minute)) {
		t.Fatalf("after 3 failures with 2 free: blocked until %v, %v; want %v", until, err, t0.Add(time.Minute))
	}
	if until, _ := s.SignInBlockedUntil(ctx, []string{b}, t0); !until.IsZero() {
		t.Fatalf("another key is blocked until %v", until)
	}
	if until, _ := s.SignInBlockedUntil(ctx, []string{a}, t0.Add(time.Minute)); !until.IsZero() {
		t.Fatalf("a block that ended is still reported: %v", until)
	}
	// A shorter block does not shorten a longer one; a longer one wins.
	t1 := t0.Add(time.Second)
	if n, err := s.RecordSignInFailure(ctx, a, t1, quiet, blockAfter(2, time.Second, t1)); err != nil || n != 4 {
		t.Fatalf("4th failure: %d, %v", n, err)
	}
	if until, _ := s.SignInBlockedUntil(ctx, []string{a}, t1); !until.Equal(t0.Add(time.Minute)) {
		t.Fatalf("a shorter block replaced a longer one: blocked until %v", until)
	}
	if _, err := s.RecordSignInFailure(ctx, a, t1, quiet, blockAfter(2, time.Hour, t1)); err != nil {
		t.Fatal(err)
	}
	if until, _ := s.SignInBlockedUntil(ctx, []string{a, b}, t1); !until.Equal(t1.Add(time.Hour)) {
		t.Fatalf("a longer block did not extend the block: blocked until %v", until)
	}
	// Two keys blocked: the later block counts.
	if _, err := s.RecordSignInFailure(ctx, b, t1, quiet, blockAfter(0, 2*time.Hour, t1)); err != nil {
		t.Fatal(err)
	}
	if until, _ := s.SignInBlockedUntil(ctx, []string{a, b}, t1); !until.Equal(t1.Add(2 * time.Hour)) {
		t.Fatalf("two keys blocked: until %v, want the later %v", until, t1.Add(2*time.Hour))
	}
	// A key quiet since its last failure starts again at 1, unblocked.
	later := t1.Add(25 * time.Hour)
	n, err := s.RecordSignInFailure(ctx, a, later, later.Add(-24*time.Hour), blockAfter(2, time.Minute, later))
	if err != nil || n != 1 {
		t.Fatalf("failure after a quiet day: count %d, %v; want 1", n, err)
	}
	if until, _ := s.SignInBlockedUntil(ctx, []string{a}, t1); !until.IsZero() {
		t.Fatalf("the block of a forgotten key survives: %v", until)
	}
	// Clearing forgets count and block; clearing again is not an error.
	if err := s.ClearSignInFailures(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := s.ClearSignInFailures(ctx, b); err != nil {
		t.Fatalf("clearing a key without failures: %v", err)
	}
	if until, _ := s.SignInBlockedUntil(ctx, []string{b}, t1); !until.IsZero() {
		t.Fatalf("a cleared key is blocked until %v", until)
	}
	if n, err := s.RecordSignInFailure(ctx, b, t1, quiet, blockAfter(9, 0, t1)); err != nil || n != 1 {
		t.Fatalf("failure after clearing: count %d, %v; want 1", n, err)
	}
}

// testConcurrentSignInFailures records failures of one key at once: each
// gets a count of its own, none is lost.
func testConcurrentSignInFailures(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	t0 := now()
	key := throttleKey()
	const n = 20
	counts := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := s.RecordSignInFailure(ctx, key, t0, t0.Add(-time.Hour), func(int) time.Time { return t0.Add(time.Minute) })
			if err != nil {
				t.Error(err)
			}
			counts[i] = c
		}()
	}
	wg.Wait()
	slices.Sort(counts)
	for i, c := range counts {
		if c != i+1 {
			t.Fatalf("concurrent failures counted %v, want 1..%d each once", counts, n)
		}
	}
	if c, err := s.RecordSignInFailure(ctx, key, t0, t0.Add(-time.Hour), func(int) time.Time { return time.Time{} }); err != nil || c != n+1 {
		t.Fatalf("the failure after: count %d, %v; want %d", c, err, n+1)
	}
}
