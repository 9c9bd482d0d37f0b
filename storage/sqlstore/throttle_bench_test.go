package sqlstore

import (
	"context"
	"testing"
	"time"
)

// BenchmarkSignInThrottle measures what the throttle adds to a failed
// password sign-in: the check of two keys, then a failure recorded on
// each (the key of a userName and the key of an address).
func BenchmarkSignInThrottle(b *testing.B) {
	benchDialects(b, func(b *testing.B, s *Store) {
		ctx := context.Background()
		user, addr := "bench:u:"+randomHex(8), "bench:a:"+randomHex(8)
		block := func(int) time.Time { return time.Time{} } // count only: a block would stop the loop
		for b.Loop() {
			now := time.Now()
			if _, err := s.SignInBlockedUntil(ctx, []string{user, addr}, now); err != nil {
				b.Fatal(err)
			}
			for _, k := range []string{user, addr} {
				if _, err := s.RecordSignInFailure(ctx, k, now, now.Add(-24*time.Hour), block); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
