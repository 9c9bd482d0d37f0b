package outage_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/outage"
	"github.com/scimd/scimd/internal/testenv"
)

// fakeClock is a clock the probe moves.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }
func waitUp(t *testing.T, m *outage.Monitor) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); m.Down(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the monitor never saw the database back")
		}
	}
}

// TestMonitorBoundsOutageLogs reports a thousand failures of an outage
// that lasts 35 (fake) seconds: the log gets one warning when it starts,
// one per 10 s while it lasts and one line when it ends; a second outage
// is logged again.
func TestMonitorBoundsOutageLogs(t *testing.T) {
	logs := testenv.NewLogs()
	clock := &fakeClock{}
	clock.advance(time.Hour)
	var probes atomic.Int32
	down := errors.New("connection refused")
	m := outage.New(t.Context(), outage.Options{
		Logger: logs.Logger(),
		Poll:   time.Millisecond,
		Now:    clock.now,
		Probe: func(context.Context) error {
			// The first outage lasts 35 probes, a second each; the
			// others end at the first probe, at once.
			if probes.Add(1) <= 35 {
				clock.advance(time.Second)
				return down
			}
			return nil
		},
	})
	if m.Down() {
		t.Fatal("down before any failure")
	}
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			for range 100 {
				m.Failed(down)
			}
		})
	}
	wg.Wait()
	waitUp(t, m)
	lines := logs.Lines(slog.LevelDebug)
	want := []string{"database unavailable: requests that need it answer 503 until it is back",
		"database still unavailable", "database still unavailable", "database still unavailable", "database available again"}
	if len(lines) != len(want) {
		t.Fatalf("logged %d lines, want %d: %v", len(lines), len(want), lines)
	}
	for i, l := range lines {
		if l.Message != want[i] {
			t.Errorf("line %d = %v, want %q", i, l, want[i])
		}
	}
	if lines[4].Level != slog.LevelInfo || lines[0].Level != slog.LevelWarn {
		t.Errorf("levels: %v", lines)
	}

	// The database comes and goes within 10 s of the last warning: the
	// short outages are counted, not logged.
	for range 5 {
		m.Failed(down)
		waitUp(t, m)
	}
	if got := len(logs.Lines(slog.LevelDebug)); got != len(want) {
		t.Errorf("flapping logged %d lines, want none: %v", got-len(want), logs.Lines(slog.LevelDebug))
	}
	clock.advance(10 * time.Second)
	m.Failed(down)
	waitUp(t, m)
	lines = logs.Lines(slog.LevelDebug)
	if len(lines) != len(want)+2 {
		t.Fatalf("an outage 10 s after the last warning logged %d lines, want 2: %v", len(lines)-len(want), lines)
	}
	if !strings.Contains(lines[len(want)].Attrs, "outages=6") {
		t.Errorf("the warning does not count the outages since the last one: %v", lines[len(want)])
	}
}
