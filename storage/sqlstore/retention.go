package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/scimd/scimd/licensing"
)

// purgeTarget is the table of a licensing.PurgeKind and the condition that
// picks its rows that ended before the cutoff (every ? is the cutoff).
// Each condition is served by an index of migration 0011 (0010 for
// signin_throttle).
type purgeTarget struct {
	table, where string
}

var purgeTargets = map[licensing.PurgeKind]purgeTarget{
	licensing.PurgeSessions:   {"sessions", `state = 'ended' AND ended_at < ?`},
	licensing.PurgeSeatEvents: {"seat_events", `at < ?`},
	// Served by migration 0014's usage_hours_hour_idx.
	licensing.PurgeUsageHours:   {"usage_hours", `hour < ?`},
	licensing.PurgeAudit:        {"audit_log", `at < ?`},
	licensing.PurgeSignInTokens: {"tokens", `sign_in = TRUE AND (revoked_at < ? OR expires_at < ?)`},
	licensing.PurgeAPITokens:    {"tokens", `sign_in = FALSE AND (revoked_at < ? OR expires_at < ?)`},
	// Served by migration 0010's signin_throttle_quiet_idx.
	licensing.PurgeSignInThrottle: {"signin_throttle", `last_failure_at < ? AND (blocked_until IS NULL OR blocked_until < ?)`},
	// Served by migration 0012's indexes.
	licensing.PurgeConsoleSessions: {"console_sessions", `last_seen < ? OR expires_at < ?`},
	licensing.PurgePasswordLinks:   {"password_links", `used_at < ? OR expires_at < ?`},
}

// Purge deletes up to limit rows of the kind that ended before cutoff
// (licensing.Purger), in one statement of its own transaction. On
// PostgreSQL the rows are picked with FOR UPDATE SKIP LOCKED and deleted
// by ctid: a batch locks only its own rows, and replicas purging at once
// take different rows instead of waiting for each other. On SQLite, whose
// writers take turns anyway, they are deleted by rowid.
func (s *Store) Purge(ctx context.Context, kind licensing.PurgeKind, cutoff time.Time, limit int) (int, error) {
	target, ok := purgeTargets[kind]
	if !ok {
		return 0, fmt.Errorf("sqlstore: purge: %w: unknown kind %q", licensing.ErrInvalid, kind)
	}
	if limit < 1 {
		return 0, fmt.Errorf("sqlstore: purge %s: %w: limit %d is below 1", kind, licensing.ErrInvalid, limit)
	}
	var stmt string
	if s.dialect == DialectPostgres {
		stmt = `/* all accounts: retention purges old rows of every account */ DELETE FROM ` + target.table + ` WHERE ctid = ANY(ARRAY(SELECT ctid FROM ` + target.table +
			` WHERE ` + target.where + ` LIMIT ? FOR UPDATE SKIP LOCKED))`
	} else {
		stmt = `/* all accounts: retention purges old rows of every account */ DELETE FROM ` + target.table + ` WHERE rowid IN (SELECT rowid FROM ` + target.table +
			` WHERE ` + target.where + ` LIMIT ?)`
	}
	var args []any
	for range strings.Count(target.where, "?") {
		args = append(args, s.timeArg(cutoff))
	}
	args = append(args, limit)
	var n int64
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		n, err = exec(tx, "purge "+string(kind), stmt, args...)
		return err
	})
	return int(n), err
}

// Warnings returns what an operator should fix in the database's settings
// for scimd to run well: on PostgreSQL, autovacuum or the statistics it
// relies on (track_counts) being off, which lets the tables that are
// purged and updated all day (sessions, seat events, tokens) bloat. SQLite
// has none. An error means the settings could not be read.
func (s *Store) Warnings(ctx context.Context) ([]string, error) {
	if s.dialect != DialectPostgres {
		return nil, nil
	}
	var autovacuum, trackCounts string
	err := query(s.conn(ctx), "read settings",
		`SELECT current_setting('autovacuum'), current_setting('track_counts')`, nil,
		func(r *sql.Rows) error { return r.Scan(&autovacuum, &trackCounts) })
	if err != nil {
		return nil, err
	}
	var out []string
	if autovacuum != "on" {
		out = append(out, "PostgreSQL's autovacuum is off: the space of purged and updated rows is never reclaimed and tables bloat; turn it on (autovacuum = on)")
	}
	if trackCounts != "on" {
		out = append(out, "PostgreSQL's track_counts is off: autovacuum cannot tell which tables need vacuuming; turn it on (track_counts = on)")
	}
	return out, nil
}
