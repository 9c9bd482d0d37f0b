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

// failingStore is a store whose ExpireSessions, Purge and UsageSealed
// fail with err.
type failingStore struct {
	licensing.Store
	err error
}

func (f failingStore) ExpireSessions(context.Context, time.Time, int) (int, error) { return 0, f.err }
func (f failingStore) Purge(context.Context, licensing.PurgeKind, time.Time, int) (int, error) {
	return 0, f.err
}
func (f failingStore) UsageSealed(context.Context) (time.Time, time.Time, error) {
	return time.Time{}, time.Time{}, f.err
}

// TestBackgroundOutageLogsAtDebug: while the database is unavailable the
// failures of the reaper's and the purge's runs are logged at debug (the
// outage monitor tells of the outage); other failures still as errors.
func TestBackgroundOutageLogsAtDebug(t *testing.T) {
	loops := map[string]func(ctx context.Context, store failingStore, log *slog.Logger, ran func(error)){
		"reaper": func(ctx context.Context, store failingStore, log *slog.Logger, ran func(error)) {
			reap(ctx, store, licensing.SystemClock{}, time.Millisecond, log, func(_ time.Time, _ int, err error) { ran(err) })
		},
		"purge": func(ctx context.Context, store failingStore, log *slog.Logger, ran func(error)) {
			purge(ctx, store, licensing.Retention{Audit: time.Hour}, licensing.SystemClock{}, time.Millisecond, log,
				func(_ map[licensing.PurgeKind]int, err error) { ran(err) })
		},
	}
	for name, loop := range loops {
		for _, c := range []struct {
			err  error
			want slog.Level
		}{
			{fmt.Errorf("sqlstore: %s: %w", name, licensing.ErrUnavailable), slog.LevelDebug},
			{fmt.Errorf("sqlstore: %s: %w", name, errors.New("syntax error")), slog.LevelError},
		} {
			logs := testenv.NewLogs()
			runs := make(chan error, 3)
			ctx, stop := context.WithCancel(t.Context())
			done := make(chan struct{})
			go func() {
				defer close(done)
				loop(ctx, failingStore{err: c.err}, logs.Logger(), func(err error) {
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
				t.Fatalf("%s, %v: %d lines for %d failed runs: %v", name, c.err, len(lines), cap(runs), lines)
			}
			for _, l := range lines {
				if l.Level != c.want {
					t.Errorf("%s, %v: logged %v, want level %v", name, c.err, l, c.want)
				}
			}
		}
	}
}
