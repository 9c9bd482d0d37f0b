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

// CreateAccount stores a new account. It returns ErrConflict if the name
// (or the id) is taken.
func (s *Store) CreateAccount(ctx context.Context, a licensing.Account) error {
	_, err := exec(s.conn(ctx), "create account",
		`INSERT INTO accounts (id, name, created_at) VALUES (?, ?, ?)`,
		a.ID, a.Name, s.timeArg(a.CreatedAt))
	return err
}

// Account returns the account with the id, or ErrNotFound.
func (s *Store) Account(ctx context.Context, id string) (licensing.Account, error) {
	return s.oneAccount(ctx, "account", `id = ?`, id)
}

// AccountByName returns the account with the name, or ErrNotFound.
func (s *Store) AccountByName(ctx context.Context, name string) (licensing.Account, error) {
	return s.oneAccount(ctx, "account by name", `name = ?`, name)
}

func (s *Store) oneAccount(ctx context.Context, op, where string, arg any) (licensing.Account, error) {
	as, err := s.accounts(ctx, op, `WHERE `+where, arg)
	if err != nil {
		return licensing.Account{}, err
	}
	if len(as) == 0 {
		return licensing.Account{}, fmt.Errorf("sqlstore: %s: %w", op, licensing.ErrNotFound)
	}
	return as[0], nil
}

// Accounts lists all accounts by creation.
func (s *Store) Accounts(ctx context.Context) ([]licensing.Account, error) {
	return s.accounts(ctx, "accounts", ``)
}

func (s *Store) accounts(ctx context.Context, op, where string, args ...any) ([]licensing.Account, error) {
	var as []licensing.Account
	err := query(s.conn(ctx), op,
		`SELECT id, name, created_at FROM accounts `+where+` ORDER BY created_at, id`, args,
		func(rows *sql.Rows) error {
			var a licensing.Account
			var created dbTime
			if err := rows.Scan(&a.ID, &a.Name, &created); err != nil {
				return err
			}
			a.CreatedAt = created.Time
			as = append(as, a)
			return nil
		})
	return as, err
}

// CreateToken stores a token, with its user and expiry. It returns
// ErrNotFound if the account does not exist or the token's user is not a
// user of the account, and ErrConflict if the id is taken.
func (s *Store) CreateToken(ctx context.Context, t licensing.Token) error {
	var userID any
	if t.UserID != "" {
		userID = t.UserID
	}
	return s.tx(ctx, func(tx *gorm.DB) error {
		if t.UserID != "" {
			// On SQLite no foreign key ties the token to the user (see
			// migration 0003), so check it here, in the transaction.
			var n int64
			if err := query(tx, "token user", `SELECT COUNT(*) FROM users WHERE account_id = ? AND id = ?`, []any{t.AccountID, t.UserID},
				func(rows *sql.Rows) error { return rows.Scan(&n) }); err != nil {
				return err
			}
			if n == 0 {
				return fmt.Errorf("sqlstore: create token: user %s: %w", t.UserID, licensing.ErrNotFound)
			}
		}
		_, err := exec(tx, "create token",
			`INSERT INTO tokens (id, account_id, name, scope, hash, created_at, revoked_at, user_id, expires_at, privileges) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			t.ID, t.AccountID, t.Name, string(t.Scope), t.Hash, s.timeArg(t.CreatedAt), s.nullTimeArg(t.RevokedAt), userID, s.nullTimeArg(t.ExpiresAt),
			licensing.FormatPrivileges(licensing.NormalizePrivileges(t.Privileges)))
		return err
	})
}

// Token returns the token with the id, revoked or not, whatever its
// account, or ErrNotFound.
func (s *Store) Token(ctx context.Context, id string) (licensing.Token, error) {
	ts, err := s.tokens(ctx, "token", `id = ?`, id)
	if err != nil {
		return licensing.Token{}, err
	}
	if len(ts) == 0 {
		return licensing.Token{}, fmt.Errorf("sqlstore: token: %w", licensing.ErrNotFound)
	}
	return ts[0], nil
}

// Tokens lists the account's tokens, revoked ones included, by creation.
func (s *Store) Tokens(ctx context.Context, accountID string) ([]licensing.Token, error) {
	return s.tokens(ctx, "tokens", `account_id = ?`, accountID)
}

func (s *Store) tokens(ctx context.Context, op, where string, arg any) ([]licensing.Token, error) {
	var ts []licensing.Token
	err := query(s.conn(ctx), op,
		`SELECT id, account_id, name, scope, hash, created_at, revoked_at, user_id, expires_at, privileges FROM tokens WHERE `+where+` ORDER BY created_at, id`,
		[]any{arg},
		func(rows *sql.Rows) error {
			var t licensing.Token
			var scope, privileges string
			var created, revoked, expires dbTime
			var userID sql.NullString
			if err := rows.Scan(&t.ID, &t.AccountID, &t.Name, &scope, &t.Hash, &created, &revoked, &userID, &expires, &privileges); err != nil {
				return err
			}
			for _, p := range strings.Split(privileges, ",") {
				if p != "" {
					t.Privileges = append(t.Privileges, licensing.Privilege(p))
				}
			}
			t.UserID = userID.String
			t.ExpiresAt = expires.ptr()
			t.Scope = licensing.Scope(scope)
			t.CreatedAt = created.Time
			t.RevokedAt = revoked.ptr()
			ts = append(ts, t)
			return nil
		})
	return ts, err
}

// RevokeToken marks the account's token as revoked at the given time. It
// returns ErrNotFound if the account has no token with the id. Revoking a
// revoked token keeps the first revocation time and succeeds.
func (s *Store) RevokeToken(ctx context.Context, accountID, id string, at time.Time) error {
	n, err := exec(s.conn(ctx), "revoke token",
		`UPDATE tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE account_id = ? AND id = ?`,
		s.timeArg(at), accountID, id)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("sqlstore: revoke token: %w", licensing.ErrNotFound)
	}
	return nil
}
