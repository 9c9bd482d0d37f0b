package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/storage/sqlstore"
)

// The in-process benchmarks below serve scimd and load it in one process,
// so that "go test -cpuprofile" sees where the server's time goes (scimd
// serve has no pprof endpoint). Client and server share the CPUs: read
// their latencies as relative, and use the scimload command for the
// numbers of docs/performance.md.
//
//	SCIMLOAD_BENCH_DATABASE  database URL (default: SQLite in a temporary directory)
//	SCIMLOAD_BENCH_ACCOUNT   account to use, seeded with the default pattern if missing (default bench)
//	SCIMLOAD_BENCH_USERS     users the account holds, or gets when seeded (default 10000)
//
//	SCIMLOAD_BENCH_DATABASE='postgres://postgres@127.0.0.1:5432/scimload_bench?sslmode=disable' \
//	SCIMLOAD_BENCH_USERS=100000 go test ./cmd/scimload -run '^$' -bench Server -cpuprofile cpu.out

// benchServer opens the benchmark's database, seeds its account if
// needed, and serves it; it returns the client of a fresh token.
func benchServer(b *testing.B) (*client, int) {
	b.Helper()
	ctx := context.Background()
	db := os.Getenv("SCIMLOAD_BENCH_DATABASE")
	if db == "" {
		db = "sqlite:" + filepath.Join(b.TempDir(), "bench.db")
	}
	if err := checkLocalDatabase(ctx, db, os.Getenv, net.DefaultResolver.LookupIPAddr); err != nil {
		b.Fatal(err)
	}
	name := os.Getenv("SCIMLOAD_BENCH_ACCOUNT")
	if name == "" {
		name = "bench"
	}
	n := 10000
	if v := os.Getenv("SCIMLOAD_BENCH_USERS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("SCIMLOAD_BENCH_USERS=%q", v)
		}
	}
	store, err := sqlstore.Open(db, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	if _, err := store.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	acct, err := store.AccountByName(ctx, name)
	if errors.Is(err, licensing.ErrNotFound) {
		start := time.Now()
		seed := seedConfig{accountFlags: accountFlags{users: n, pattern: defaultPattern}}
		if acct, err = licensing.CreateAccount(ctx, store, licensing.SystemClock{}, name); err != nil {
			b.Fatal(err)
		}
		for from := 0; from < n; from += 10000 {
			users, err := seed.seedUsers(acct.ID, from, min(from+10000, n), time.Now())
			if err == nil {
				err = store.SeedUsers(ctx, acct.ID, users)
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		b.Logf("seeded %d users in %s", n, time.Since(start).Round(time.Millisecond))
	} else if err != nil {
		b.Fatal(err)
	}
	_, bearer, err := licensing.IssueToken(ctx, store, licensing.SystemClock{}, acct.ID, "bench", licensing.ScopeSCIM)
	if err != nil {
		b.Fatal(err)
	}
	base := startScimd(b, store)
	return newClient(common{bases: []string{base}, token: bearer, concurrency: 16, timeout: time.Minute}), n
}

// BenchmarkServerLookup measures userName eq lookups, 16 in flight.
func BenchmarkServerLookup(b *testing.B) {
	cl, n := benchServer(b)
	var seed atomic.Uint64
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		rng := rand.New(rand.NewPCG(seed.Add(1), 7))
		rec := newRecorder("lookup")
		for pb.Next() {
			lookup(context.Background(), cl, rec, fmt.Sprintf(defaultPattern, rng.IntN(n)), 1)
		}
		if rec.failed() > 0 {
			b.Errorf("lookups failed: %v (%s)", rec.errors, rec.first)
		}
	})
}

// BenchmarkServerIndexPage measures pages of 100 at random startIndex.
func BenchmarkServerIndexPage(b *testing.B) {
	cl, n := benchServer(b)
	rng := rand.New(rand.NewPCG(1, 2))
	for b.Loop() {
		a, err := cl.do(context.Background(), "GET", fmt.Sprintf("/Users?startIndex=%d&count=100", 1+rng.IntN(n)), nil)
		if err != nil || a.status != 200 {
			b.Fatalf("page: %v %d", err, a.status)
		}
	}
}

// BenchmarkServerCursorPage walks the users by cursor, 100 a page,
// starting over at the end.
func BenchmarkServerCursorPage(b *testing.B) {
	cl, _ := benchServer(b)
	cursor := ""
	for b.Loop() {
		a, err := cl.do(context.Background(), "GET", "/Users?count=100&cursor="+url.QueryEscape(cursor), nil)
		var page listPage
		if err != nil || a.status != 200 || json.Unmarshal(a.body, &page) != nil {
			b.Fatalf("page: %v %d", err, a.status)
		}
		cursor = page.NextCursor
	}
}

// BenchmarkServerCreate measures POST /Users, 16 in flight.
func BenchmarkServerCreate(b *testing.B) {
	cl, _ := benchServer(b)
	tag := runID()
	var next atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1)
			body, _ := json.Marshal(userBody(fmt.Sprintf("bench-%s-%d@example.com", tag, i), int(i), false, nil))
			a, err := cl.do(context.Background(), "POST", "/Users", body)
			if err != nil || a.status != 201 {
				b.Errorf("create: %v %d %s", err, a.status, snippet(a.body))
				return
			}
		}
	})
}

// BenchmarkServerSeats runs the seats scenario once against two
// in-process replicas over the benchmark's database, so that
// -cpuprofile sees the servers' seat paths beside scimload's own:
// SCIMLOAD_BENCH_AGENTS agents (default 200) race for
// SCIMLOAD_BENCH_SEATS seats (default 20) of account seats for
// SCIMLOAD_BENCH_DURATION (default 20s), hold and pause 50 ms, no wait.
// Run it with -benchtime 1x; it reports seat cycles and denials per
// second.
//
//	SCIMLOAD_BENCH_DATABASE='postgres://postgres@127.0.0.1:5432/scimload_seats?sslmode=disable' \
//	go test ./cmd/scimload -run '^$' -bench ServerSeats -benchtime 1x -cpuprofile seats.cpu
func BenchmarkServerSeats(b *testing.B) {
	db := os.Getenv("SCIMLOAD_BENCH_DATABASE")
	if db == "" {
		db = "sqlite:" + filepath.Join(b.TempDir(), "bench.db")
	}
	setting := func(name, def string) string {
		if v := os.Getenv("SCIMLOAD_BENCH_" + name); v != "" {
			return v
		}
		return def
	}
	store := openMigrated(b, db)
	urls := startScimd(b, store) + "," + startScimd(b, store)
	for b.Loop() {
		var out bytes.Buffer
		err := run(context.Background(), []string{"seats", "--url", urls, "--database-url", db, "--agents", setting("AGENTS", "200"),
			"--seats", setting("SEATS", "20"), "--duration", setting("DURATION", "20s"), "--json"}, &out, io.Discard, noEnv, net.DefaultResolver.LookupIPAddr)
		var rep Report
		if jerr := json.Unmarshal(out.Bytes(), &rep); err != nil || jerr != nil || rep.Seats == nil {
			b.Fatalf("seats: %v %v\n%s", err, jerr, out.String())
		}
		b.ReportMetric(rep.Seats.Scimd.CyclesPerSec, "cycles/s")
		b.ReportMetric(float64(rep.Seats.Scimd.Denials)/rep.Seconds, "denials/s")
	}
}
