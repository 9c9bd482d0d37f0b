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

// This file keeps the console's users, password links and sessions
// (licensing.ConsoleStore). Their rows refer to the user and go with it;
// the rows of the user's sessions are deleted by the user writes that end
// them (RevokesCredentials, RevokesConsole), in the write's transaction.

// SetConsolePrivileges sets the user's console privileges (see
// licensing.ConsoleStore).
func (s *Store) SetConsolePrivileges(ctx context.Context, accountID, userID string, privs []licensing.Privilege, audit ...licensing.AuditEntry) ([]licensing.Privilege, error) {
	privs = licensing.NormalizePrivileges(privs)
	var old []licensing.Privilege
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if _, err := s.lockUser(tx, "set console privileges", "FOR NO KEY UPDATE", accountID, userID); err != nil {
			return err
		}
		var err error
		if old, err = consolePrivileges(tx, accountID, userID); err != nil {
			return err
		}
		if slicesEqual(old, privs) {
			return nil
		}
		if len(privs) == 0 {
			_, err = exec(tx, "set console privileges", `DELETE FROM console_users WHERE account_id = ? AND user_id = ?`, accountID, userID)
		} else {
			_, err = exec(tx, "set console privileges",
				`INSERT INTO console_users (account_id, user_id, privileges) VALUES (?, ?, ?)
				 ON CONFLICT (account_id, user_id) DO UPDATE SET privileges = excluded.privileges`,
				accountID, userID, licensing.FormatPrivileges(privs))
		}
		if err != nil {
			return err
		}
		if licensing.RevokesConsole(old, privs) {
			if err := endConsoleSessions(tx, accountID, userID); err != nil {
				return err
			}
		}
		return s.recordAudit(tx, accountID, audit)
	})
	return old, err
}

func slicesEqual(a, b []licensing.Privilege) bool {
	return licensing.FormatPrivileges(a) == licensing.FormatPrivileges(b)
}

// ConsolePrivileges returns the user's console privileges.
func (s *Store) ConsolePrivileges(ctx context.Context, accountID, userID string) ([]licensing.Privilege, error) {
	return consolePrivileges(s.conn(ctx), accountID, userID)
}

func consolePrivileges(db *gorm.DB, accountID, userID string) ([]licensing.Privilege, error) {
	var list string
	err := query(db, "console privileges", `SELECT privileges FROM console_users WHERE account_id = ? AND user_id = ?`,
		[]any{accountID, userID}, func(rows *sql.Rows) error { return rows.Scan(&list) })
	if err != nil {
		return nil, err
	}
	return parseStoredPrivileges(list), nil
}

// parseStoredPrivileges reads a stored list of privileges, skipping names
// this version does not know.
func parseStoredPrivileges(list string) []licensing.Privilege {
	var out []licensing.Privilege
	for _, p := range strings.Split(list, ",") {
		if ps, err := licensing.ParsePrivileges(p); err == nil {
			out = append(out, ps...)
		}
	}
	return licensing.NormalizePrivileges(out)
}

// endConsoleSessions ends, inside a user write's transaction, every
// console session of the user.
func endConsoleSessions(tx *gorm.DB, accountID, userID string) error {
	_, err := exec(tx, "end console sessions", `DELETE FROM console_sessions WHERE account_id = ? AND user_id = ?`, accountID, userID)
	return err
}

// CreatePasswordLink stores a one-time password link. (A hash never
// follows an opening parenthesis in these statements: gorm would expand
// it as a list of bytes.)
func (s *Store) CreatePasswordLink(ctx context.Context, l licensing.PasswordLink, audit ...licensing.AuditEntry) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		if _, err := exec(tx, "create password link",
			`INSERT INTO password_links (account_id, hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
			l.AccountID, l.Hash, l.UserID, s.timeArg(l.CreatedAt), s.timeArg(l.ExpiresAt)); err != nil {
			return err
		}
		return s.recordAudit(tx, l.AccountID, audit)
	})
}

// PasswordLink returns the usable link with the hash.
func (s *Store) PasswordLink(ctx context.Context, hash []byte, now time.Time) (licensing.PasswordLink, error) {
	return s.passwordLink(s.conn(ctx), "password link", hash, now, "")
}

func (s *Store) passwordLink(db *gorm.DB, op string, hash []byte, now time.Time, lock string) (licensing.PasswordLink, error) {
	l := licensing.PasswordLink{Hash: hash}
	found := false
	err := query(db, op,
		`SELECT account_id, user_id, created_at, expires_at FROM password_links
		 WHERE hash = ? AND used_at IS NULL AND expires_at > ?`+s.lock(lock),
		[]any{hash, s.timeArg(now)}, func(rows *sql.Rows) error {
			found = true
			var created, expires dbTime
			err := rows.Scan(&l.AccountID, &l.UserID, &created, &expires)
			l.CreatedAt, l.ExpiresAt = created.Time, expires.Time
			return err
		})
	if err == nil && !found {
		err = fmt.Errorf("sqlstore: %s: %w", op, licensing.ErrNotFound)
	}
	return l, err
}

// UsePasswordLink uses up the link and sets the user's password (see
// licensing.ConsoleStore).
func (s *Store) UsePasswordLink(ctx context.Context, hash []byte, passwordHash string, now time.Time, audit ...licensing.AuditEntry) (licensing.PasswordLink, error) {
	if passwordHash == "" {
		return licensing.PasswordLink{}, fmt.Errorf("sqlstore: use password link: %w: no password", licensing.ErrInvalid)
	}
	var l licensing.PasswordLink
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		if l, err = s.passwordLink(tx, "use password link", hash, now, "FOR UPDATE"); err != nil {
			return err
		}
		// Only this transaction can use the link: on PostgreSQL the row
		// is locked, on SQLite writes are serialized.
		if _, err := exec(tx, "use password link", `UPDATE password_links SET used_at = ? WHERE hash = ?`, s.timeArg(now), hash); err != nil {
			return err
		}
		n, err := exec(tx, "use password link",
			`UPDATE users SET password_hash = ?, version = version + 1, last_modified = ? WHERE account_id = ? AND id = ?`,
			passwordHash, s.timeArg(now), l.AccountID, l.UserID)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("sqlstore: use password link: %w", licensing.ErrNotFound)
		}
		if err := s.revokeUserTokens(tx, l.AccountID, l.UserID, now); err != nil {
			return err
		}
		if err := endConsoleSessions(tx, l.AccountID, l.UserID); err != nil {
			return err
		}
		return s.recordAudit(tx, l.AccountID, audit)
	})
	return l, err
}

// CreateConsoleSession stores a new console session.
func (s *Store) CreateConsoleSession(ctx context.Context, cs licensing.ConsoleSession) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		_, err := exec(tx, "create console session",
			`INSERT INTO console_sessions (account_id, hash, user_id, created_at, last_seen, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
			cs.AccountID, cs.Hash, cs.UserID, s.timeArg(cs.CreatedAt), s.timeArg(cs.LastSeen), s.timeArg(cs.ExpiresAt))
		return err
	})
}

// liveConsoleSession is the condition on console_sessions of the live
// session with a hash (arguments: the hash, idleSince, now), and
// consoleSessionColumns what is read of it (scanConsoleSession).
const (
	liveConsoleSession = `hash = ? AND last_seen > ? AND expires_at > ?
		   AND EXISTS (SELECT 1 FROM users AS u WHERE u.account_id = console_sessions.account_id AND u.id = console_sessions.user_id AND u.active)`
	consoleSessionColumns = `account_id, user_id, created_at, last_seen, expires_at,
		   (SELECT u.user_name FROM users AS u WHERE u.account_id = console_sessions.account_id AND u.id = console_sessions.user_id),
		   COALESCE((SELECT c.privileges FROM console_users AS c WHERE c.account_id = console_sessions.account_id AND c.user_id = console_sessions.user_id), '')`
)

// scanConsoleSession reads consoleSessionColumns into a session with the
// hash: ErrNotFound (wrapped with op) when no row came or its user holds
// no console privilege.
func scanConsoleSession(op string, hash []byte, read func(scan func(*sql.Rows) error) error) (licensing.ConsoleSession, error) {
	cs := licensing.ConsoleSession{Hash: hash}
	found := false
	var privs string
	err := read(func(rows *sql.Rows) error {
		found = true
		var created, seen, expires dbTime
		err := rows.Scan(&cs.AccountID, &cs.UserID, &created, &seen, &expires, &cs.UserName, &privs)
		cs.CreatedAt, cs.LastSeen, cs.ExpiresAt = created.Time, seen.Time, expires.Time
		return err
	})
	if err != nil {
		return cs, err
	}
	cs.Privileges = parseStoredPrivileges(privs)
	if !found || len(cs.Privileges) == 0 {
		return licensing.ConsoleSession{}, fmt.Errorf("sqlstore: %s: %w", op, licensing.ErrNotFound)
	}
	return cs, nil
}

// TouchConsoleSession returns the live session with the hash and records
// its use, in one statement: a session ended meanwhile is not revived.
func (s *Store) TouchConsoleSession(ctx context.Context, hash []byte, now, idleSince time.Time) (licensing.ConsoleSession, error) {
	return scanConsoleSession("touch console session", hash, func(scan func(*sql.Rows) error) error {
		return s.tx(ctx, func(tx *gorm.DB) error {
			return query(tx, "touch console session",
				`UPDATE console_sessions SET last_seen = ? WHERE `+liveConsoleSession+` RETURNING `+consoleSessionColumns,
				[]any{s.timeArg(now), hash, s.timeArg(idleSince), s.timeArg(now)}, scan)
		})
	})
}

// ConsoleSession returns the live session with the hash, as
// TouchConsoleSession does, without recording a use.
func (s *Store) ConsoleSession(ctx context.Context, hash []byte, now, idleSince time.Time) (licensing.ConsoleSession, error) {
	return scanConsoleSession("console session", hash, func(scan func(*sql.Rows) error) error {
		return query(s.conn(ctx), "console session",
			`SELECT `+consoleSessionColumns+` FROM console_sessions WHERE `+liveConsoleSession,
			[]any{hash, s.timeArg(idleSince), s.timeArg(now)}, scan)
	})
}

// EndConsoleSession deletes the session with the hash.
func (s *Store) EndConsoleSession(ctx context.Context, hash []byte) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		_, err := exec(tx, "end console session", `DELETE FROM console_sessions WHERE hash = ?`, hash)
		return err
	})
}
