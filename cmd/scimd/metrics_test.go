package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/metricstest"
	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
)

// databaseURLs returns a new SQLite file and, when configured, a new
// PostgreSQL database of the test's own (serve runs the reaper, which
// works across accounts).
func databaseURLs(t *testing.T) map[string]string {
	urls := map[string]string{"sqlite": "sqlite:" + filepath.Join(t.TempDir(), "scimd.db")}
	for _, b := range testenv.Backends(t) {
		if b.Name == "postgres" {
			urls[b.Name] = testenv.IsolatedPostgresURL(t)
		}
	}
	return urls
}

var metricsListening = regexp.MustCompile(`metrics listening" addr=(\S+)`)

// get returns the status of a GET of url.
func get(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestMetricsOnMainListener checks that serve answers /metrics on its
// listener by default, counting its requests by route.
func TestMetricsOnMainListener(t *testing.T) {
	for name, db := range databaseURLs(t) {
		t.Run(name, func(t *testing.T) {
			addr, _, _, stop := startServeWith(t, db)
			if status := get(t, "http://"+addr+"/healthz"); status != http.StatusOK {
				t.Fatalf("/healthz: %d", status)
			}
			s := metricstest.Scrape(t, "http://"+addr+"/metrics")
			if v, _ := s.Value("scimd_http_requests_total", "route", "/healthz", "status", "200"); v != 1 {
				t.Errorf("scimd_http_requests_total{route=/healthz} = %v, want 1", v)
			}
			if v, _ := s.Value("scimd_build_info", "version", buildVersion()); v != 1 {
				t.Errorf("scimd_build_info{version=%q} = %v, want 1", buildVersion(), v)
			}
			if v, ok := s.Value("scimd_seat_stats_up"); !ok || v != 1 {
				t.Errorf("scimd_seat_stats_up = %v (found %v), want 1", v, ok)
			}
			if err := stop(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestMetricsListen checks that with --metrics-listen the metrics are
// served on that address only, and that it stops with the server.
func TestMetricsListen(t *testing.T) {
	for name, db := range databaseURLs(t) {
		t.Run(name, func(t *testing.T) {
			addr, _, stderr, stop := startServeWith(t, db, "--metrics-listen", "127.0.0.1:0")
			m := metricsListening.FindStringSubmatch(stderr.String())
			if m == nil {
				t.Fatalf("no metrics listener logged:\n%s", stderr.String())
			}
			maddr := m[1]
			s := metricstest.Scrape(t, "http://"+maddr+"/metrics")
			if _, ok := s.Value("scimd_build_info"); !ok {
				t.Errorf("the metrics listener serves no scimd_build_info")
			}
			if _, ok := s.Value("go_sql_max_open_connections"); !ok {
				t.Errorf("the metrics listener serves no database pool statistics")
			}
			if status := get(t, "http://"+addr+"/metrics"); status != http.StatusNotFound {
				t.Errorf("/metrics on the main listener: %d, want 404", status)
			}
			if status := get(t, "http://"+maddr+"/healthz"); status != http.StatusNotFound {
				t.Errorf("/healthz on the metrics listener: %d, want 404", status)
			}
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			if resp, err := http.Get("http://" + maddr + "/metrics"); err == nil {
				resp.Body.Close()
				t.Errorf("the metrics listener still answers after serve stopped")
			}
		})
	}
}

// TestReapCountsRuns runs serve's reaper loop over a store on a clock the
// test moves past a session's lease, with the metrics serve wires: the
// run, the session it ended and the seat's expiry are counted.
func TestReapCountsRuns(t *testing.T) {
	for _, b := range testenv.IsolatedBackends(t) {
		t.Run(b.Name, func(t *testing.T) {
			store := b.Open(t)
			log := slog.New(slog.DiscardHandler)
			t0 := time.Now().UTC()
			clock := testenv.NewClock(t0)
			m := newMetrics(store, licensing.DefaultCatalog(), clock, log, nil)
			t.Cleanup(func() { store.Observe(nil) })
			acct, _ := testenv.Account(t, store)
			startedSession(t, store, acct.ID, t0, time.Minute)
			srv := httptest.NewServer(m.Handler())
			defer srv.Close()
			clock.Advance(2 * time.Minute)
			after := clock.Now()

			// The loop's first run ends the session; the test waits for it.
			runLoop(t, func(ctx context.Context, ran func()) {
				reap(ctx, store, clock, time.Millisecond, log, func(at time.Time, n int, err error) {
					m.ReaperRan(at, n, err)
					ran()
				})
			})()

			s := metricstest.Scrape(t, srv.URL)
			if runs, _ := s.Value("scimd_reaper_runs_total", "result", "ok"); runs < 1 {
				t.Errorf("scimd_reaper_runs_total{result=ok} = %v, want at least 1", runs)
			}
			for name, v := range map[string]float64{
				"scimd_reaper_expired_sessions_total":         1,
				"scimd_reaper_last_success_timestamp_seconds": float64(after.UnixNano()) / 1e9,
				"scimd_reaper_runs_total":                     0,
			} {
				labels := []string{}
				if name == "scimd_reaper_runs_total" {
					labels = []string{"result", "error"}
				}
				if got, _ := s.Value(name, labels...); got != v {
					t.Errorf("%s%v = %v, want %v", name, labels, got, v)
				}
			}
			if got, _ := s.Value("scimd_seat_events_total", "product", "service-desk", "kind", "expired"); got != 1 {
				t.Errorf("expired seat events of service-desk = %v, want 1", got)
			}
		})
	}
}
