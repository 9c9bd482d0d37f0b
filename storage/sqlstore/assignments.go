package sqlstore

import (
	"cmp"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/scimd/scimd/licensing"
)

// checkAssignments validates a user's assignments and returns them
// without the products of license none, or nil if none is left:
// ErrInvalid for an empty product id, text the database cannot hold or
// an unknown license type.
func checkAssignments(a licensing.Assignments) (licensing.Assignments, error) {
	var out licensing.Assignments
	for p, t := range a {
		if p == "" {
			return nil, fmt.Errorf("%w: an assignment needs a product id", licensing.ErrInvalid)
		}
		if err := checkText(p); err != nil {
			return nil, err
		}
		switch t {
		case "", licensing.LicenseNone:
			continue
		case licensing.LicenseNamed, licensing.LicenseConcurrent:
		default:
			return nil, fmt.Errorf("%w: license type %q of %q must be named, concurrent or none", licensing.ErrInvalid, t, p)
		}
		if out == nil {
			out = licensing.Assignments{}
		}
		out[p] = t
	}
	return out, nil
}

// assignmentTable names a table of assignments: the users' direct ones
// or the groups' ones, keyed by account, owner and product.
type assignmentTable struct{ table, owner string }

var (
	userAssignments  = assignmentTable{"assignments", "user_id"}
	groupAssignments = assignmentTable{"group_assignments", "group_id"}
)

// writeAssignments turns the owner's stored assignments old into new
// (both as checkAssignments returns them), writing only the difference.
func writeAssignments(tx *gorm.DB, t assignmentTable, accountID, ownerID string, old, new licensing.Assignments) error {
	var removed []string
	for p := range old {
		if _, ok := new[p]; !ok {
			removed = append(removed, p)
		}
	}
	if len(removed) > 0 {
		slices.Sort(removed)
		if _, err := exec(tx, "write assignments",
			`DELETE FROM `+t.table+` WHERE account_id = ? AND `+t.owner+` = ? AND product_id IN ?`,
			accountID, ownerID, removed); err != nil {
			return err
		}
	}
	var changed []string
	for p, l := range new {
		if old[p] != l {
			changed = append(changed, p)
		}
	}
	slices.Sort(changed)
	for chunk := range slices.Chunk(changed, batch/4) {
		args := make([]any, 0, 4*len(chunk))
		for _, p := range chunk {
			args = append(args, accountID, ownerID, p, string(new[p]))
		}
		values := strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?), ", len(chunk)), ", ")
		if _, err := exec(tx, "write assignments",
			`INSERT INTO `+t.table+` (account_id, `+t.owner+`, product_id, license) VALUES `+values+`
			 ON CONFLICT (account_id, `+t.owner+`, product_id) DO UPDATE SET license = excluded.license`, args...); err != nil {
			return err
		}
	}
	return nil
}

// readAssignments reads the assignments of the owners, by owner id: one
// query per batch of owners, through the primary key. inTx tells whether
// db is a transaction (the statement texts differ: see tx).
func readAssignments(db *gorm.DB, t assignmentTable, accountID string, ids []string, inTx bool) (map[string]licensing.Assignments, error) {
	out := map[string]licensing.Assignments{}
	where := `account_id = ? AND ` + t.owner + ` IN ?`
	if inTx {
		where = t.owner + ` IN ? AND account_id = ?`
	}
	for chunk := range slices.Chunk(ids, batch) {
		args := []any{accountID, chunk}
		if inTx {
			args = []any{chunk, accountID}
		}
		err := query(db, "assignments",
			`SELECT `+t.owner+`, product_id, license FROM `+t.table+` WHERE `+where, args,
			func(rows *sql.Rows) error {
				var owner, product, license string
				if err := rows.Scan(&owner, &product, &license); err != nil {
					return err
				}
				if out[owner] == nil {
					out[owner] = licensing.Assignments{}
				}
				out[owner][product] = licensing.LicenseType(license)
				return nil
			})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// loadAssignments fills the direct assignments of users, outside
// transactions.
func loadAssignments(db *gorm.DB, t assignmentTable, accountID string, users []licensing.User) error {
	return fillAssignments(db, t, accountID, users, func(u *licensing.User) *string { return &u.ID },
		func(u *licensing.User) *licensing.Assignments { return &u.Assignments })
}

// fillAssignments fills the assignments of items (users or groups),
// outside transactions, read by readAssignments.
func fillAssignments[T any](db *gorm.DB, t assignmentTable, accountID string, items []T,
	id func(*T) *string, assignments func(*T) *licensing.Assignments) error {
	ids := make([]string, len(items))
	for i := range items {
		ids[i] = *id(&items[i])
	}
	found, err := readAssignments(db, t, accountID, ids, false)
	for i := range items {
		*assignments(&items[i]) = found[ids[i]]
	}
	return err
}

// planKey names a plan.
type planKey struct{ account, product string }

// planChange is what one write changes in a plan's counters.
type planChange struct{ named, concurrent int }

// planChanges collects the counter changes of one transaction, applied
// at its end in key order by applyPlans.
type planChanges map[planKey]*planChange

func (c planChanges) add(accountID, productID string) *planChange {
	k := planKey{accountID, productID}
	if c[k] == nil {
		c[k] = &planChange{}
	}
	return c[k]
}

// applyPlans applies the counter changes in the order of (account,
// product), so that writes touching several plans lock them in one order
// and cannot deadlock; the plans are the last rows a seat transaction
// locks (after users, sessions and seats). A change that takes named
// seats happens only if the plan has them free, in the UPDATE itself;
// otherwise the error is a *licensing.NamedSeatsExhaustedError with the
// numbers read in the transaction (0 of 0 without a plan), and the caller
// rolls everything back. Concurrent seats freed are told to the first
// waiters of the line (seatsChanged; at is the write's time): every
// release of a seat goes through here.
func (s *Store) applyPlans(tx *gorm.DB, changes planChanges, at time.Time) error {
	keys := slices.SortedFunc(maps.Keys(changes), func(a, b planKey) int {
		return cmp.Or(strings.Compare(a.account, b.account), strings.Compare(a.product, b.product))
	})
	for _, k := range keys {
		c := changes[k]
		switch {
		case c.named > 0:
			n, err := exec(tx, "take named seat",
				`UPDATE plans SET named_used = named_used + ?, concurrent_used = concurrent_used + ?
				 WHERE account_id = ? AND product_id = ? AND named_used + ? <= named_seats`,
				c.named, c.concurrent, k.account, k.product, c.named)
			if err != nil {
				return err
			}
			if n == 0 {
				used, total, err := planNumbers(tx, "named", k)
				if err != nil {
					return err
				}
				return &licensing.NamedSeatsExhaustedError{Product: licensing.Product{ID: k.product}, Assigned: used, Total: total}
			}
		case c.concurrent < 0 && s.dialect == DialectPostgres:
			// Seats freed: the first waiters of the product's line (live
			// at the time of the write) are told, by the same statement.
			if _, err := exec(tx, "free seats", freeSeatsSQL,
				c.named, c.concurrent, k.account, k.product, s.timeArg(at), "", maxTickets); err != nil {
				return err
			}
			continue
		case c.named < 0 || c.concurrent != 0:
			if _, err := exec(tx, "free seats",
				`UPDATE plans SET named_used = named_used + ?, concurrent_used = concurrent_used + ?
				 WHERE account_id = ? AND product_id = ?`,
				c.named, c.concurrent, k.account, k.product); err != nil {
				return err
			}
		}
		if c.concurrent < 0 {
			// Seats freed: the first waiters of the product's line (live
			// at the time of the write) may take them.
			if err := s.seatsChanged(tx, k.account, k.product, at); err != nil {
				return err
			}
		}
	}
	return nil
}

// planNumbers reads a plan's used and total seats of a kind ("named" or
// "concurrent"), 0 and 0 if there is no plan.
func planNumbers(tx *gorm.DB, kind string, k planKey) (used, total int, err error) {
	err = query(tx, "read plan",
		`SELECT `+kind+`_used, `+kind+`_seats FROM plans WHERE account_id = ? AND product_id = ?`,
		[]any{k.account, k.product},
		func(rows *sql.Rows) error { return rows.Scan(&used, &total) })
	return used, total, err
}
