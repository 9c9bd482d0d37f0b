package server_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/password"
	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/server"
	"github.com/scimd/scimd/storage/sqlstore"
)

// Console page-speed benchmark (issue 9, item 6): every console page for
// an account of a million users and 200 shared sessions, on PostgreSQL.
//
// It runs only when SCIMD_BENCH_POSTGRES names the database, and keeps
// its account there ("bench-console") between runs: the first run seeds
// it (about four minutes; cmd/scimload seed --account bench-console
// --users 1000000 --attributes makes the same users) with 360,000 seat
// events over 90 days, later runs top up only the 200 agents' sessions;
// every run seals the hours of seat events first, as serve does. Each sub-benchmark serves one page
// straight through the server's handler, so ns/op is server time.
//
//	SCIMD_BENCH_POSTGRES='postgres://...' go test -run '^$' -bench BenchmarkConsolePages -benchtime 50x ./server

const (
	benchConsoleAccount = "bench-console"
	benchConsoleUsers   = 1_000_000
	benchConsoleAgents  = 200
	benchConsoleNamed   = 1000
)

func BenchmarkConsolePages(b *testing.B) {
	dbURL := os.Getenv("SCIMD_BENCH_POSTGRES")
	if dbURL == "" {
		b.Skip("SCIMD_BENCH_POSTGRES not set")
	}
	store, err := sqlstore.Open(dbURL, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	if _, err := store.Migrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	acct := benchConsoleAccountOf(b, store)
	// Hours ten minutes past are summed up, as serve's purge loop does
	// every minute.
	if _, err := licensing.SealUsage(context.Background(), store, time.Now()); err != nil {
		b.Fatal(err)
	}
	h := consoleHarness(b, store, licensing.SystemClock{}, licensing.SignInPolicy{})
	admin := fmt.Sprintf("bench-admin-%d@example.com", time.Now().UnixNano())
	hash, err := password.Hash("secret-" + admin)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC()
	u := licensing.User{AccountID: acct.ID, ID: licensing.NewID(), UserName: admin, Active: true, Doc: []byte(`{}`),
		Created: now, LastModified: now, Version: 1, PasswordHash: hash}
	if err := store.CreateUser(context.Background(), u); err != nil {
		b.Fatal(err)
	}
	if _, err := store.SetConsolePrivileges(context.Background(), acct.ID, u.ID, licensing.AllPrivileges); err != nil {
		b.Fatal(err)
	}
	br := newBrowser(b, h.base)
	if status, _ := br.signIn(acct.Name, admin, "secret-"+admin); status != http.StatusOK {
		b.Fatalf("sign-in: %d", status)
	}
	base, _ := url.Parse(h.base + "/console/")
	cookies := br.c.Jar.Cookies(base)

	_, first := br.get("/console/users")
	next := regexp.MustCompile(`<a class="next" href="([^"]+)"`).FindStringSubmatch(first)
	if next == nil {
		b.Fatal("the users list has no second page")
	}
	day := time.Now().UTC().Add(-90 * 24 * time.Hour).Format("2006-01-02T15:04")
	pages := []struct{ name, path string }{
		{"users", "/console/users"},
		{"users-page-2", strings.ReplaceAll(next[1], "&amp;", "&")},
		{"users-rs5-concurrent", "/console/users?license=" + rs5 + ":concurrent"},
		{"users-rs5-named-active", "/console/users?license=" + rs5 + ":named&active=true"},
		{"users-inactive", "/console/users?active=false"},
		// Every userName holds "user0": this search's trigrams are in
		// every row, the trigram index's worst case.
		{"users-search", "/console/users?q=user0999"},
		{"users-search-name", "/console/users?q=given123456"},
		{"users-search-none", "/console/users?q=nobody-at-all"},
		{"products", "/console/products"},
		{"shared-sessions", "/console/sessions?product=" + rs5},
		{"usage-24h-hourly", "/console/usage"},
		{"usage-90d-daily", "/console/usage?bucket=day&from=" + day},
		{"usage-90d-daily-new-york", "/console/usage?bucket=day&tz=America/New_York&from=" + day},
		// Days that start at half past a UTC hour: 90 of those hours
		// are read as events.
		{"usage-90d-daily-kolkata", "/console/usage?bucket=day&tz=Asia/Kolkata&from=" + day},
		{"usage-csv", "/console/usage.csv"},
		{"audit", "/console/audit"},
		{"audit-filtered", "/console/audit?action=user.create&targetType=user"},
		{"connect", "/console/connect"},
	}
	// The admin API's report over the same 90 days, with a bearer token
	// in place of the console's cookies.
	bearer := h.adminToken(b, acct.ID, licensing.PrivRead)
	pages = append(pages, struct{ name, path string }{"api-usage-90d-daily", server.AdminPath + "/usage?bucket=day&from=" + day + ":00Z"})
	for _, p := range pages {
		b.Run(p.name, func(b *testing.B) {
			for b.Loop() {
				req := httptest.NewRequest("GET", h.base+p.path, nil)
				if strings.HasPrefix(p.path, server.AdminPath) {
					req.Header.Set("Authorization", "Bearer "+bearer)
				}
				for _, c := range cookies {
					req.AddCookie(c)
				}
				rec := httptest.NewRecorder()
				h.echo.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("%s: %d %s", p.path, rec.Code, rec.Body)
				}
			}
		})
	}
}

// benchConsoleAccountOf returns the benchmark's account, seeding it on
// the first run: a million directory users, 1000 agents with a named
// license and 200 with a concurrent one, each of those 200 holding a
// shared seat through a session started now.
func benchConsoleAccountOf(b *testing.B, store *sqlstore.Store) licensing.Account {
	ctx := context.Background()
	acct, err := store.AccountByName(ctx, benchConsoleAccount)
	if err != nil {
		acct = licensing.Account{ID: licensing.NewID(), Name: benchConsoleAccount, CreatedAt: time.Now().UTC()}
		if err := store.CreateAccount(ctx, acct); err != nil {
			b.Fatal(err)
		}
	}
	if err := store.SetPlan(ctx, licensing.Plan{AccountID: acct.ID, ProductID: rs5, NamedSeats: 2 * benchConsoleNamed, ConcurrentSeats: benchConsoleAgents + 50}); err != nil {
		b.Fatal(err)
	}
	all, err := store.Users(ctx, acct.ID, licensing.Query{Limit: 1, WithoutGroups: true})
	if err != nil {
		b.Fatal(err)
	}
	seeded := all.Total
	if seeded < benchConsoleUsers {
		b.Logf("seeding %d users", benchConsoleUsers-seeded)
		for start := seeded; start < benchConsoleUsers; start += 10000 {
			var users []licensing.User
			now := time.Now().UTC()
			for i := start; i < min(start+10000, benchConsoleUsers); i++ {
				users = append(users, licensing.User{AccountID: acct.ID, ID: licensing.NewID(), UserName: fmt.Sprintf("user%07d@example.com", i),
					Active: i%20 != 0, Created: now, LastModified: now, Version: 1,
					Doc: fmt.Appendf(nil, `{"name":{"givenName":"Given%d","familyName":"Family%d"},"emails":[{"value":"user%07d@mail.example.com","primary":true}]}`, i, i, i)})
			}
			if err := store.SeedUsers(ctx, acct.ID, users); err != nil {
				b.Fatal(err)
			}
		}
		if err := store.AnalyzeUsers(ctx); err != nil {
			b.Fatal(err)
		}
	}
	licensed, err := store.Users(ctx, acct.ID, licensing.Query{Filter: licensing.UserFilter{ProductID: rs5}.Cond(),
		Limit: 2 * (benchConsoleNamed + benchConsoleAgents), WithoutGroups: true, WithoutTotal: true})
	if err != nil {
		b.Fatal(err)
	}
	byName := map[string]licensing.User{}
	for _, u := range licensed.Items {
		byName[u.UserName] = u
	}
	agents := licensing.NewAgents(store, licensing.SystemClock{}, licensing.DefaultCatalog(), licensing.AgentConfig{}, nil)
	for i := range benchConsoleNamed + benchConsoleAgents {
		name := fmt.Sprintf("agent%04d@example.com", i)
		kind := licensing.LicenseNamed
		if i >= benchConsoleNamed {
			kind = licensing.LicenseConcurrent
		}
		u, ok := byName[name]
		if !ok {
			now := time.Now().UTC()
			u = licensing.User{AccountID: acct.ID, ID: licensing.NewID(), UserName: name, Active: true, Created: now, LastModified: now, Version: 1,
				Doc:         fmt.Appendf(nil, `{"name":{"givenName":"Agent","familyName":"No%04d"},"emails":[{"value":"%s","primary":true}]}`, i, name),
				Assignments: licensing.Assignments{rs5: kind}}
			entry := licensing.AuditEntry{AccountID: acct.ID, At: now, ActorID: "bench", ActorName: "bench", ActorScope: licensing.ScopeSCIM,
				Action: "user.create", TargetType: "user", TargetID: u.ID, Detail: name}
			if err := store.CreateUser(ctx, u, entry); err != nil {
				b.Fatal(err)
			}
		}
		if kind == licensing.LicenseConcurrent {
			// A fresh session each run keeps the seat held past the
			// support-key lifetime of the last run's.
			if _, err := agents.Start(ctx, acct.ID, u.ID, licensing.StartRequest{ProductID: rs5, Platform: licensing.PlatformWindows}); err != nil {
				b.Fatal(err)
			}
		}
	}
	seedBenchSeatEvents(b, store, acct)
	return acct
}

// benchSeatEvents is how many seat events the benchmark's account holds
// over the last 90 days, at least: usage reports over 90 days walk them.
const benchSeatEvents = 360_000

// seedBenchSeatEvents gives the account benchSeatEvents seat events over
// the 90 days before now, once: agents occupying a seat for 5 to 90
// minutes (each occupied event followed by its release, so the seats
// occupied now stay those of the benchmark's sessions) and denials.
func seedBenchSeatEvents(b *testing.B, store *sqlstore.Store, acct licensing.Account) {
	ctx := context.Background()
	now := time.Now().UTC()
	start := now.Add(-90 * 24 * time.Hour)
	have, err := store.SeatEvents(ctx, acct.ID, start, now)
	if err != nil {
		b.Fatal(err)
	}
	if len(have) >= benchSeatEvents {
		return
	}
	b.Logf("seeding %d seat events", benchSeatEvents)
	r := rand.New(rand.NewPCG(9, 9))
	span := int64(now.Add(-2 * time.Hour).Sub(start))
	var evs []licensing.SeatEvent
	for i := 0; len(evs) < benchSeatEvents; i++ {
		user := fmt.Sprintf("seed-agent-%03d", r.IntN(300))
		at := start.Add(time.Duration(r.Int64N(span)))
		if i%5 == 4 {
			evs = append(evs, licensing.SeatEvent{ProductID: rs5, UserID: user, Kind: licensing.SeatDenied, At: at})
			continue
		}
		held := 5*time.Minute + time.Duration(r.Int64N(int64(85*time.Minute)))
		evs = append(evs,
			licensing.SeatEvent{ProductID: rs5, UserID: user, Kind: licensing.SeatOccupied, At: at},
			licensing.SeatEvent{ProductID: rs5, UserID: user, Kind: licensing.SeatReleased, Reason: licensing.EndedByAgent, At: at.Add(held)})
	}
	// In time order, as the seat engine records them (an hour's events
	// lie together in the table).
	slices.SortStableFunc(evs, func(a, b licensing.SeatEvent) int { return a.At.Compare(b.At) })
	for chunk := range slices.Chunk(evs, 20000) {
		if err := store.SeedSeatEvents(ctx, acct.ID, chunk); err != nil {
			b.Fatal(err)
		}
	}
}
