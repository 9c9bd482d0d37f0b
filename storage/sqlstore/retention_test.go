package sqlstore

import (
	"context"
	"strings"
	"testing"
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
