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

// CreateAccount stores a new account with the audit entries of its
// making. It returns ErrConflict if the name (or the id) is taken.
func (s *Store) CreateAccount(ctx context.Context, a licensing.Account, audit ...licensing.AuditEntry) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		if _, err := exec(tx, "create account",
			`INSERT INTO accounts (id, name, created_at) VALUES (?, ?, ?)`,
			a.ID, a.Name, s.timeArg(a.CreatedAt)); err != nil {
			return err
		}
		return s.recordAudit(tx, a.ID, audit)
	})
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

// CreateToken stores a token, with its user and expiry, and the audit
// entries of its making. It returns ErrNotFound if the account does not
// exist or the token's user is not a user of the account, and ErrConflict
// if the id is taken.
func (s *Store) CreateToken(ctx context.Context, t licensing.Token, audit ...licensing.AuditEntry) error {
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
		if _, err := exec(tx, "create token",
			`INSERT INTO tokens (id, account_id, name, scope, hash, created_at, revoked_at, user_id, expires_at, privileges, sign_in) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			t.ID, t.AccountID, t.Name, string(t.Scope), t.Hash, s.timeArg(t.CreatedAt), s.nullTimeArg(t.RevokedAt), userID, s.nullTimeArg(t.ExpiresAt),
			licensing.FormatPrivileges(licensing.NormalizePrivileges(t.Privileges)), t.SignIn); err != nil {
			return err
		}
		return s.recordAudit(tx, t.AccountID, audit)
	})
}

const tokenColumns = `id, account_id, name, scope, hash, created_at, revoked_at, user_id, expires_at, privileges, sign_in`

// Token returns the token with the id, revoked or not, whatever its
// account, or ErrNotFound. A token found is kept for tokenCacheTTL
// (tokencache.go).
func (s *Store) Token(ctx context.Context, id string) (licensing.Token, error) {
	start := time.Now()
	if t, ok := s.tokens.get(id, start); ok {
		return t, nil
	}
	gen := s.tokens.reading()
	var found []licensing.Token
	err := query(s.conn(ctx), "token", `SELECT `+tokenColumns+` FROM tokens WHERE id = ?`, []any{id},
		func(rows *sql.Rows) error {
			t, err := scanToken(rows)
			found = append(found, t)
			return err
		})
	if err != nil {
		return licensing.Token{}, err
	}
	if len(found) == 0 {
		return licensing.Token{}, fmt.Errorf("sqlstore: token: %w", licensing.ErrNotFound)
	}
	s.tokens.put(gen, found[0], start)
	return found[0], nil
}

// tokenCursor is the position after the last token of a page: tokens are
// listed by creation, then id.
type tokenCursor struct {
	At time.Time `json:"c"`
	ID string    `json:"i"`
}

// Tokens lists the account's tokens selected by q, revoked and expired
// ones included, by creation then id, through the (account_id,
// created_at, id) index. ErrInvalid for a malformed cursor.
func (s *Store) Tokens(ctx context.Context, accountID string, q licensing.TokenQuery) (licensing.Page[licensing.Token], error) {
	var page licensing.Page[licensing.Token]
	where, args := `account_id = ?`, []any{accountID}
	if q.Scope != "" {
		where += ` AND scope = ?`
		args = append(args, string(q.Scope))
	}
	if q.After != "" {
		var c tokenCursor
		if err := readJSONCursor(q.After, &c); err != nil || c.ID == "" {
			return page, invalid("malformed cursor")
		}
		at := s.timeArg(c.At)
		where += ` AND (created_at > ? OR (created_at = ? AND id > ?))`
		args = append(args, at, at, c.ID)
	}
	limit := max(q.Limit, 1)
	args = append(args, limit+1)
	err := query(s.conn(ctx), "tokens",
		`SELECT `+tokenColumns+` FROM tokens WHERE `+where+` ORDER BY created_at, `+s.byteOrder("id")+` LIMIT ?`, args,
		func(rows *sql.Rows) error {
			t, err := scanToken(rows)
			page.Items = append(page.Items, t)
			return err
		})
	cutPage(&page, limit, func(t licensing.Token) any { return tokenCursor{At: t.CreatedAt, ID: t.ID} })
	return page, err
}

// scanToken reads a row of tokenColumns.
func scanToken(rows *sql.Rows) (licensing.Token, error) {
	var t licensing.Token
	var scope, privileges string
	var created, revoked, expires dbTime
	var userID sql.NullString
	if err := rows.Scan(&t.ID, &t.AccountID, &t.Name, &scope, &t.Hash, &created, &revoked, &userID, &expires, &privileges, &t.SignIn); err != nil {
		return t, err
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
	return t, nil
}

// RevokeToken marks the account's token as revoked at the given time and
// records the audit entries. It returns ErrNotFound if the account has no
// token with the id. Revoking a revoked token keeps the first revocation
// time, records nothing and succeeds.
func (s *Store) RevokeToken(ctx context.Context, accountID, id string, at time.Time, audit ...licensing.AuditEntry) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		endsTokens(tx)
		n, err := exec(tx, "revoke token",
			`UPDATE tokens SET revoked_at = ? WHERE account_id = ? AND id = ? AND revoked_at IS NULL`,
			s.timeArg(at), accountID, id)
		if err != nil {
			return err
		}
		if n == 1 {
			return s.recordAudit(tx, accountID, audit)
		}
		var found int64
		if err := query(tx, "revoke token", `SELECT COUNT(*) FROM tokens WHERE account_id = ? AND id = ?`, []any{accountID, id},
			func(rows *sql.Rows) error { return rows.Scan(&found) }); err != nil {
			return err
		}
		if found == 0 {
			return fmt.Errorf("sqlstore: revoke token: %w", licensing.ErrNotFound)
		}
		return nil
	})
}

// revokeUserTokens revokes, inside a user write's transaction, every
// token of the user that is not revoked yet (licensing.RevokesCredentials).
func (s *Store) revokeUserTokens(tx *gorm.DB, accountID, userID string, at time.Time) error {
	endsTokens(tx)
	_, err := exec(tx, "revoke user tokens",
		`UPDATE tokens SET revoked_at = ? WHERE account_id = ? AND user_id = ? AND revoked_at IS NULL`,
		s.timeArg(at), accountID, userID)
	return err
}
