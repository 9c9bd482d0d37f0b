package sqlstore

import (
	"context"
	"database/sql"
	"testing"

	"github.com/scimd/scimd/internal/sqlscope"
)

// TestShardingReadinessKeys: on PostgreSQL, the primary key and every
// unique index of every table that holds account_id lead with it, and the
// tables without it are the global tables of sqlscope.Global.
func TestShardingReadinessKeys(t *testing.T) {
	s := openPostgres(t)
	db := s.conn(context.Background())
	withAccount := map[string]bool{}
	err := query(db, "tables", `SELECT c.relname, EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'account_id' AND NOT a.attisdropped)
		FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')`, nil,
		func(r *sql.Rows) error {
			var name string
			var has bool
			err := r.Scan(&name, &has)
			withAccount[name] = has
			return err
		})
	if err != nil {
		t.Fatal(err)
	}
	if len(withAccount) < 20 {
		t.Fatalf("found %d tables; is the schema migrated?", len(withAccount))
	}
	for name, has := range withAccount {
		_, global := sqlscope.Global[name]
		switch {
		case !has && !global:
			t.Errorf("table %s has no account_id and is not a named global table", name)
		case has && global && name != "tokens" && name != "console_sessions" && name != "password_links":
			t.Errorf("table %s holds account_id but is named global: key it by account instead", name)
		}
	}
	for name := range sqlscope.Global {
		if _, ok := withAccount[name]; !ok {
			t.Errorf("global table %s does not exist: update globalTables", name)
		}
	}
	type key struct{ table, index, first string }
	var keys []key
	err = query(db, "keys", `SELECT c.relname, i.relname, COALESCE(a.attname, pg_get_indexdef(x.indexrelid, 1, true))
		FROM pg_index x
		JOIN pg_class c ON c.oid = x.indrelid
		JOIN pg_class i ON i.oid = x.indexrelid
		LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = x.indkey[0]
		WHERE c.relnamespace = 'public'::regnamespace AND x.indisunique`, nil,
		func(r *sql.Rows) error {
			var k key
			err := r.Scan(&k.table, &k.index, &k.first)
			keys = append(keys, k)
			return err
		})
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, k := range keys {
		if _, global := sqlscope.Global[k.table]; global {
			continue
		}
		checked++
		if k.first != "account_id" {
			t.Errorf("unique index %s of %s leads with %s, not account_id", k.index, k.table, k.first)
		}
	}
	if checked < 15 {
		t.Errorf("checked %d unique indexes of accounts' tables; expected more", checked)
	}
}
