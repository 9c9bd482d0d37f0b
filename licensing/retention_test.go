package licensing_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/scimd/scimd/licensing"
)

// fakePurger has rows of each kind left to purge and records the calls.
type fakePurger struct {
	left    map[licensing.PurgeKind]int
	calls   []licensing.PurgeKind
	cutoffs map[licensing.PurgeKind]time.Time
	fail    error
	// cancel, if set, is called after the first batch.
	cancel func()
}

func (f *fakePurger) Purge(_ context.Context, kind licensing.PurgeKind, cutoff time.Time, limit int) (int, error) {
	f.calls = append(f.calls, kind)
	f.cutoffs[kind] = cutoff
	if f.cancel != nil {
		f.cancel()
	}
	if f.fail != nil {
		return 0, f.fail
	}
	n := min(f.left[kind], limit)
	f.left[kind] -= n
	return n, nil
}

type at time.Time

func (c at) Now() time.Time { return time.Time(c) }

func TestPurgeLoopsUntilAShortBatch(t *testing.T) {
	now := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	f := &fakePurger{cutoffs: map[licensing.PurgeKind]time.Time{}, left: map[licensing.PurgeKind]int{
		licensing.PurgeSessions: 25, licensing.PurgeSeatEvents: 10, licensing.PurgeAudit: 7,
		licensing.PurgeSignInTokens: 3, licensing.PurgeAPITokens: 0, licensing.PurgeSignInThrottle: 4,
	}}
	r := licensing.Retention{Sessions: time.Hour, SeatEvents: 2 * time.Hour, Audit: 3 * time.Hour}
	purged, err := licensing.Purge(context.Background(), f, r, at(now), 10)
	if err != nil {
		t.Fatal(err)
	}
	want := map[licensing.PurgeKind]int{licensing.PurgeSessions: 25, licensing.PurgeSeatEvents: 10, licensing.PurgeAudit: 7,
		licensing.PurgeSignInTokens: 3, licensing.PurgeAPITokens: 0, licensing.PurgeSignInThrottle: 4}
	for k, n := range want {
		if purged[k] != n {
			t.Errorf("purged %s = %d, want %d", k, purged[k], n)
		}
	}
	// 25 sessions take 3 batches; 10 seat events 2 (a full one, then an
	// empty one); the others (usage hours included) 1 each.
	if len(f.calls) != 3+2+1+1+1+1+1+1+1 {
		t.Errorf("calls %v", f.calls)
	}
	for k, c := range map[licensing.PurgeKind]time.Time{
		// Seat events and their hourly summaries go by whole hours.
		licensing.PurgeSessions: now.Add(-time.Hour), licensing.PurgeSeatEvents: now.Add(-2 * time.Hour),
		licensing.PurgeUsageHours: now.Add(-2 * time.Hour),
		licensing.PurgeAudit:      now.Add(-3 * time.Hour), licensing.PurgeSignInTokens: now,
		licensing.PurgeAPITokens: now.Add(-licensing.APITokenGrace), licensing.PurgeSignInThrottle: now.Add(-licensing.DefaultSignInQuiet),
		licensing.PurgeConsoleSessions: now.Add(-licensing.ConsoleIdle), licensing.PurgePasswordLinks: now,
	} {
		if !f.cutoffs[k].Equal(c) {
			t.Errorf("cutoff of %s = %v, want %v", k, f.cutoffs[k], c)
		}
	}
}

func TestPurgeZeroKeepsForever(t *testing.T) {
	f := &fakePurger{cutoffs: map[licensing.PurgeKind]time.Time{}, left: map[licensing.PurgeKind]int{}}
	if _, err := licensing.Purge(context.Background(), f, licensing.Retention{Audit: time.Hour}, at(time.Now()), 10); err != nil {
		t.Fatal(err)
	}
	for _, k := range f.calls {
		if k == licensing.PurgeSessions || k == licensing.PurgeSeatEvents || k == licensing.PurgeUsageHours {
			t.Errorf("%s purged with a retention of 0", k)
		}
	}
	if _, ok := f.cutoffs[licensing.PurgeAudit]; !ok {
		t.Errorf("audit not purged with a retention of an hour: calls %v", f.calls)
	}
	r := licensing.Retention{}
	if _, ok := r.RetainedFrom(time.Now()); ok {
		t.Errorf("RetainedFrom of Retention{} is set: seat events kept forever start nowhere")
	}
	r.SeatEvents = time.Hour
	now := time.Date(2026, 12, 2, 10, 25, 0, 0, time.UTC)
	if from, ok := r.RetainedFrom(now); !ok || !from.Equal(time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("RetainedFrom = %v, %v; want the start of the hour an hour ago", from, ok)
	}
}

func TestPurgeStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := &fakePurger{cutoffs: map[licensing.PurgeKind]time.Time{}, left: map[licensing.PurgeKind]int{licensing.PurgeSessions: 1000}, cancel: cancel}
	purged, err := licensing.Purge(ctx, f, licensing.Retention{Sessions: time.Hour}, at(time.Now()), 10)
	if !errors.Is(err, context.Canceled) || len(f.calls) != 1 || purged[licensing.PurgeSessions] != 10 {
		t.Errorf("Purge with its context ended after a batch = %v, %v after calls %v; want the one batch and context.Canceled", purged, err, f.calls)
	}

	boom := errors.New("boom")
	f = &fakePurger{cutoffs: map[licensing.PurgeKind]time.Time{}, left: map[licensing.PurgeKind]int{}, fail: boom}
	if _, err := licensing.Purge(context.Background(), f, licensing.Retention{Sessions: time.Hour}, at(time.Now()), 10); !errors.Is(err, boom) || len(f.calls) != 1 {
		t.Errorf("Purge after a failed batch: %v after calls %v, want the error at once", err, f.calls)
	}
}
