package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
)

// failingReaper is a store whose ExpireSessions fails with err.
type failingReaper struct {
	licensing.Store
	err error
}

func (f failingReaper) ExpireSessions(context.Context, time.Time, int) (int, error) { return 0, f.err }

// TestReaperOutageLogsAtDebug: while the database is unavailable the
// reaper's failures are logged at debug (the outage monitor tells of the
// outage), other failures still as errors.
func TestReaperOutageLogsAtDebug(t *testing.T) {
	for _, c := range []struct {
		err  error
		want slog.Level
	}{
		{fmt.Errorf("sqlstore: expire: %w", licensing.ErrUnavailable), slog.LevelDebug},
		{errors.New("sqlstore: expire: syntax error"), slog.LevelError},
	} {
		logs := testenv.NewLogs()
		runs := make(chan error, 3)
		ctx, stop := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			defer close(done)
			reap(ctx, failingReaper{err: c.err}, licensing.SystemClock{}, time.Millisecond, logs.Logger(), func(_ time.Time, _ int, err error) {
				if len(runs) < cap(runs) {
					runs <- err
				}
			})
		}()
		for range cap(runs) {
			<-runs
		}
		stop()
		<-done
		lines := logs.Lines(slog.LevelDebug)
		if len(lines) < cap(runs) {
			t.Fatalf("%v: %d lines for %d failed runs: %v", c.err, len(lines), cap(runs), lines)
		}
		for _, l := range lines {
			if l.Level != c.want {
				t.Errorf("%v: logged %v, want level %v", c.err, l, c.want)
			}
		}
	}
}
