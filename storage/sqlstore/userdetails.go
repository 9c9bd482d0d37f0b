package sqlstore

import (
	"database/sql"
	"encoding/json"
	"slices"

	"gorm.io/gorm"

	"github.com/scimd/scimd/licensing"
)

// loadUserDetails fills, outside transactions, what a user read returns
// beside its row: its direct assignments, its licenses in force (ordered
// by product in byte order, then named first) and, with groups, the
// groups it is a direct member of (ordered by group id in byte order,
// with their display names). One statement per batch of users reads all
// three, through the primary keys of assignments and user_licenses, the
// queue's index for the places of pending licenses and the (account_id,
// member_id) index of group_members: one round trip instead of three on
// every lookup, and one snapshot of the three tables.
func (s *Store) loadUserDetails(db *gorm.DB, accountID string, users []licensing.User, groups bool) error {
	at := make(map[string]int, len(users))
	ids := make([]string, len(users))
	for i, u := range users {
		at[u.ID] = i
		ids[i] = u.ID
		users[i].Assignments, users[i].Licenses, users[i].Groups = nil, nil, nil
	}
	stmt := s.userDetailsSQL(groups)
	for chunk := range slices.Chunk(ids, batch) {
		args := []any{accountID, chunk, accountID, chunk}
		if groups {
			args = append(args, accountID, chunk)
		}
		err := query(db, "user details", stmt, args, func(rows *sql.Rows) error {
			var kind, userID, key, license, status, sources string
			var place int
			if err := rows.Scan(&kind, &userID, &key, &license, &status, &sources, &place); err != nil {
				return err
			}
			u := &users[at[userID]]
			switch kind {
			case "a":
				if u.Assignments == nil {
					u.Assignments = licensing.Assignments{}
				}
				u.Assignments[key] = licensing.LicenseType(license)
			case "l":
				l := licensing.License{ProductID: key, License: licensing.LicenseType(license), Status: licensing.LicenseStatus(status), Place: place}
				_ = json.Unmarshal([]byte(sources), &l.Sources)
				u.Licenses = append(u.Licenses, l)
			case "g":
				u.Groups = append(u.Groups, licensing.GroupRef{ID: key, Display: license})
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// userDetailsSQL is loadUserDetails' statement: rows of a kind ('a' an
// assignment, 'l' a license in force, 'g' a group), the user's id, the
// product (or group) id, the license type (or the group's display name),
// and for licenses their status, sources and place in the queue. Its
// arguments are the account and the user ids, once per kind.
func (s *Store) userDetailsSQL(groups bool) string {
	stmt := `SELECT 'a' AS kind, user_id AS owner, product_id AS k, license AS v, '' AS status, '' AS sources, 0 AS place
		FROM assignments WHERE account_id = ? AND user_id IN ?
	UNION ALL
	SELECT 'l', l.user_id, l.product_id, l.license, l.status, l.sources,
	   CASE WHEN l.status = 'pending' THEN (SELECT COUNT(*) FROM user_licenses AS q
	     WHERE q.account_id = l.account_id AND q.product_id = l.product_id AND q.status = 'pending'
	       AND q.queued_seq <= l.queued_seq) ELSE 0 END
		FROM user_licenses AS l WHERE l.account_id = ? AND l.user_id IN ?`
	if groups {
		// SQLite would rather scan the account's memberships in primary
		// key order than look each user up in the member index.
		members := `group_members AS m`
		if s.dialect == DialectSQLite {
			members += ` INDEXED BY group_members_member_idx`
		}
		stmt += `
	UNION ALL
	SELECT 'g', m.member_id, g.id, g.display_name, '', '', 0
		FROM ` + members + `
		JOIN "groups" AS g ON g.account_id = m.account_id AND g.id = m.group_id
		WHERE m.account_id = ? AND m.member_type = 'User' AND m.member_id IN ?`
	}
	return `SELECT kind, owner, k, v, status, sources, place FROM (` + stmt + `) AS d
		ORDER BY kind, owner, ` + s.byteOrder("k") + `, v DESC`
}
