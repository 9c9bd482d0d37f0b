package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimd/scimd/licensing"
)

// benchDialects runs f against SQLite and, when SCIMD_TEST_POSTGRES is
// set, PostgreSQL.
func benchDialects(b *testing.B, f func(b *testing.B, s *Store)) {
	b.Run("sqlite", func(b *testing.B) { f(b, openSQLite(b)) })
	b.Run("postgres", func(b *testing.B) { f(b, openPostgres(b)) })
}

// benchAccount creates an account with a plan of the product and n
// users holding it concurrently.
func benchAccount(b *testing.B, s *Store, product string, seats, n int) (string, []string) {
	b.Helper()
	ctx := context.Background()
	acc := licensing.Account{ID: "bench-" + randomHex(8), Name: "bench-" + randomHex(8), CreatedAt: time.Now()}
	if err := s.CreateAccount(ctx, acc); err != nil {
		b.Fatal(err)
	}
	if err := s.SetPlan(ctx, licensing.Plan{AccountID: acc.ID, ProductID: product, ConcurrentSeats: seats}); err != nil {
		b.Fatal(err)
	}
	users := make([]string, n)
	for i := range users {
		u := licensing.User{AccountID: acc.ID, ID: randomHex(8), UserName: fmt.Sprintf("agent%d@example.com", i),
			Active: true, Version: 1, Created: time.Now(), LastModified: time.Now(),
			Assignments: licensing.Assignments{product: licensing.LicenseConcurrent}}
		if err := s.CreateUser(ctx, u); err != nil {
			b.Fatal(err)
		}
		users[i] = u.ID
	}
	return acc.ID, users
}

// claimRelease starts a session of the user and, if it got a seat, ends
// it; it reports whether the claim was refused.
func claimRelease(ctx context.Context, s *Store, accountID, userID, product string) (denied bool, err error) {
	now := time.Now()
	sess := &licensing.Session{ID: randomHex(12), AccountID: accountID, ProductID: product, UserID: userID,
		CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(time.Hour)}
	err = s.StartSession(ctx, sess, "")
	if errors.Is(err, licensing.ErrSeatLimit) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	_, err = s.EndSession(ctx, accountID, userID, sess.ID, licensing.EndedByAgent, "", now)
	return false, err
}

// BenchmarkClaimRelease measures a claim of a concurrent seat and its
// release (StartSession then EndSession) by one user, without contention.
func BenchmarkClaimRelease(b *testing.B) {
	benchDialects(b, func(b *testing.B, s *Store) {
		ctx := context.Background()
		const product = "remote-support-v5"
		acc, users := benchAccount(b, s, product, 1, 1)
		b.ResetTimer()
		for b.Loop() {
			denied, err := claimRelease(ctx, s, acc, users[0], product)
			if err != nil || denied {
				b.Fatalf("claim: denied %t, %v", denied, err)
			}
		}
	})
}

// BenchmarkClaimReleaseContended measures claims and releases by many
// users at once (goroutines: 8 per CPU) on a pool of 4 seats: each
// operation is one StartSession and, when it got a seat, its EndSession.
// It reports the share of claims refused.
func BenchmarkClaimReleaseContended(b *testing.B) {
	benchDialects(b, func(b *testing.B, s *Store) {
		ctx := context.Background()
		const product = "remote-support-v5"
		acc, users := benchAccount(b, s, product, 4, 64)
		var next, denials, ops atomic.Int64
		b.SetParallelism(8)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				user := users[next.Add(1)%int64(len(users))]
				denied, err := claimRelease(ctx, s, acc, user, product)
				if err != nil {
					b.Errorf("claim: %v", err)
					return
				}
				ops.Add(1)
				if denied {
					denials.Add(1)
				}
			}
		})
		b.StopTimer()
		if n := ops.Load(); n > 0 {
			b.ReportMetric(float64(denials.Load())/float64(n), "denied/op")
		}
		if all, err := s.Usage(ctx, acc); err != nil || len(all) != 1 || all[0].ConcurrentOccupied != 0 {
			b.Errorf("after the benchmark: %+v (%v), want no seat occupied", all, err)
		}
	})
}
