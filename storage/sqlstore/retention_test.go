package sqlstore

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/licensing"
)

// TestWarnings checks the settings warnings against the server's own
// settings (autovacuum may be off on a test server), and with
// track_counts turned off for the store's connections, which a superuser
// may do per session: the warning must then name it. SQLite has none.
func TestWarnings(t *testing.T) {
	ctx := context.Background()
	if w, err := openSQLite(t).Warnings(ctx); err != nil || len(w) != 0 {
		t.Errorf("SQLite warnings = %q, %v; want none", w, err)
	}
	s := openPostgres(t)
	setting := func(s *Store, name string) string {
		var v string
		if err := s.conn(ctx).Raw(`SELECT current_setting(?)`, name).Scan(&v).Error; err != nil {
			t.Fatal(err)
		}
		return v
	}
	warned := func(w []string, name string) bool {
		for _, s := range w {
			if strings.Contains(s, name+" is off") {
				return true
			}
		}
		return false
	}
	w, err := s.Warnings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"autovacuum", "track_counts"} {
		if off := setting(s, name) == "off"; warned(w, name) != off {
			t.Errorf("warnings %q with %s %s", w, name, setting(s, name))
		}
	}

	sep := "?"
	if strings.Contains(postgresURL(t), "?") {
		sep = "&"
	}
	off, err := Open(postgresURL(t)+sep+"track_counts=off", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer off.Close()
	if v := setting(off, "track_counts"); v != "off" {
		t.Fatalf("track_counts = %s on a connection that turned it off", v)
	}
	w, err = off.Warnings(ctx)
	if err != nil || !warned(w, "track_counts") {
		t.Errorf("warnings with track_counts off = %q, %v; want one naming it", w, err)
	}
}

// TestPurgeSkipsLockedRows holds a lock on one old audit entry, as another
// replica's batch or a writer would, while Purge runs on PostgreSQL: the
// purge takes the other old entry and skips the locked one instead of
// waiting for it (a purge that waited would end with the 10-second
// context), and takes it once the lock is gone. Its rows are from 1961,
// older than those of any other test.
func TestPurgeSkipsLockedRows(t *testing.T) {
	s := openPostgres(t)
	ctx := context.Background()
	a := licensing.Account{ID: licensing.NewID(), Name: "skip-" + licensing.NewID()[:13], CreatedAt: time.Now()}
	if err := s.CreateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(1961, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, target := range []string{"locked", "free"} {
		if err := s.AppendAudit(ctx, licensing.AuditEntry{AccountID: a.ID, At: t0, ActorID: "t", Action: "user.create",
			TargetType: "user", TargetID: target}); err != nil {
			t.Fatal(err)
		}
	}
	tx := s.db.WithContext(ctx).Begin()
	defer tx.Rollback()
	if err := tx.Exec(`SELECT 1 FROM audit_log WHERE account_id = ? AND target_id = 'locked' FOR UPDATE`, a.ID).Error; err != nil {
		t.Fatal(err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if n, err := s.Purge(pctx, licensing.PurgeAudit, t0.Add(time.Hour), 10); n != 1 || err != nil {
		t.Errorf("Purge beside a locked row = %d, %v; want the 1 unlocked row at once", n, err)
	}
	tx.Rollback()
	if n, err := s.Purge(ctx, licensing.PurgeAudit, t0.Add(time.Hour), 10); n != 1 || err != nil {
		t.Errorf("Purge once the lock is gone = %d, %v; want the row it skipped", n, err)
	}
}

// BenchmarkPurgeBatch measures one purge statement deleting 1,000 seat
// events (one op) from a table that also holds 100,000 events the cutoff
// keeps. The rows to purge are inserted with the timer stopped.
func BenchmarkPurgeBatch(b *testing.B) {
	benchDialects(b, func(b *testing.B, s *Store) {
		ctx := context.Background()
		accountID, _ := benchAccount(b, s, "bench-product", 1, 0)
		b.Cleanup(func() { s.conn(ctx).Exec(`DELETE FROM seat_events WHERE account_id = ?`, accountID) })
		old := time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC)
		seed := func(n int, at time.Time) {
			stmt := `INSERT INTO seat_events (account_id, product_id, user_id, kind, at) SELECT ?, 'bench-product', 'u', 'occupied', ? FROM generate_series(1, ?)`
			if s.dialect == DialectSQLite {
				stmt = `WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < ?) ` +
					`INSERT INTO seat_events (account_id, product_id, user_id, kind, at) SELECT ?, 'bench-product', 'u', 'occupied', ? FROM g`
				if err := s.conn(ctx).Exec(stmt, n, accountID, s.timeArg(at)).Error; err != nil {
					b.Fatal(err)
				}
				return
			}
			if err := s.conn(ctx).Exec(stmt, accountID, s.timeArg(at), n).Error; err != nil {
				b.Fatal(err)
			}
		}
		seed(100_000, time.Now())
		if s.dialect == DialectPostgres {
			s.conn(ctx).Exec(`ANALYZE seat_events`)
		}
		b.ResetTimer()
		for range b.N {
			b.StopTimer()
			seed(1000, old)
			b.StartTimer()
			if n, err := s.Purge(ctx, licensing.PurgeSeatEvents, old.Add(time.Hour), 1000); n != 1000 || err != nil {
				b.Fatalf("Purge = %d, %v", n, err)
			}
		}
	})
}
