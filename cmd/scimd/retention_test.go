package main

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/metricstest"
	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
)

// auditTargets lists the targets of the account's audit entries, newest
// first.
func auditTargets(t *testing.T, store licensing.Store, accountID string) []string {
	t.Helper()
	page, err := store.AuditLog(context.Background(), accountID, licensing.AuditQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range page.Items {
		out = append(out, e.TargetID)
	}
	return out
}

// startedSession gives the account two shared seats of service-desk and
// a user holding one, and starts that user's session at the time, with
// the lease.
func startedSession(t *testing.T, store licensing.Store, accountID string, at time.Time, lease time.Duration) *licensing.Session {
	t.Helper()
	ctx := context.Background()
	if err := store.SetPlan(ctx, licensing.Plan{AccountID: accountID, ProductID: "service-desk", ConcurrentSeats: 2}); err != nil {
		t.Fatal(err)
	}
	u := licensing.User{AccountID: accountID, ID: licensing.NewID(), UserName: "agent", Active: true, Doc: []byte(`{}`),
		Created: at, LastModified: at, Version: 1, Assignments: licensing.Assignments{"service-desk": licensing.LicenseConcurrent}}
	if err := store.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	sess := &licensing.Session{ID: licensing.NewID(), AccountID: accountID, ProductID: "service-desk", UserID: u.ID,
		Platform: licensing.PlatformWindows, CreatedAt: at, LastSeen: at, ExpiresAt: at.Add(lease)}
	if err := store.StartSession(ctx, sess, ""); err != nil {
		t.Fatal(err)
	}
	return sess
}

// appendAudit stores an audit entry of the account at the time.
func appendAudit(t *testing.T, store licensing.Store, accountID, target string, at time.Time) {
	t.Helper()
	if err := store.AppendAudit(context.Background(), licensing.AuditEntry{AccountID: accountID, At: at, ActorID: "t",
		Action: "user.create", TargetType: "user", TargetID: target}); err != nil {
		t.Fatal(err)
	}
}

// runLoop runs loop in a goroutine until the first time it calls ran,
// and returns a function that ends the loop's context and waits for it to
// return. Either wait lasting 20 seconds fails the test.
func runLoop(t *testing.T, loop func(ctx context.Context, ran func())) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	first := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		loop(ctx, func() {
			select {
			case first <- struct{}{}:
			default:
			}
		})
	}()
	select {
	case <-first:
	case <-time.After(20 * time.Second):
		t.Fatal("the loop did not run")
	}
	return func() {
		t.Helper()
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("the loop did not stop when its context ended")
		}
	}
}

// TestPurgeLoop runs serve's purge loop with an interval longer than the
// test: its run at start purges the old audit entry and is counted, seals
// the hours of seat events, and the loop returns once its context ends.
func TestPurgeLoop(t *testing.T) {
	for _, b := range testenv.IsolatedBackends(t) {
		t.Run(b.Name, func(t *testing.T) {
			store := b.Open(t)
			log := slog.New(slog.DiscardHandler)
			now := time.Now().UTC()
			clock := testenv.NewClock(now)
			m := newMetrics(store, licensing.DefaultCatalog(), clock, log, nil)
			t.Cleanup(func() { store.Observe(nil) })
			acct, _ := testenv.Account(t, store)
			appendAudit(t, store, acct.ID, "old", now.Add(-48*time.Hour))
			appendAudit(t, store, acct.ID, "recent", now.Add(-time.Hour))

			stop := runLoop(t, func(ctx context.Context, ran func()) {
				purge(ctx, store, licensing.Retention{Audit: 24 * time.Hour}, clock, time.Hour, log, func(p map[licensing.PurgeKind]int, err error) {
					m.PurgeRan(p, err)
					ran()
				})
			})
			if got := strings.Join(auditTargets(t, store, acct.ID), " "); got != "recent" {
				t.Errorf("audit entries after the purge: %s, want the recent one", got)
			}
			// It sealed the hours of seat events old enough to sum up.
			if sealed, _, err := store.UsageSealed(context.Background()); err != nil ||
				!sealed.Equal(now.Add(-licensing.UsageSealDelay).Truncate(time.Hour)) {
				t.Errorf("usage sealed until %v (%v), want the hour %v ago", sealed, err, licensing.UsageSealDelay)
			}
			stop()

			srv := httptest.NewServer(m.Handler())
			defer srv.Close()
			s := metricstest.Scrape(t, srv.URL)
			if v, _ := s.Value("scimd_reaper_purged_total", "kind", "audit"); v != 1 {
				t.Errorf("scimd_reaper_purged_total{kind=audit} = %v, want 1", v)
			}
			if v, _ := s.Value("scimd_reaper_purge_runs_total", "result", "ok"); v != 1 {
				t.Errorf("scimd_reaper_purge_runs_total{result=ok} = %v, want 1", v)
			}
		})
	}
}

// TestServeRetentionFlags starts serve with each --retain-* flag set
// apart: an ended session and an audit entry of two days ago go (kept a
// day), the session's seat events stay (kept three days).
func TestServeRetentionFlags(t *testing.T) {
	for name, db := range databaseURLs(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			store := testenv.OpenURL(t, db)
			acct, _ := testenv.Account(t, store)
			old := time.Now().UTC().Add(-48 * time.Hour)
			sess := startedSession(t, store, acct.ID, old, time.Hour)
			if _, err := store.EndSession(ctx, acct.ID, "", sess.ID, licensing.EndedByAgent, "", old.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			appendAudit(t, store, acct.ID, "old", old)
			appendAudit(t, store, acct.ID, "recent", time.Now().UTC())

			_, _, stderr, stop := startServeWith(t, db, "--retain-sessions", "24h", "--retain-seat-events", "72h", "--retain-audit", "24h")
			deadline := time.Now().Add(20 * time.Second)
			for strings.Join(auditTargets(t, store, acct.ID), " ") != "recent" {
				if time.Now().After(deadline) {
					t.Fatalf("the old audit entry was not purged:\n%s", stderr.String())
				}
				time.Sleep(20 * time.Millisecond)
			}
			if _, err := store.Session(ctx, acct.ID, sess.ID); err == nil {
				t.Errorf("the session that ended two days ago was kept with --retain-sessions 24h")
			}
			events, err := store.SeatEvents(ctx, acct.ID, old.Add(-time.Hour), time.Now())
			if err != nil || len(events) != 2 {
				t.Errorf("seat events of two days ago with --retain-seat-events 72h: %d (%v), want the 2 recorded", len(events), err)
			}
			if err := stop(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestServeWarnsAboutVacuum starts serve on PostgreSQL with track_counts
// turned off for its connections: it logs a warning naming it at start,
// and one about autovacuum exactly when the server has it off.
func TestServeWarnsAboutVacuum(t *testing.T) {
	if _, ok := databaseURLs(t)["postgres"]; !ok {
		t.Skip("PostgreSQL only")
	}
	db := testenv.IsolatedPostgresURL(t)
	sep := "?"
	if strings.Contains(db, "?") {
		sep = "&"
	}
	db += sep + "track_counts=off"
	store := testenv.OpenURL(t, db)
	var autovacuum string
	if err := store.DB().QueryRow(`SELECT current_setting('autovacuum')`).Scan(&autovacuum); err != nil {
		t.Fatal(err)
	}
	_, _, stderr, stop := startServeWith(t, db)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	log := stderr.String()
	if !strings.Contains(log, `level=WARN msg="PostgreSQL's track_counts is off`) {
		t.Errorf("no warning about track_counts:\n%s", log)
	}
	if warned := strings.Contains(log, `level=WARN msg="PostgreSQL's autovacuum is off`); warned != (autovacuum == "off") {
		t.Errorf("autovacuum %s, warned %v:\n%s", autovacuum, warned, log)
	}
}
