package server_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/admin"
	"github.com/scimd/scimd/agent"
	"github.com/scimd/scimd/internal/metrics"
	"github.com/scimd/scimd/internal/metricstest"
	"github.com/scimd/scimd/internal/password"
	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/server"
	"github.com/scimd/scimd/storage/sqlstore"
)

// newMetricsHarness is a scimd server over the store on the clock, with
// its metrics wired as cmd wires them and served at /metrics.
func newMetricsHarness(t *testing.T, store *sqlstore.Store, clock licensing.Clock) *harness {
	t.Helper()
	catalog := licensing.DefaultCatalog()
	m := metrics.New(metrics.Options{Version: "test", Catalog: catalog, Seats: store, Clock: clock,
		DB: store.DB(), DBName: store.Dialect(), PasswordLoad: password.NewPool(password.PoolOptions{}).Load})
	store.Observe(m)
	t.Cleanup(func() { store.Observe(nil) })
	sc, err := scim.New(store, scim.Options{MountPath: server.SCIMPath, DefaultPageSize: 100, MaxPageSize: 200,
		MaxBodyBytes: testBodyLimit, Clock: clock, Catalog: catalog})
	if err != nil {
		t.Fatal(err)
	}
	agents := licensing.NewAgents(store, clock, catalog, licensing.AgentConfig{KeyLifetime: 10 * time.Minute, Lease: 2 * time.Minute, MaxWait: 30 * time.Second, Poll: 20 * time.Millisecond}, nil)
	ag := agent.New(agent.Options{Store: store, Clock: clock, Catalog: catalog, Agents: agents, Verify: password.NewPool(password.PoolOptions{}).Verifier(password.LaneSignIn)})
	ad := admin.New(admin.Options{Store: store, Clock: clock, Catalog: catalog})
	e := server.New(server.Options{Store: store, Clock: clock, Logger: slog.New(slog.DiscardHandler), SCIM: sc, Agent: ag, Admin: ad,
		OpenAPI: admin.OpenAPIDocument, Requests: m, Metrics: m.Handler()})
	hits := &opHits{}
	ts := httptest.NewServer(checkAgainstOpenAPI(t, e, hits))
	t.Cleanup(ts.Close)
	return &harness{store: store, echo: e, hits: hits, url: ts.URL + server.SCIMPath, base: ts.URL}
}

// TestMetricsOfSeatsAndRequests scrapes /metrics after an agent's claim,
// another's denial, a release, an expiry freed by the reaper on a clock
// the test moves, and requests of several routes: the seat counters and
// gauges moved under the product's label, requests are counted by route
// template (the SCIM wildcard and unknown paths folded into bounded
// templates), and no label carries an account, user, token or session.
func TestMetricsOfSeatsAndRequests(t *testing.T) {
	for _, b := range testenv.IsolatedBackends(t) {
		t.Run(b.Name, func(t *testing.T) {
			store := b.Open(t)
			clock := testenv.NewClock(time.Now().UTC())
			h := newMetricsHarness(t, store, clock)
			acct, scimToken := h.account(t)
			ctx := context.Background()
			if err := store.SetPlan(ctx, licensing.Plan{AccountID: acct.ID, ProductID: rs5, ConcurrentSeats: 1}); err != nil {
				t.Fatal(err)
			}
			users, tokens := map[string]licensing.User{}, map[string]string{}
			for _, name := range []string{"ann", "bob", "cyd", "dan"} {
				userName := name + "-" + licensing.NewID()[:8] + "@example.com"
				users[name] = agentUser(t, store, acct.ID, userName, true, licensing.Assignments{rs5: licensing.LicenseConcurrent})
				tokens[name], _ = signIn(t, h, acct.Name, userName)
			}
			start := func(name string, want int) map[string]any {
				t.Helper()
				status, body := agentCall(t, h, "POST", "/sessions", tokens[name], `{"product":"`+rs5+`","platform":"windows"}`)
				if status != want {
					t.Fatalf("%s starts a session: %d %v, want %d", name, status, body, want)
				}
				return body
			}
			annSession := start("ann", http.StatusCreated)["id"].(string)
			start("bob", http.StatusConflict)
			if status, body := agentCall(t, h, "POST", "/sessions/"+annSession+"/end", tokens["ann"], ""); status != http.StatusOK {
				t.Fatalf("ann ends her session: %d %v", status, body)
			}
			cydSession := start("cyd", http.StatusCreated)["id"].(string)
			// Cyd never connects: past the support-key lifetime the reaper
			// frees her seat.
			clock.Advance(11 * time.Minute)
			if n, err := licensing.Reap(ctx, store, clock, 100); err != nil || n != 1 {
				t.Fatalf("Reap = %d, %v; want cyd's session", n, err)
			}
			start("dan", http.StatusCreated)
			if _, err := store.JoinQueue(ctx, acct.ID, rs5, users["bob"].ID, clock.Now(), clock.Now().Add(time.Minute), 0); err != nil {
				t.Fatal(err)
			}

			// Requests whose paths carry ids, or match no route.
			for _, r := range []struct {
				path   string
				status int
			}{
				{server.SCIMPath + "/Users/" + users["ann"].ID, http.StatusOK},
				{server.SCIMPath + "/Users/" + users["ann"].ID + "/" + acct.ID + "/x", http.StatusNotFound},
				{server.SCIMPath + "/" + acct.Name, http.StatusNotFound},
				{"/no/such/" + acct.ID, http.StatusNotFound},
			} {
				if status, _, body := send(t, "GET", h.base+r.path, scimToken, "", ""); status != r.status {
					t.Fatalf("GET %s: %d %s, want %d", r.path, status, body, r.status)
				}
			}

			s := metricstest.Scrape(t, h.base+server.MetricsPath)
			want := func(v float64, name string, labels ...string) {
				t.Helper()
				if got, ok := s.Value(name, labels...); !ok || got != v {
					t.Errorf("%s%v = %v (found %v), want %v", name, labels, got, ok, v)
				}
			}
			want(3, "scimd_seat_events_total", "product", rs5, "kind", "occupied")
			want(1, "scimd_seat_events_total", "product", rs5, "kind", "denied")
			want(1, "scimd_seat_events_total", "product", rs5, "kind", "released")
			want(1, "scimd_seat_events_total", "product", rs5, "kind", "expired")
			want(0, "scimd_seat_events_total", "product", rs5, "kind", "ended")
			want(1, "scimd_seat_stats_up")
			want(1, "scimd_concurrent_seats", "product", rs5)
			want(1, "scimd_concurrent_seats_occupied", "product", rs5)
			want(1, "scimd_concurrent_pools_full", "product", rs5)
			want(1, "scimd_seat_waiters", "product", rs5)
			want(3, "scimd_http_requests_total", "method", "POST", "route", server.AgentPath+"/sessions", "status", "201")
			want(1, "scimd_http_requests_total", "method", "POST", "route", server.AgentPath+"/sessions", "status", "409")
			want(1, "scimd_http_requests_total", "method", "POST", "route", server.AgentPath+"/sessions/{id}/end", "status", "200")
			want(4, "scimd_http_requests_total", "method", "POST", "route", server.AgentPath+"/signin", "status", "200")
			want(1, "scimd_http_requests_total", "method", "GET", "route", server.SCIMPath+"/Users/{id}", "status", "200")
			want(2, "scimd_http_requests_total", "method", "GET", "route", server.SCIMPath+"/{other}", "status", "404")
			want(1, "scimd_http_requests_total", "method", "GET", "route", "other", "status", "404")
			want(4, "scimd_http_request_duration_seconds", "route", server.AgentPath+"/sessions")
			if _, ok := s.Value("go_sql_open_connections", "db_name", store.Dialect()); !ok {
				t.Errorf("no database pool statistics for db_name %q", store.Dialect())
			}
			if _, ok := s.Value("scimd_password_hash_slots"); !ok {
				t.Errorf("no password-hash slots gauge")
			}

			secrets := []string{acct.ID, acct.Name, scimToken, annSession, cydSession}
			for name, u := range users {
				secrets = append(secrets, u.ID, u.UserName, tokens[name])
			}
			for _, l := range s.Labels() {
				for _, secret := range secrets {
					if _, value, _ := strings.Cut(l, "="); strings.Contains(value, secret) {
						t.Errorf("label %s carries %q", l, secret)
					}
				}
			}
		})
	}
}

// TestMetricsDatabaseDown checks that a scrape while the database cannot
// be read still answers 200, with scimd_seat_stats_up 0 and without the
// seat gauges.
func TestMetricsDatabaseDown(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			store := b.Open(t)
			h := newMetricsHarness(t, store, licensing.SystemClock{})
			acct, _ := h.account(t)
			if err := store.SetPlan(context.Background(), licensing.Plan{AccountID: acct.ID, ProductID: rs5, ConcurrentSeats: 1}); err != nil {
				t.Fatal(err)
			}
			if v, _ := metricstest.Scrape(t, h.base+server.MetricsPath).Value("scimd_seat_stats_up"); v != 1 {
				t.Fatalf("scimd_seat_stats_up = %v with the database up", v)
			}
			store.Close()
			s := metricstest.Scrape(t, h.base+server.MetricsPath)
			if v, ok := s.Value("scimd_seat_stats_up"); !ok || v != 0 {
				t.Errorf("scimd_seat_stats_up = %v (found %v) with the database closed, want 0", v, ok)
			}
			if _, ok := s.Value("scimd_concurrent_seats", "product", rs5); ok {
				t.Errorf("seat gauges served with the database closed")
			}
			if v, _ := s.Value("scimd_build_info"); v != 1 {
				t.Errorf("scimd_build_info = %v, want 1", v)
			}
		})
	}
}
