package server_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
)

// benchUsers is the account size of the lookup benchmark:
// SCIMD_BENCH_USERS, default 10000.
func benchUsers(b *testing.B) int {
	if v := os.Getenv("SCIMD_BENCH_USERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("SCIMD_BENCH_USERS=%q", v)
		}
		return n
	}
	return 10000
}

// seedUsers creates n users in the account through the store, 8 at a time.
func seedUsers(b *testing.B, store licensing.Store, accountID string, n int) {
	b.Helper()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				now := time.Now().UTC()
				u := licensing.User{
					AccountID: accountID, ID: licensing.NewID(), UserName: fmt.Sprintf("user%07d@example.com", i),
					ExternalID: fmt.Sprintf("ext-%d", i), Active: true, Doc: []byte(`{"name":{"givenName":"Given","familyName":"Family"}}`),
					Created: now, LastModified: now, Version: 1,
				}
				if err := store.CreateUser(context.Background(), u); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d users in %s", n, time.Since(start).Round(time.Millisecond))
}

// BenchmarkUserNameLookup measures GET /Users?filter=userName eq "..."
// over HTTP, the request Okta and Entra send before every push, against
// an account of SCIMD_BENCH_USERS users on each backend.
//
//	SCIMD_TEST_POSTGRES=postgres://... SCIMD_BENCH_USERS=100000 go test ./server -run '^$' -bench UserNameLookup -benchtime 5000x
func BenchmarkUserNameLookup(b *testing.B) {
	n := benchUsers(b)
	for _, be := range testenv.Backends(b) {
		b.Run(fmt.Sprintf("%s/users=%d", be.Name, n), func(b *testing.B) {
			store := be.Open(b)
			h := newHarness(b, store)
			acct, bearer := h.account(b)
			seedUsers(b, store, acct.ID, n)
			client := &http.Client{}
			var took []time.Duration
			for i := 0; b.Loop(); i++ {
				start := time.Now()
				url := fmt.Sprintf("%s/Users?filter=userName%%20eq%%20%%22USER%07d%%40example.com%%22", h.url, (i*7919)%n)
				getJSON(b, client, url, bearer)
				took = append(took, time.Since(start))
			}
			slices.Sort(took)
			for _, p := range []struct {
				name string
				q    float64
			}{{"p50-ms", 0.50}, {"p95-ms", 0.95}, {"p99-ms", 0.99}} {
				b.ReportMetric(float64(took[int(p.q*float64(len(took)-1))].Microseconds())/1000, p.name)
			}
		})
	}
}

// getJSON sends an authorized GET and fails the benchmark unless it
// answers 200.
func getJSON(b *testing.B, client *http.Client, url, bearer string) {
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	var buf [16 << 10]byte
	for {
		if _, err := resp.Body.Read(buf[:]); err != nil {
			break
		}
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Fatalf("GET %s: status %d", url, resp.StatusCode)
	}
}

// BenchmarkAdminSharedSessions measures the admin's list of shared
// sessions over HTTP with 200 agents each holding one of 200 concurrent
// seats: the first page of 50 and the whole list (limit 500).
//
//	SCIMD_TEST_POSTGRES=postgres://... go test ./server -run '^$' -bench AdminSharedSessions -benchtime 500x
func BenchmarkAdminSharedSessions(b *testing.B) {
	const agents = 200
	for _, be := range testenv.Backends(b) {
		store := be.Open(b)
		h := newHarness(b, store)
		acct, _ := h.account(b)
		ctx := context.Background()
		if err := store.SetPlan(ctx, licensing.Plan{AccountID: acct.ID, ProductID: rs5, ConcurrentSeats: agents}); err != nil {
			b.Fatal(err)
		}
		sharedSeats(b, store, acct.ID, agents)
		bearer := h.adminToken(b, acct.ID, licensing.PrivRead)
		client := &http.Client{}
		for _, limit := range []int{50, 500} {
			b.Run(fmt.Sprintf("%s/seats=%d/limit=%d", be.Name, agents, limit), func(b *testing.B) {
				url := fmt.Sprintf("%s%s/sessions?product=%s&limit=%d", h.base, "/api/v1/admin", rs5, limit)
				for b.Loop() {
					getJSON(b, client, url, bearer)
				}
			})
		}
	}
}

// BenchmarkAdminUsersByProduct measures the admin's "agents of Remote
// Support v5 with a concurrent license" (first page of 50) over HTTP in
// an account of SCIMD_BENCH_USERS users, one in ten of them holding it.
//
//	SCIMD_TEST_POSTGRES=postgres://... SCIMD_BENCH_USERS=100000 go test ./server -run '^$' -bench AdminUsersByProduct -benchtime 500x
func BenchmarkAdminUsersByProduct(b *testing.B) {
	n := benchUsers(b)
	for _, be := range testenv.Backends(b) {
		b.Run(fmt.Sprintf("%s/users=%d", be.Name, n), func(b *testing.B) {
			store := be.Open(b)
			h := newHarness(b, store)
			acct, _ := h.account(b)
			ctx := context.Background()
			if err := store.SetPlan(ctx, licensing.Plan{AccountID: acct.ID, ProductID: rs5, ConcurrentSeats: 10}); err != nil {
				b.Fatal(err)
			}
			seedUsers(b, store, acct.ID, n)
			page, err := store.Users(ctx, acct.ID, licensing.Query{Limit: n, WithoutGroups: true, WithoutTotal: true})
			if err != nil {
				b.Fatal(err)
			}
			for i, u := range page.Items {
				if i%10 != 0 {
					continue
				}
				u.Assignments = licensing.Assignments{rs5: licensing.LicenseConcurrent}
				u.Version++
				if err := store.ReplaceUser(ctx, u, u.Version-1); err != nil {
					b.Fatal(err)
				}
			}
			bearer := h.adminToken(b, acct.ID, licensing.PrivRead)
			client := &http.Client{}
			url := fmt.Sprintf("%s%s/users?product=%s&license=concurrent&limit=50", h.base, "/api/v1/admin", rs5)
			for b.Loop() {
				getJSON(b, client, url, bearer)
			}
		})
	}
}
