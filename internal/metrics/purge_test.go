package metrics

import (
	"errors"
	"testing"

	"github.com/scimd/scimd/licensing"
)

// TestPurgeCounters checks the purge's counters: every kind is there
// from the start at 0, the rows of each run are added by kind, and runs
// are counted by result.
func TestPurgeCounters(t *testing.T) {
	m := New(Options{})
	s := scrape(t, m)
	for _, k := range licensing.PurgeKinds {
		wantValue(t, s, 0, "scimd_reaper_purged_total", "kind", string(k))
	}
	wantValue(t, s, 0, "scimd_reaper_purge_runs_total", "result", "ok")
	wantValue(t, s, 0, "scimd_reaper_purge_runs_total", "result", "error")

	m.PurgeRan(map[licensing.PurgeKind]int{licensing.PurgeSessions: 1000, licensing.PurgeAudit: 3}, nil)
	m.PurgeRan(map[licensing.PurgeKind]int{licensing.PurgeSessions: 5}, errors.New("connection refused"))
	s = scrape(t, m)
	wantValue(t, s, 1005, "scimd_reaper_purged_total", "kind", "sessions")
	wantValue(t, s, 3, "scimd_reaper_purged_total", "kind", "audit")
	wantValue(t, s, 0, "scimd_reaper_purged_total", "kind", "seat_events")
	wantValue(t, s, 1, "scimd_reaper_purge_runs_total", "result", "ok")
	wantValue(t, s, 1, "scimd_reaper_purge_runs_total", "result", "error")
}
