package sqlstore

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"unicode/utf8"

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
			// RawBytes, valid until the next row: a user in many groups
			// reads many rows, and only what is kept is copied.
			var kind, userID, key, license, status, sources sql.RawBytes
			var place int
			if err := rows.Scan(&kind, &userID, &key, &license, &status, &sources, &place); err != nil {
				return err
			}
			i, ok := at[string(userID)]
			if !ok || len(kind) != 1 {
				return fmt.Errorf("user details: unexpected row %q for user %q", kind, userID)
			}
			u := &users[i]
			switch kind[0] {
			case 'a':
				if u.Assignments == nil {
					u.Assignments = licensing.Assignments{}
				}
				u.Assignments[string(key)] = licensing.LicenseType(license)
			case 'l':
				l := licensing.License{ProductID: string(key), License: licensing.LicenseType(license), Status: licensing.LicenseStatus(status), Place: place}
				if l.Sources, ok = stringList(sources); !ok {
					_ = json.Unmarshal(sources, &l.Sources)
				}
				u.Licenses = append(u.Licenses, l)
			case 'g':
				u.Groups = append(u.Groups, licensing.GroupRef{ID: string(key), Display: string(license)})
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

// stringList reads the JSON list of strings a license's sources are
// stored as (sourcesText) without encoding/json, when no string holds an
// escape, which group ids and "direct" never do; ok is false for anything
// else, which json.Unmarshal then reads.
func stringList(raw []byte) (list []string, ok bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) < 2 || raw[0] != '[' || raw[len(raw)-1] != ']' || bytes.IndexByte(raw, '\\') >= 0 || !utf8.Valid(raw) {
		return nil, false
	}
	body := bytes.TrimSpace(raw[1 : len(raw)-1])
	if len(body) == 0 {
		return []string{}, true
	}
	list = make([]string, 0, bytes.Count(body, []byte{','})+1)
	for part := range bytes.SplitSeq(body, []byte{','}) {
		part = bytes.TrimSpace(part)
		if len(part) < 2 || part[0] != '"' || part[len(part)-1] != '"' {
			return nil, false
		}
		str := part[1 : len(part)-1]
		if bytes.ContainsFunc(str, func(r rune) bool { return r == '"' || r < 0x20 }) {
			return nil, false
		}
		list = append(list, string(str))
	}
	return list, true
}
