package sqlstore

import (
	"context"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/scimd/scimd/licensing"
)

// statements is a gorm logger that keeps the SQL it is shown.
type statements struct {
	logger.Interface
	sql []string
}

func (s *statements) LogMode(logger.LogLevel) logger.Interface { return s }

func (s *statements) Trace(_ context.Context, _ time.Time, fc func() (string, int64), _ error) {
	sqlText, _ := fc()
	s.sql = append(s.sql, sqlText)
}

// TestInactiveUsersPlan checks that a page of an account's users
// filtered by active (the console's Users page, SCIM's active eq false)
// is read through users_account_active_seq_idx, not by walking the
// account's users in creation order until the page is full: with a
// million users and few inactive ones that walk took a second. Asserted on
// SQLite, whose plan does not follow statistics; logged on PostgreSQL.
func TestInactiveUsersPlan(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		account := shapeAccount(t, s, 3)
		seen := &statements{Interface: logger.Discard}
		orig := s.db
		s.db = s.db.Session(&gorm.Session{Logger: seen})
		_, err := s.Users(context.Background(), account, licensing.Query{
			Filter: licensing.UserFilter{Active: new(false)}.Cond(), Limit: 51, WithoutGroups: true, WithoutTotal: true})
		s.db = orig
		if err != nil {
			t.Fatal(err)
		}
		var list string
		for _, q := range seen.sql {
			if strings.Contains(q, "FROM users") || strings.Contains(q, `FROM "users"`) {
				list = q
				break
			}
		}
		if list == "" {
			t.Fatalf("no users query among %q", seen.sql)
		}
		plan := explainIn(t, s.db, s.Dialect(), list, nil)
		t.Logf("%s\n%s", list, plan)
		if s.Dialect() == DialectSQLite && !strings.Contains(plan, "users_account_active_seq_idx") {
			t.Errorf("the inactive users are not read through users_account_active_seq_idx:\n%s", plan)
		}
	})
}
