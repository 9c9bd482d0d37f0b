package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/metricstest"
	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
)

// fakeSeats answers SeatTotals with fixed totals, an error, or by waiting
// for the context to end (a database that does not answer).
type fakeSeats struct {
	totals []licensing.ProductSeats
	err    error
	hang   bool
}

func (f fakeSeats) SeatTotals(ctx context.Context, _ time.Time) ([]licensing.ProductSeats, error) {
	if f.hang {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return f.totals, f.err
}

func scrape(t *testing.T, m *Metrics) metricstest.Snapshot {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	return metricstest.Scrape(t, srv.URL)
}

func wantValue(t *testing.T, s metricstest.Snapshot, want float64, name string, labels ...string) {
	t.Helper()
	got, ok := s.Value(name, labels...)
	if !ok || got != want {
		t.Errorf("%s%v = %v (found %v), want %v", name, labels, got, ok, want)
	}
}

// TestSeatGauges checks the gauges read at scrape time: summed by the
// product label, a product outside the catalog under "other", and the
// read reported up.
func TestSeatGauges(t *testing.T) {
	m := New(Options{Seats: fakeSeats{totals: []licensing.ProductSeats{
		{ProductID: "gone-a", ConcurrentSeats: 1, ConcurrentOccupied: 1, FullPools: 1},
		{ProductID: "gone-b", ConcurrentSeats: 2, Waiting: 4},
		{ProductID: "remote-support-v5", NamedSeats: 10, NamedAssigned: 3, ConcurrentSeats: 5, ConcurrentOccupied: 5, FullPools: 2, Waiting: 7},
	}}})
	s := scrape(t, m)
	wantValue(t, s, 1, "scimd_seat_stats_up")
	for _, c := range []struct {
		name          string
		rs5, otherSum float64
	}{
		{"scimd_named_seats", 10, 0},
		{"scimd_named_seats_assigned", 3, 0},
		{"scimd_concurrent_seats", 5, 3},
		{"scimd_concurrent_seats_occupied", 5, 1},
		{"scimd_concurrent_pools_full", 2, 1},
		{"scimd_seat_waiters", 7, 4},
	} {
		wantValue(t, s, c.rs5, c.name, "product", "remote-support-v5")
		wantValue(t, s, c.otherSum, c.name, "product", "other")
	}
	// A product of the catalog without a plan anywhere is there, at 0.
	wantValue(t, s, 0, "scimd_concurrent_seats_occupied", "product", "service-desk")
	for _, l := range s.Labels() {
		if l == "product=gone-a" || l == "product=gone-b" {
			t.Errorf("label %s: a product outside the catalog is a label value", l)
		}
	}
}

// TestSeatGaugesDatabaseDown checks that a seat read that fails, or that
// does not answer within the timeout, leaves the seat gauges out and
// reports scimd_seat_stats_up 0 in a scrape that still succeeds.
func TestSeatGaugesDatabaseDown(t *testing.T) {
	for name, seats := range map[string]fakeSeats{
		"error":     {err: errors.New("connection refused")},
		"no answer": {hang: true},
	} {
		t.Run(name, func(t *testing.T) {
			m := New(Options{Seats: seats, SeatsTimeout: 10 * time.Millisecond})
			s := scrape(t, m)
			wantValue(t, s, 0, "scimd_seat_stats_up")
			if _, ok := s.Value("scimd_concurrent_seats_occupied"); ok {
				t.Errorf("seat gauges served after a failed read")
			}
			wantValue(t, s, 1, "scimd_build_info")
		})
	}
}

// TestSeatGaugesOutageLogsAtDebug: a seat read that fails because the
// database is unavailable is logged at debug (the outage monitor tells of
// the outage), another failure as a warning.
func TestSeatGaugesOutageLogsAtDebug(t *testing.T) {
	for err, want := range map[error]slog.Level{
		fmt.Errorf("sqlstore: seat totals: %w", licensing.ErrUnavailable): slog.LevelDebug,
		errors.New("sqlstore: seat totals: syntax error"):                 slog.LevelWarn,
	} {
		logs := testenv.NewLogs()
		m := New(Options{Seats: fakeSeats{err: err}, Logger: logs.Logger()})
		scrape(t, m)
		lines := logs.Lines(slog.LevelDebug)
		if len(lines) != 1 || lines[0].Level != want {
			t.Errorf("%v: logged %v, want one line at %v", err, lines, want)
		}
	}
}

// TestLabelsBounded checks that values a client or a stray row could make
// up fold into "other": a method, a status, a product, a kind of event.
func TestLabelsBounded(t *testing.T) {
	m := New(Options{Version: "v9.9.9"})
	m.ObserveRequest("BREW", "/healthz", 200, time.Millisecond)
	m.ObserveRequest("GET", "/healthz", 0, time.Millisecond)
	m.ObserveRequest("GET", "/healthz", 204, time.Millisecond)
	m.SeatEventCommitted(licensing.SeatEvent{ProductID: "made-up", Kind: licensing.SeatOccupied})
	m.SeatEventCommitted(licensing.SeatEvent{ProductID: "service-desk", Kind: "teleported"})
	m.SeatEventCommitted(licensing.SeatEvent{ProductID: "service-desk", Kind: licensing.SeatDenied})
	s := scrape(t, m)
	wantValue(t, s, 1, "scimd_http_requests_total", "method", "other", "route", "/healthz", "status", "200")
	wantValue(t, s, 1, "scimd_http_requests_total", "method", "GET", "route", "/healthz", "status", "other")
	wantValue(t, s, 1, "scimd_http_requests_total", "method", "GET", "route", "/healthz", "status", "204")
	wantValue(t, s, 3, "scimd_http_request_duration_seconds", "route", "/healthz")
	wantValue(t, s, 1, "scimd_seat_events_total", "product", "other", "kind", "occupied")
	wantValue(t, s, 1, "scimd_seat_events_total", "product", "service-desk", "kind", "other")
	wantValue(t, s, 1, "scimd_seat_events_total", "product", "service-desk", "kind", "denied")
	// Every product and kind of the catalog is there from the start.
	wantValue(t, s, 0, "scimd_seat_events_total", "product", "remote-support-v4", "kind", "expired")
	wantValue(t, s, 1, "scimd_build_info", "version", "v9.9.9")
	for _, l := range s.Labels() {
		if slices.Contains([]string{"method=BREW", "product=made-up", "kind=teleported", "status=0"}, l) {
			t.Errorf("label %s made up by the caller", l)
		}
	}
}

// TestReaperAndAudit checks the counters cmd drives.
func TestReaperAndAudit(t *testing.T) {
	m := New(Options{})
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	m.ReaperRan(at, 3, nil)
	m.ReaperRan(at.Add(time.Minute), 2, errors.New("database gone"))
	m.AuditWriteFailed()
	s := scrape(t, m)
	wantValue(t, s, 1, "scimd_reaper_runs_total", "result", "ok")
	wantValue(t, s, 1, "scimd_reaper_runs_total", "result", "error")
	wantValue(t, s, 5, "scimd_reaper_expired_sessions_total")
	wantValue(t, s, float64(at.Unix()), "scimd_reaper_last_success_timestamp_seconds")
	wantValue(t, s, 1, "scimd_audit_write_failures_total")
}

// TestPasswordLoad checks the gauges of the password-hash slots.
func TestPasswordLoad(t *testing.T) {
	m := New(Options{PasswordLoad: func() (int, int, int) { return 2, 5, 2 }})
	s := scrape(t, m)
	wantValue(t, s, 2, "scimd_password_hash_slots")
	wantValue(t, s, 2, "scimd_password_hashes_running")
	wantValue(t, s, 5, "scimd_password_hashes_waiting")
}
