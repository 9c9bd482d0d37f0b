package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/scimd/scimd/licensing"
)

// AppendAudit stores an audit entry on its own. ErrNotFound if the
// account does not exist.
func (s *Store) AppendAudit(ctx context.Context, e licensing.AuditEntry) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		return s.recordAudit(tx, e.AccountID, []licensing.AuditEntry{e})
	})
}

// auditInsert stores one audit entry; its arguments are auditArgs'.
const auditInsert = `INSERT INTO audit_log (account_id, at, actor_id, actor_name, actor_scope, action, target_type, target_id, detail)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`

// recordAudit stores, inside a write's transaction, the audit entries of
// the write, in the write's account (whatever their AccountID says), so
// that the write and its entries commit or roll back together.
func (s *Store) recordAudit(tx *gorm.DB, accountID string, entries []licensing.AuditEntry) error {
	for _, e := range entries {
		args, err := s.auditArgs(accountID, e)
		if err != nil {
			return err
		}
		if _, err := exec(tx, "record audit", auditInsert, args...); err != nil {
			if tx.Statement.Context.Err() == nil {
				s.tellAuditFailed()
			}
			return err
		}
	}
	return nil
}

// auditArgs are the arguments of auditInsert for the entry in the
// account; ErrInvalid for text the database cannot hold (an entry that
// cannot be written, told to the observer).
func (s *Store) auditArgs(accountID string, e licensing.AuditEntry) ([]any, error) {
	if err := checkText(e.ActorID, e.ActorName, string(e.ActorScope), e.Action, e.TargetType, e.TargetID, e.Detail); err != nil {
		s.tellAuditFailed()
		return nil, fmt.Errorf("sqlstore: record audit: %w", err)
	}
	return []any{accountID, s.timeArg(e.At), e.ActorID, e.ActorName, string(e.ActorScope), e.Action, e.TargetType, e.TargetID, e.Detail}, nil
}

// auditCursor is the position after the last entry of a page: entries are
// listed newest first, by time then id.
type auditCursor struct {
	At time.Time `json:"a"`
	ID counter   `json:"i"`
}

// AuditLog lists the account's audit entries selected by q, newest first.
func (s *Store) AuditLog(ctx context.Context, accountID string, q licensing.AuditQuery) (licensing.Page[licensing.AuditEntry], error) {
	var page licensing.Page[licensing.AuditEntry]
	where, args := `account_id = ?`, []any{accountID}
	for _, f := range []struct{ col, val string }{
		{"action", q.Action}, {"actor_id", q.ActorID}, {"target_type", q.TargetType}, {"target_id", q.TargetID},
	} {
		if f.val != "" {
			where += ` AND ` + f.col + ` = ?`
			args = append(args, f.val)
		}
	}
	if !q.From.IsZero() {
		where += ` AND at >= ?`
		args = append(args, s.timeArg(q.From))
	}
	if !q.To.IsZero() {
		where += ` AND at < ?`
		args = append(args, s.timeArg(q.To))
	}
	if q.After != "" {
		var c auditCursor
		if err := readJSONCursor(q.After, &c); err != nil || c.ID <= 0 {
			return page, invalid("malformed cursor")
		}
		at := s.timeArg(c.At)
		where += ` AND (at < ? OR (at = ? AND id < ?))`
		args = append(args, at, at, int64(c.ID))
	}
	limit := max(q.Limit, 1)
	args = append(args, limit+1)
	// The identity column orders entries of one time and makes the
	// cursor; entries show their public id.
	var last auditCursor
	err := query(s.conn(ctx), "audit log",
		`SELECT id, public_id, at, actor_id, actor_name, actor_scope, action, target_type, target_id, detail FROM audit_log
		 WHERE `+where+` ORDER BY at DESC, id DESC LIMIT ?`, args,
		func(rows *sql.Rows) error {
			e := licensing.AuditEntry{AccountID: accountID}
			var id int64
			var at dbTime
			var scope string
			if err := rows.Scan(&id, &e.ID, &at, &e.ActorID, &e.ActorName, &scope, &e.Action, &e.TargetType, &e.TargetID, &e.Detail); err != nil {
				return err
			}
			e.At, e.ActorScope = at.Time, licensing.Scope(scope)
			if len(page.Items) < limit {
				page.Items = append(page.Items, e)
				last = auditCursor{At: e.At, ID: counter(id)}
			} else {
				page.Next = jsonCursor(last)
			}
			return nil
		})
	if err != nil {
		return licensing.Page[licensing.AuditEntry]{}, err
	}
	return page, nil
}
