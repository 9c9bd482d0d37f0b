package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/licensing"
)

// freshDatabases runs f on a new, empty database of each dialect, given
// by its URL, so that f may open several stores on it.
func freshDatabases(t *testing.T, f func(t *testing.T, url string)) {
	t.Run("sqlite", func(t *testing.T) { f(t, "sqlite:"+filepath.Join(t.TempDir(), "fresh.db")) })
	t.Run("postgres", func(t *testing.T) { f(t, freshPostgresURL(t).String()) })
}

// TestCursorKeyMadeOnceByStoresStartingTogether starts several stores at
// once on a new database, as replicas of scimd serve start: each migrates
// it and loads the cursor key. One key is made, and each store opens the
// cursors of the others.
func TestCursorKeyMadeOnceByStoresStartingTogether(t *testing.T) {
	freshDatabases(t, func(t *testing.T, url string) {
		ctx := context.Background()
		const n = 4
		stores, cursors, errs := make([]*Store, n), make([]*licensing.Cursors, n), make([]error, n)
		for i := range n {
			s, err := Open(url, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			stores[i] = s
		}
		var wg sync.WaitGroup
		for i, s := range stores {
			wg.Go(func() {
				if _, errs[i] = s.Migrate(ctx); errs[i] == nil {
					cursors[i], errs[i] = licensing.LoadCursors(ctx, s)
				}
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		var keys int
		if err := stores[0].db.Raw(`SELECT COUNT(*) FROM secret_keys WHERE name = ?`, licensing.CursorKeyName).Scan(&keys).Error; err != nil || keys != 1 {
			t.Fatalf("secret_keys holds %d cursor keys (%v), want 1", keys, err)
		}
		for i := range n {
			sealed := cursors[i].Seal("acct", "list", fmt.Sprint("position ", i))
			for j := range n {
				if p, err := cursors[j].Open("acct", "list", sealed); err != nil || p != fmt.Sprint("position ", i) {
					t.Errorf("store %d cannot open the cursor of store %d: %q, %v", j, i, p, err)
				}
			}
		}
	})
}

// TestAuditIDsOfEntriesBeforeTheMigration writes audit entries in the
// schema before migration 0009, migrates, and checks that those entries
// got ids of their own, as the entries written after do.
func TestAuditIDsOfEntriesBeforeTheMigration(t *testing.T) {
	freshDatabases(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s := openMigratedTo(t, url, 8)
		a := licensing.Account{ID: "acct-" + randomHex(8), Name: "acct-" + randomHex(8), CreatedAt: time.Now()}
		if err := s.CreateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
		write := func(target string) {
			t.Helper()
			if err := s.AppendAudit(ctx, licensing.AuditEntry{AccountID: a.ID, At: time.Now(), Action: "user.create", TargetType: "user", TargetID: target}); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 3 {
			write(fmt.Sprint("before ", i))
		}
		if _, err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		write("after")
		page, err := s.AuditLog(ctx, a.ID, licensing.AuditQuery{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) != 4 {
			t.Fatalf("%d audit entries, want 4", len(page.Items))
		}
		seen := map[string]bool{}
		for _, e := range page.Items {
			if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(e.ID) || seen[e.ID] {
				t.Errorf("entry %q: id %q, want 32 random hex digits of its own", e.TargetID, e.ID)
			}
			seen[e.ID] = true
		}
	})
}
