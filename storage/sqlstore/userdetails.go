package sqlstore

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
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
// every lookup, and one snapshot of the three tables. The order is made
// here: sorting the rows in the database (wide ones, with the licenses'
// sources) cost a user in 50 groups more than reading them.
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
				refs, err := groupRefs(key, license)
				if err != nil {
					return fmt.Errorf("user details: groups of user %q: %w", userID, err)
				}
				u.Groups = append(u.Groups, refs...)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	for i := range users {
		slices.SortFunc(users[i].Groups, func(a, b licensing.GroupRef) int { return strings.Compare(a.ID, b.ID) })
		slices.SortFunc(users[i].Licenses, func(a, b licensing.License) int {
			if c := strings.Compare(a.ProductID, b.ProductID); c != 0 {
				return c
			}
			return strings.Compare(string(b.License), string(a.License)) // named before concurrent
		})
	}
	return nil
}

// userDetailsSQL is loadUserDetails' statement: rows of a kind ('a' an
// assignment, 'l' a license in force, 'g' the user's groups), the user's
// id, the product id (or the groups' ids), the license type (or the
// groups' display names), and for licenses their status, sources and
// place in the queue, in no order. Its arguments are the account and the user ids, once per kind.
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
		// One row per user, its groups' ids and names as two JSON lists
		// in the same order: as cheap for the database as a row per
		// group, and far cheaper to read than 50 of them.
		list := `json_group_array(%s)`
		if s.dialect == DialectPostgres {
			list = `json_agg(%s)::text`
		}
		stmt += `
	UNION ALL
	SELECT 'g', m.member_id, ` + fmt.Sprintf(list, "m.group_id") + `, ` + fmt.Sprintf(list, "m.group_name") + `, '', '', 0
		FROM ` + members + `
		WHERE m.account_id = ? AND m.member_type = 'User' AND m.member_id IN ?
		GROUP BY m.member_id`
	}
	return stmt
}

// stringList reads the JSON list of strings a license's sources are
// stored as (sourcesText), or a user's group ids or names, without
// encoding/json, when no string holds an escape or a control character,
// which group ids and "direct" never do; ok is false for anything else,
// which json.Unmarshal then reads. The strings are slices of one copy of
// raw: one allocation for the list's strings, not one each (a user in 50
// groups reads about 250).
func stringList(raw []byte) (list []string, ok bool) {
	raw = trimJSONSpace(raw)
	if len(raw) < 2 || raw[0] != '[' || raw[len(raw)-1] != ']' || !utf8.Valid(raw) {
		return nil, false
	}
	body := trimJSONSpace(raw[1 : len(raw)-1])
	if len(body) == 0 {
		return []string{}, true
	}
	text := string(body)
	list = make([]string, 0, strings.Count(text, ",")+1)
	for len(text) > 0 {
		if text[0] != '"' {
			return nil, false
		}
		end := 1
		for end < len(text) && text[end] != '"' {
			if c := text[end]; c == '\\' || c < 0x20 {
				return nil, false
			}
			end++
		}
		if end == len(text) {
			return nil, false
		}
		list = append(list, text[1:end])
		text = strings.TrimLeft(text[end+1:], " \t\n\r")
		if len(text) > 0 {
			if text[0] != ',' {
				return nil, false
			}
			if text = strings.TrimLeft(text[1:], " \t\n\r"); len(text) == 0 {
				return nil, false // a trailing comma
			}
		}
	}
	return list, true
}

// trimJSONSpace trims the whitespace JSON allows around values (space,
// tab, line feed, carriage return), which bytes.TrimSpace's Unicode
// spaces exceed.
func trimJSONSpace(b []byte) []byte {
	return bytes.Trim(b, " \t\n\r")
}

// groupRefs reads a user's groups from their ids and display names, two
// JSON lists of strings in the same order.
func groupRefs(ids, names []byte) ([]licensing.GroupRef, error) {
	var lists [2][]string
	for i, raw := range [][]byte{ids, names} {
		var ok bool
		if lists[i], ok = stringList(raw); !ok {
			if err := json.Unmarshal(raw, &lists[i]); err != nil {
				return nil, err
			}
		}
	}
	if len(lists[0]) != len(lists[1]) {
		return nil, fmt.Errorf("%d group ids and %d names", len(lists[0]), len(lists[1]))
	}
	refs := make([]licensing.GroupRef, len(lists[0]))
	for i, id := range lists[0] {
		refs[i] = licensing.GroupRef{ID: id, Display: lists[1][i]}
	}
	return refs, nil
}
