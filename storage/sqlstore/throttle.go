package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// SignInBlockedUntil returns the latest block of the keys after now, or
// the zero time.
func (s *Store) SignInBlockedUntil(ctx context.Context, keys []string, now time.Time) (time.Time, error) {
	if len(keys) == 0 {
		return time.Time{}, nil
	}
	var until dbTime
	err := query(s.conn(ctx), "sign-in blocked until",
		`SELECT MAX(blocked_until) FROM signin_throttle WHERE key IN ? AND blocked_until > ?`,
		[]any{keys, s.timeArg(now)},
		func(rows *sql.Rows) error { return rows.Scan(&until) })
	if err != nil || !until.Valid {
		return time.Time{}, err
	}
	return until.Time, nil
}

// RecordSignInFailure counts a failure of key (see
// licensing.SignInThrottles). The upsert holds the key's row until the
// commit, so concurrent failures of one key are counted one after the
// other. Quiet keys are deleted by the retention purge
// (licensing.PurgeSignInThrottle), not here: a failure deleting other
// keys by its own clock would make the hot path longer and let one
// process's clock forget another's counts.
func (s *Store) RecordSignInFailure(ctx context.Context, key string, now, quietSince time.Time, block func(failures int) time.Time) (int, error) {
	if err := checkText(key); err != nil {
		return 0, fmt.Errorf("sqlstore: record sign-in failure: %w", err)
	}
	failures := 0
	err := s.tx(ctx, func(tx *gorm.DB) error {
		err := query(tx, "record sign-in failure",
			`INSERT INTO signin_throttle (key, failures, last_failure_at) VALUES (?, 1, ?)
			 ON CONFLICT (key) DO UPDATE SET
			   failures = CASE WHEN signin_throttle.last_failure_at <= ? THEN 1 ELSE signin_throttle.failures + 1 END,
			   blocked_until = CASE WHEN signin_throttle.last_failure_at <= ? THEN NULL ELSE signin_throttle.blocked_until END,
			   last_failure_at = excluded.last_failure_at
			 RETURNING failures`,
			[]any{key, s.timeArg(now), s.timeArg(quietSince), s.timeArg(quietSince)},
			func(rows *sql.Rows) error { return rows.Scan(&failures) })
		if err != nil {
			return err
		}
		if until := block(failures); until.After(now) {
			_, err = exec(tx, "block sign-in",
				`UPDATE signin_throttle SET blocked_until = ? WHERE key = ? AND (blocked_until IS NULL OR blocked_until < ?)`,
				s.timeArg(until), key, s.timeArg(until))
		}
		return err
	})
	return failures, err
}

// ClearSignInFailures forgets the failures of key.
func (s *Store) ClearSignInFailures(ctx context.Context, key string) error {
	_, err := exec(s.conn(ctx), "clear sign-in failures", `DELETE FROM signin_throttle WHERE key = ?`, key)
	return err
}
