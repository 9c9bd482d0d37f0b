package sqlstore

import (
	"context"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"
)

// TestSeatIndexPlans checks that the seat engine's frequent lookups can
// be served by their indexes (on PostgreSQL with sequential scans
// disabled, as the test tables are too small for the planner to prefer
// an index): the reaper's pick of expired sessions, a user's open
// sessions, the line ahead of a ticket.
func TestSeatIndexPlans(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		now := s.timeArg(time.Now())
		cases := []struct {
			name  string
			sql   string
			args  []any
			index string
			// pgAnyIndex accepts any index on PostgreSQL, whose choice
			// follows the statistics of the shared test database.
			pgAnyIndex bool
		}{
			{"expiry", s.expireSQL(), []any{now, 10, now, "expired"}, "sessions_expiry_idx", false},
			{"open sessions of a user", `SELECT id FROM sessions WHERE ` + userOpenWhere,
				[]any{"a", "u", []string{"p", "q"}}, "sessions_open_idx", false},
			{"open sessions of an account", `SELECT id FROM sessions WHERE account_id = ? AND state <> 'ended'`,
				[]any{"a"}, "sessions_open_idx", true},
			{"line", lineSQL, []any{"a", "p", now, "a", "p", "ticket"}, "waiters_line_idx", true},
		}
		for _, c := range cases {
			plan := explain(t, s, c.sql, c.args)
			t.Logf("%s:\n%s", c.name, plan)
			if c.pgAnyIndex && s.Dialect() == DialectPostgres {
				if strings.Contains(plan, "Seq Scan") {
					t.Errorf("%s scans the table:\n%s", c.name, plan)
				}
			} else if !strings.Contains(plan, c.index) {
				t.Errorf("%s does not use %s:\n%s", c.name, c.index, plan)
			}
		}
	})
}

// explainIn returns the plan of stmt, run on db.
func explainIn(t *testing.T, db *gorm.DB, dialect, stmt string, args []any) string {
	t.Helper()
	prefix := "EXPLAIN "
	if dialect == DialectSQLite {
		prefix = "EXPLAIN QUERY PLAN "
	}
	rows, err := db.WithContext(context.Background()).Raw(prefix+stmt, args...).Rows()
	if err != nil {
		t.Fatalf("EXPLAIN %s: %v", stmt, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var lines []string
	for rows.Next() {
		dest := make([]any, len(cols))
		var line string
		for i := range dest {
			dest[i] = new(any)
		}
		dest[len(dest)-1] = &line
		if err := rows.Scan(dest...); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}
