package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/scimd/scimd/licensing"
)

const userColumns = "r.id, r.user_name, r.external_id, r.display_name, r.active, r.doc, r.created, r.last_modified, r.version, r.password_hash"

// CreateUser stores a new user with its assignments and password hash;
// u.Version must be 1 (else ErrInvalid, as for an assignment of an empty
// product id or of an unknown license type). It returns ErrConflict if the
// account has a user with the same userName, compared case-insensitively,
// or the same id, ErrNotFound if the account does not exist, and a
// *licensing.NamedSeatsExhaustedError if a named assignment of an active
// user finds no free named seat, in which case nothing is stored. The
// audit entries are stored with the user.
func (s *Store) CreateUser(ctx context.Context, u licensing.User, audit ...licensing.AuditEntry) error {
	if u.Version != 1 {
		return fmt.Errorf("sqlstore: create user: %w: version %d, want 1", licensing.ErrInvalid, u.Version)
	}
	doc, err := checkUser(u)
	if err != nil {
		return fmt.Errorf("sqlstore: create user: %w", err)
	}
	if u.Assignments, err = checkAssignments(u.Assignments); err != nil {
		return fmt.Errorf("sqlstore: create user: %w", err)
	}
	const insertUser = `INSERT INTO users (account_id, id, user_name, external_id, display_name, active, doc, created, last_modified, version, password_hash, search)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	userArgs := []any{u.AccountID, u.ID, u.UserName, nullString(u.ExternalID), nullString(u.DisplayName), u.Active, doc,
		s.timeArg(u.Created), s.timeArg(u.LastModified), u.Version, nullString(u.PasswordHash), searchText(u)}
	if len(u.Assignments) == 0 && len(audit) == 1 && s.dialect == DialectPostgres {
		// A user without products takes no seat: one statement writes
		// the user (its trigger counts it) and its audit entry, which
		// commit together, in one round trip instead of four. Not on
		// SQLite, where one SQL text must run always inside or always
		// outside transactions (see tx).
		args, err := s.auditArgs(u.AccountID, audit[0])
		if err != nil {
			return err
		}
		_, err = exec(s.conn(ctx), "create user",
			`WITH u AS (`+insertUser+` RETURNING account_id) `+
				`INSERT INTO audit_log (account_id, at, actor_id, actor_name, actor_scope, action, target_type, target_id, detail)
				 SELECT u.account_id, ?, ?, ?, ?, ?, ?, ?, ? FROM u`,
			append(userArgs, args[1:]...)...)
		return err
	}
	return s.tx(ctx, func(tx *gorm.DB) error {
		// No licensing lock: see "How the licenses in force stay right".
		if _, err := exec(tx, "create user", insertUser, userArgs...); err != nil {
			return err
		}
		if err := s.recordAudit(tx, u.AccountID, audit); err != nil {
			return err
		}
		if err := writeAssignments(tx, userAssignments, u.AccountID, u.ID, nil, u.Assignments); err != nil {
			return err
		}
		return s.relicense(tx, u.AccountID, []string{u.ID}, nil, u.LastModified)
	})
}

// UsersByID returns the account's users with the ids, with their
// assignments and without groups: one query per batch of ids, through
// the primary key.
func (s *Store) UsersByID(ctx context.Context, accountID string, ids []string) ([]licensing.User, error) {
	db := s.conn(ctx)
	var found []licensing.User
	for chunk := range slices.Chunk(ids, batch) {
		err := query(db, "users by id",
			`SELECT `+userColumns+` FROM users AS r WHERE r.account_id = ? AND r.id IN ?`, []any{accountID, chunk},
			func(rows *sql.Rows) error {
				u, err := scanUser(accountID)(rows)
				found = append(found, u)
				return err
			})
		if err != nil {
			return nil, err
		}
	}
	if err := s.loadUserDetails(db, accountID, found, false); err != nil {
		return nil, err
	}
	return found, nil
}

// User returns the account's user with the id, its groups filled
// (ordered by group id), or ErrNotFound.
func (s *Store) User(ctx context.Context, accountID, id string) (licensing.User, error) {
	db := s.conn(ctx)
	var found []licensing.User
	err := query(db, "user",
		`SELECT `+userColumns+` FROM users AS r WHERE r.account_id = ? AND r.id = ?`, []any{accountID, id},
		func(rows *sql.Rows) error {
			u, err := scanUser(accountID)(rows)
			found = append(found, u)
			return err
		})
	if err != nil {
		return licensing.User{}, err
	}
	if len(found) == 0 {
		return licensing.User{}, fmt.Errorf("sqlstore: user: %w", licensing.ErrNotFound)
	}
	if err := s.loadUserDetails(db, accountID, found, true); err != nil {
		return licensing.User{}, err
	}
	return found[0], nil
}

// ReplaceUser stores u over the user with u.ID if that user's version is
// still expectVersion; u.Version must be expectVersion+1 (else ErrInvalid).
// Created is kept, and so is the password hash when u.PasswordHash is
// empty. It returns ErrNotFound if there is no such user, ErrStale if the
// version moved on, ErrConflict if the new userName is taken, and a
// *licensing.NamedSeatsExhaustedError as CreateUser does. The sessions of
// products the user no longer holds end, freeing their seats; the user's
// tokens are revoked and their console sessions end when
// licensing.RevokesCredentials says so; the audit entries are stored with
// the change.
func (s *Store) ReplaceUser(ctx context.Context, u licensing.User, expectVersion int64, audit ...licensing.AuditEntry) error {
	if u.Version != expectVersion+1 {
		return fmt.Errorf("sqlstore: replace user: %w: version %d, want %d", licensing.ErrInvalid, u.Version, expectVersion+1)
	}
	doc, err := checkUser(u)
	if err != nil {
		return fmt.Errorf("sqlstore: replace user: %w", err)
	}
	if u.Assignments, err = checkAssignments(u.Assignments); err != nil {
		return fmt.Errorf("sqlstore: replace user: %w", err)
	}
	// First without the licensing lock, which a write changing no license
	// does not need; a write that turns out to change the user's activity
	// or direct assignments starts again with it (the lock comes before
	// the user's row).
	err = s.replaceUser(ctx, u, doc, expectVersion, false, audit)
	if errors.Is(err, errNeedsLicensingLock) {
		err = s.replaceUser(ctx, u, doc, expectVersion, true, audit)
	}
	return err
}

// errNeedsLicensingLock stops a ReplaceUser transaction run without the
// licensing lock that finds it changes the user's licenses.
var errNeedsLicensingLock = errors.New("sqlstore: replace user: needs the licensing lock")

// replaceUser is ReplaceUser's transaction, with the account's licensing
// lock or, without it, returning errNeedsLicensingLock (having changed
// nothing) if the write would change the user's activity or direct
// assignments.
func (s *Store) replaceUser(ctx context.Context, u licensing.User, doc string, expectVersion int64, licensingLock bool,
	audit []licensing.AuditEntry) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		if licensingLock {
			if err := s.lockLicensing(tx, u.AccountID); err != nil {
				return err
			}
		}
		old, err := s.lockUser(tx, "replace user", "FOR NO KEY UPDATE", u.AccountID, u.ID)
		if err != nil {
			return err
		}
		if old.Version != expectVersion {
			return fmt.Errorf("sqlstore: replace user: %w", licensing.ErrStale)
		}
		relicense := old.Active != u.Active || !maps.Equal(old.Assignments, u.Assignments)
		if relicense && !licensingLock {
			return errNeedsLicensingLock
		}
		if _, err := exec(tx, "replace user",
			`UPDATE users SET user_name = ?, external_id = ?, display_name = ?, active = ?, doc = ?, last_modified = ?, version = ?,
			 password_hash = COALESCE(?, password_hash), search = ?
			 WHERE account_id = ? AND id = ?`,
			u.UserName, nullString(u.ExternalID), nullString(u.DisplayName), u.Active, doc, s.timeArg(u.LastModified), u.Version,
			nullString(u.PasswordHash), searchText(u), u.AccountID, u.ID); err != nil {
			return err
		}
		if err := writeAssignments(tx, userAssignments, u.AccountID, u.ID, old.Assignments, u.Assignments); err != nil {
			return err
		}
		if licensing.RevokesCredentials(&old, &u) {
			if err := s.revokeUserTokens(tx, u.AccountID, u.ID, u.LastModified); err != nil {
				return err
			}
			if err := endConsoleSessions(tx, u.AccountID, u.ID); err != nil {
				return err
			}
		}
		if err := s.recordAudit(tx, u.AccountID, audit); err != nil {
			return err
		}
		if !relicense {
			return nil
		}
		return s.relicense(tx, u.AccountID, []string{u.ID}, nil, u.LastModified)
	})
}

// DeleteUser deletes the account's user and removes it from every group,
// bumping those groups' versions and last modification times, ends the
// user's sessions and frees their seats, in one transaction with the
// audit entries; the user's tokens go with the user (a foreign key on
// PostgreSQL, a trigger on SQLite). It returns ErrNotFound if there is no
// such user.
func (s *Store) DeleteUser(ctx context.Context, accountID, id string, at time.Time, audit ...licensing.AuditEntry) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		if err := s.lockLicensing(tx, accountID); err != nil {
			return err
		}
		if _, err := s.lockUser(tx, "delete user", "FOR UPDATE", accountID, id); err != nil {
			return err
		}
		// Seats first: the seats table refers to the user.
		if err := s.relicense(tx, accountID, []string{id}, map[string]bool{id: true}, at); err != nil {
			return err
		}
		endsTokens(tx)
		n, err := exec(tx, "delete user", `DELETE FROM users WHERE account_id = ? AND id = ?`, accountID, id)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("sqlstore: delete user: %w", licensing.ErrNotFound)
		}
		if err := s.recordAudit(tx, accountID, audit); err != nil {
			return err
		}
		return s.dropMemberships(tx, accountID, id, licensing.MemberUser, at)
	})
}

// lockUser reads, inside a write transaction, what the seat and
// credential rules need of the stored user (active flag, version, password
// hash, assignments). On PostgreSQL it
// locks the user's row until commit with the lock given (FOR UPDATE for a
// deletion, which needs it anyway), so that no session can start for the
// user (StartSession holds FOR SHARE on it) while the write decides which
// sessions end. ErrNotFound if there is no such user.
func (s *Store) lockUser(tx *gorm.DB, op, lock, accountID, id string) (licensing.User, error) {
	u := licensing.User{AccountID: accountID, ID: id}
	found := false
	err := query(tx, op,
		`SELECT active, version, password_hash FROM users WHERE account_id = ? AND id = ?`+s.lock(lock),
		[]any{accountID, id},
		func(rows *sql.Rows) error {
			found = true
			var hash sql.NullString
			err := rows.Scan(&u.Active, &u.Version, &hash)
			u.PasswordHash = hash.String
			return err
		})
	if err != nil {
		return u, err
	}
	if !found {
		return u, fmt.Errorf("sqlstore: %s: %w", op, licensing.ErrNotFound)
	}
	// Not loadAssignments: its statement runs outside transactions (see tx).
	err = query(tx, op, `SELECT product_id, license FROM assignments WHERE user_id = ? AND account_id = ?`,
		[]any{id, accountID},
		func(rows *sql.Rows) error {
			var product, license string
			if err := rows.Scan(&product, &license); err != nil {
				return err
			}
			if u.Assignments == nil {
				u.Assignments = licensing.Assignments{}
			}
			u.Assignments[product] = licensing.LicenseType(license)
			return nil
		})
	return u, err
}

// Users lists the account's users selected by q, with the groups of the
// whole page read in one query unless q.WithoutGroups. It returns
// ErrInvalid for a query it cannot translate: an attribute, operator or
// value of the wrong kind, a condition on groups other than on value and
// type, a negative offset or limit, or a malformed cursor.
func (s *Store) Users(ctx context.Context, accountID string, q licensing.Query) (licensing.Page[licensing.User], error) {
	page, err := list(ctx, s, usersResource, userColumns, accountID, q, scanUser(accountID))
	if err != nil {
		return page, err
	}
	if err := s.loadUserDetails(s.conn(ctx), accountID, page.Items, !q.WithoutGroups); err != nil {
		return licensing.Page[licensing.User]{}, err
	}
	return page, nil
}

// scanUser returns a reader of userColumns rows (and extra destinations).
func scanUser(accountID string) func(rows *sql.Rows, extra ...any) (licensing.User, error) {
	return func(rows *sql.Rows, extra ...any) (licensing.User, error) {
		u := licensing.User{AccountID: accountID}
		var ext, display, hash sql.NullString
		var doc []byte
		var created, modified dbTime
		dest := append([]any{&u.ID, &u.UserName, &ext, &display, &u.Active, &doc, &created, &modified, &u.Version, &hash}, extra...)
		if err := rows.Scan(dest...); err != nil {
			return u, err
		}
		u.ExternalID, u.DisplayName, u.PasswordHash = ext.String, display.String, hash.String
		u.Doc = json.RawMessage(doc)
		u.Created, u.LastModified = created.Time, modified.Time
		return u, nil
	}
}

// staleOrMissing tells, after a conditional update that changed nothing,
// whether the row is missing (ErrNotFound) or has another version
// (ErrStale).
func staleOrMissing(db *gorm.DB, op, table, accountID, id string) error {
	var n int64
	err := query(db, op, `SELECT COUNT(*) FROM `+table+` WHERE account_id = ? AND id = ?`, []any{accountID, id},
		func(rows *sql.Rows) error { return rows.Scan(&n) })
	switch {
	case err != nil:
		return err
	case n == 0:
		return fmt.Errorf("sqlstore: %s: %w", op, licensing.ErrNotFound)
	}
	return fmt.Errorf("sqlstore: %s: %w", op, licensing.ErrStale)
}

// dropMemberships removes the member from every group of the account,
// bumping the version and last modification time of those groups.
func (s *Store) dropMemberships(tx *gorm.DB, accountID, memberID string, typ licensing.MemberType, at time.Time) error {
	parents := `SELECT group_id FROM group_members WHERE account_id = ? AND member_id = ? AND member_type = ?`
	if s.dialect == DialectPostgres {
		// Lock the groups in one order, so that two deletions touching
		// the same groups cannot deadlock.
		if _, err := exec(tx, "lock groups",
			`SELECT id FROM "groups" WHERE account_id = ? AND id IN (`+parents+`) ORDER BY id FOR NO KEY UPDATE`,
			accountID, accountID, memberID, string(typ)); err != nil {
			return err
		}
	}
	if _, err := exec(tx, "bump groups",
		`UPDATE "groups" SET version = version + 1, last_modified = ? WHERE account_id = ? AND id IN (`+parents+`)`,
		s.timeArg(at), accountID, accountID, memberID, string(typ)); err != nil {
		return err
	}
	_, err := exec(tx, "drop memberships",
		`DELETE FROM group_members WHERE account_id = ? AND member_id = ? AND member_type = ?`,
		accountID, memberID, string(typ))
	return err
}

// checkUser checks what the database needs of a user and returns its
// document as the text to store.
func checkUser(u licensing.User) (string, error) {
	if u.ID == "" || u.UserName == "" {
		return "", fmt.Errorf("%w: a user needs an id and a userName", licensing.ErrInvalid)
	}
	if err := checkText(u.AccountID, u.ID, u.UserName, u.ExternalID, u.DisplayName, u.PasswordHash); err != nil {
		return "", err
	}
	return docText(u.Doc)
}

// checkText rejects text that PostgreSQL cannot store (NUL, invalid
// UTF-8), so that both dialects refuse the same input the same way.
func checkText(fields ...string) error {
	for _, f := range fields {
		if !utf8.ValidString(f) || strings.IndexByte(f, 0) >= 0 {
			return fmt.Errorf("%w: text %q is not valid UTF-8 without NUL", licensing.ErrInvalid, f)
		}
	}
	return nil
}

// docText returns the document to store: a JSON object, "{}" if empty.
func docText(doc json.RawMessage) (string, error) {
	doc = bytes.TrimSpace(doc)
	if len(doc) == 0 {
		return "{}", nil
	}
	if doc[0] != '{' || !json.Valid(doc) || bytes.Contains(doc, []byte(`\u0000`)) {
		return "", fmt.Errorf("%w: the document must be a JSON object without NUL characters", licensing.ErrInvalid)
	}
	return string(doc), nil
}

// searchText is what Query.Text matches a user against: the userName,
// displayName, name parts and email addresses, lower-cased, separated by
// spaces. A document that cannot be read contributes nothing.
func searchText(u licensing.User) string {
	var doc struct {
		Name struct {
			GivenName  string `json:"givenName"`
			FamilyName string `json:"familyName"`
			Formatted  string `json:"formatted"`
		} `json:"name"`
		Emails []struct {
			Value string `json:"value"`
		} `json:"emails"`
	}
	_ = json.Unmarshal(u.Doc, &doc)
	parts := []string{u.UserName, u.DisplayName, doc.Name.GivenName, doc.Name.FamilyName, doc.Name.Formatted}
	for _, e := range doc.Emails {
		parts = append(parts, e.Value)
	}
	var b strings.Builder
	for _, p := range parts {
		if p == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(p)
	}
	return strings.ToLower(b.String())
}
