package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/scimd/scimd/licensing"
)

const groupColumns = "r.id, r.display_name, r.external_id, r.doc, r.created, r.last_modified, r.version"

// batch bounds the number of ids in one IN list and of rows in one
// multi-row INSERT, well below the bind parameter limits of both dialects.
const batch = 500

// CreateGroup stores a new group with its members; g.Version must be 1
// (else ErrInvalid). Duplicate members collapse into one. It returns
// ErrConflict if the account has a group with the same displayName
// (case-insensitive) or id, and ErrInvalid if a member is not a user or
// group of the account (or is the group itself). The audit entries are
// stored with the group.
func (s *Store) CreateGroup(ctx context.Context, g licensing.Group, audit ...licensing.AuditEntry) error {
	if g.Version != 1 {
		return fmt.Errorf("sqlstore: create group: %w: version %d, want 1", licensing.ErrInvalid, g.Version)
	}
	doc, members, err := checkGroup(g)
	if err != nil {
		return fmt.Errorf("sqlstore: create group: %w", err)
	}
	assigned, err := checkAssignments(g.Assignments)
	if err != nil {
		return fmt.Errorf("sqlstore: create group: %w", err)
	}
	return s.tx(ctx, func(tx *gorm.DB) error {
		if err := s.lockLicensing(tx, g.AccountID); err != nil {
			return err
		}
		if _, err := exec(tx, "create group",
			`INSERT INTO "groups" (account_id, id, display_name, external_id, doc, created, last_modified, version)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			g.AccountID, g.ID, g.DisplayName, nullString(g.ExternalID), doc,
			s.timeArg(g.Created), s.timeArg(g.LastModified), g.Version); err != nil {
			return err
		}
		resolved, err := s.resolveMembers(tx, g.AccountID, members)
		if err != nil {
			return err
		}
		if err := insertMembers(tx, g.AccountID, g.ID, g.DisplayName, resolved); err != nil {
			return err
		}
		if err := s.recordAudit(tx, g.AccountID, audit); err != nil {
			return err
		}
		if len(assigned) == 0 {
			return nil
		}
		if err := writeAssignments(tx, groupAssignments, g.AccountID, g.ID, nil, assigned); err != nil {
			return err
		}
		users, err := s.usersUnder(tx, g.AccountID, []string{g.ID})
		if err != nil {
			return err
		}
		return s.relicense(tx, g.AccountID, users, nil, g.LastModified)
	})
}

// Group returns the account's group with its members (ordered by member
// id), or ErrNotFound.
func (s *Store) Group(ctx context.Context, accountID, id string) (licensing.Group, error) {
	db := s.conn(ctx)
	var found []licensing.Group
	err := query(db, "group",
		`SELECT `+groupColumns+` FROM "groups" AS r WHERE r.account_id = ? AND r.id = ?`, []any{accountID, id},
		func(rows *sql.Rows) error {
			g, err := scanGroup(accountID)(rows)
			found = append(found, g)
			return err
		})
	if err != nil {
		return licensing.Group{}, err
	}
	if len(found) == 0 {
		return licensing.Group{}, fmt.Errorf("sqlstore: group: %w", licensing.ErrNotFound)
	}
	if err := s.loadMembers(db, accountID, found); err != nil {
		return licensing.Group{}, err
	}
	if err := loadGroupAssignments(db, accountID, found); err != nil {
		return licensing.Group{}, err
	}
	return found[0], nil
}

// ReplaceGroup stores g, members included, over the group with g.ID if its
// version is still expectVersion; g.Version must be expectVersion+1 (else
// ErrInvalid). Created is kept. It returns ErrNotFound if there is no such
// group, ErrStale if the version moved on, ErrConflict if the new
// displayName is taken and ErrInvalid if a member is not a user or group
// of the account (or is the group itself). The audit entries are stored
// with the change.
func (s *Store) ReplaceGroup(ctx context.Context, g licensing.Group, expectVersion int64, audit ...licensing.AuditEntry) error {
	if g.Version != expectVersion+1 {
		return fmt.Errorf("sqlstore: replace group: %w: version %d, want %d", licensing.ErrInvalid, g.Version, expectVersion+1)
	}
	doc, members, err := checkGroup(g)
	if err != nil {
		return fmt.Errorf("sqlstore: replace group: %w", err)
	}
	assigned, err := checkAssignments(g.Assignments)
	if err != nil {
		return fmt.Errorf("sqlstore: replace group: %w", err)
	}
	return s.tx(ctx, func(tx *gorm.DB) error {
		if err := s.lockLicensing(tx, g.AccountID); err != nil {
			return err
		}
		n, err := exec(tx, "replace group",
			`UPDATE "groups" SET display_name = ?, external_id = ?, doc = ?, last_modified = ?, version = ?
			 WHERE account_id = ? AND id = ? AND version = ?`,
			g.DisplayName, nullString(g.ExternalID), doc, s.timeArg(g.LastModified), g.Version,
			g.AccountID, g.ID, expectVersion)
		if err != nil {
			return err
		}
		if n == 0 {
			return staleOrMissing(tx, "replace group", `"groups"`, g.AccountID, g.ID)
		}
		// Only the difference is written, so that changing one member
		// of a large group stays cheap; a rename rewrites the name the
		// memberships carry (see migration 0022).
		current, renamed := map[string]bool{}, false
		err = query(tx, "replace group",
			`SELECT member_id, group_name FROM group_members WHERE account_id = ? AND group_id = ?`, []any{g.AccountID, g.ID},
			func(rows *sql.Rows) error {
				var id string
				var name sql.RawBytes
				err := rows.Scan(&id, &name)
				current[id] = true
				renamed = renamed || string(name) != g.DisplayName
				return err
			})
		if err != nil {
			return err
		}
		if renamed {
			if _, err := exec(tx, "replace group",
				`UPDATE group_members SET group_name = ? WHERE account_id = ? AND group_id = ?`,
				g.DisplayName, g.AccountID, g.ID); err != nil {
				return err
			}
		}
		var added []licensing.Member
		for _, m := range members {
			if current[m.ID] {
				delete(current, m.ID)
			} else {
				added = append(added, m)
			}
		}
		removed := make([]string, 0, len(current))
		for id := range current {
			removed = append(removed, id)
		}
		for ids := range slices.Chunk(removed, batch) {
			if _, err := exec(tx, "replace group",
				`DELETE FROM group_members WHERE account_id = ? AND group_id = ? AND member_id IN ?`,
				g.AccountID, g.ID, ids); err != nil {
				return err
			}
		}
		resolved, err := s.resolveMembers(tx, g.AccountID, added)
		if err != nil {
			return err
		}
		if err := insertMembers(tx, g.AccountID, g.ID, g.DisplayName, resolved); err != nil {
			return err
		}
		if err := s.recordAudit(tx, g.AccountID, audit); err != nil {
			return err
		}
		old, err := readAssignments(tx, groupAssignments, g.AccountID, []string{g.ID}, true)
		if err != nil {
			return err
		}
		if err := writeAssignments(tx, groupAssignments, g.AccountID, g.ID, old[g.ID], assigned); err != nil {
			return err
		}
		changed := make([]licensing.Member, 0, len(resolved)+len(removed))
		changed = append(changed, resolved...)
		for _, id := range removed {
			changed = append(changed, licensing.Member{ID: id})
		}
		return s.relicenseMembers(tx, g.AccountID, g.ID, !maps.Equal(old[g.ID], assigned), changed, g.LastModified)
	})
}

// DeleteGroup deletes the account's group and its memberships, in other
// groups too (bumping their versions and last modification times). It
// returns ErrNotFound if there is no such group. The audit entries are
// stored with the deletion.
func (s *Store) DeleteGroup(ctx context.Context, accountID, id string, at time.Time, audit ...licensing.AuditEntry) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		if err := s.lockLicensing(tx, accountID); err != nil {
			return err
		}
		// The members who may lose licenses, read before they are gone.
		var users []string
		licensed, err := s.licensedAbove(tx, accountID, id)
		if err != nil {
			return err
		}
		if licensed {
			if users, err = s.usersUnder(tx, accountID, []string{id}); err != nil {
				return err
			}
		}
		// The group's own member rows go by ON DELETE CASCADE.
		n, err := exec(tx, "delete group", `DELETE FROM "groups" WHERE account_id = ? AND id = ?`, accountID, id)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("sqlstore: delete group: %w", licensing.ErrNotFound)
		}
		if err := s.recordAudit(tx, accountID, audit); err != nil {
			return err
		}
		if err := s.dropMemberships(tx, accountID, id, licensing.MemberGroup, at); err != nil {
			return err
		}
		return s.relicense(tx, accountID, users, nil, at)
	})
}

// Groups lists the account's groups selected by q, with the members of
// the whole page read in one query unless q.WithoutMembers. It returns
// ErrInvalid for a query it cannot translate, as Users does.
func (s *Store) Groups(ctx context.Context, accountID string, q licensing.Query) (licensing.Page[licensing.Group], error) {
	page, err := list(ctx, s, groupsResource, groupColumns, accountID, q, scanGroup(accountID))
	if err != nil {
		return page, err
	}
	if err := loadGroupAssignments(s.conn(ctx), accountID, page.Items); err != nil {
		return licensing.Page[licensing.Group]{}, err
	}
	if q.WithoutMembers {
		if err := loadMemberCounts(s.conn(ctx), accountID, page.Items); err != nil {
			return licensing.Page[licensing.Group]{}, err
		}
		return page, nil
	}
	if err := s.loadMembers(s.conn(ctx), accountID, page.Items); err != nil {
		return licensing.Page[licensing.Group]{}, err
	}
	return page, nil
}

// scanGroup returns a reader of groupColumns rows (and extra destinations).
func scanGroup(accountID string) func(rows *sql.Rows, extra ...any) (licensing.Group, error) {
	return func(rows *sql.Rows, extra ...any) (licensing.Group, error) {
		g := licensing.Group{AccountID: accountID}
		var ext sql.NullString
		var doc []byte
		var created, modified dbTime
		dest := append([]any{&g.ID, &g.DisplayName, &ext, &doc, &created, &modified, &g.Version}, extra...)
		if err := rows.Scan(dest...); err != nil {
			return g, err
		}
		g.ExternalID = ext.String
		g.Doc = json.RawMessage(doc)
		g.Created, g.LastModified = created.Time, modified.Time
		return g, nil
	}
}

// loadMemberCounts fills the member counts of groups: one count per batch
// of groups, over the primary key of group_members.
func loadMemberCounts(db *gorm.DB, accountID string, groups []licensing.Group) error {
	at := make(map[string]int, len(groups))
	ids := make([]string, len(groups))
	for i, g := range groups {
		at[g.ID] = i
		ids[i] = g.ID
	}
	for chunk := range slices.Chunk(ids, batch) {
		err := query(db, "member counts",
			`SELECT group_id, COUNT(*) FROM group_members WHERE account_id = ? AND group_id IN ? GROUP BY group_id`,
			[]any{accountID, chunk},
			func(rows *sql.Rows) error {
				var id string
				var n int
				if err := rows.Scan(&id, &n); err != nil {
					return err
				}
				groups[at[id]].MemberCount = n
				return nil
			})
		if err != nil {
			return err
		}
	}
	return nil
}

// loadMembers fills the members of groups, ordered by member id (byte
// order, whatever the database's collation), with their display names:
// one query per batch of groups.
func (s *Store) loadMembers(db *gorm.DB, accountID string, groups []licensing.Group) error {
	order := "m.member_id"
	if s.dialect == DialectPostgres {
		order += ` COLLATE "C"`
	}
	at := make(map[string]int, len(groups))
	ids := make([]string, len(groups))
	for i, g := range groups {
		at[g.ID] = i
		ids[i] = g.ID
	}
	for chunk := range slices.Chunk(ids, batch) {
		err := query(db, "group members",
			`SELECT m.group_id, m.member_id, m.member_type, COALESCE(u.display_name, u.user_name, g.display_name, '')
			 FROM group_members AS m
			 LEFT JOIN users AS u ON m.member_type = 'User' AND u.account_id = m.account_id AND u.id = m.member_id
			 LEFT JOIN "groups" AS g ON m.member_type = 'Group' AND g.account_id = m.account_id AND g.id = m.member_id
			 WHERE m.account_id = ? AND m.group_id IN ?
			 ORDER BY m.group_id, `+order,
			[]any{accountID, chunk},
			func(rows *sql.Rows) error {
				var groupID, typ string
				var m licensing.Member
				if err := rows.Scan(&groupID, &m.ID, &typ, &m.Display); err != nil {
					return err
				}
				m.Type = licensing.MemberType(typ)
				g := &groups[at[groupID]]
				g.Members = append(g.Members, m)
				return nil
			})
		if err != nil {
			return err
		}
	}
	return nil
}

// resolveMembers finds, inside the transaction, whether each member is a
// user or a group of the account, and returns ErrInvalid for one that is
// neither. A member that is both (ids are chosen by the caller) is what its
// Type says, else the user. On PostgreSQL the members found are locked
// with KEY SHARE until commit, so that they cannot be deleted before the
// memberships are written (updates to them are not blocked).
func (s *Store) resolveMembers(tx *gorm.DB, accountID string, members []licensing.Member) ([]licensing.Member, error) {
	if len(members) == 0 {
		return nil, nil
	}
	lock := ""
	if s.dialect == DialectPostgres {
		lock = " FOR KEY SHARE"
	}
	ids := make([]string, len(members))
	for i, m := range members {
		ids[i] = m.ID
	}
	users, groups := map[string]bool{}, map[string]bool{}
	for chunk := range slices.Chunk(ids, batch) {
		for _, r := range []struct {
			table string
			found map[string]bool
		}{{"users", users}, {`"groups"`, groups}} {
			err := query(tx, "resolve members",
				`SELECT id FROM `+r.table+` WHERE account_id = ? AND id IN ?`+lock, []any{accountID, chunk},
				func(rows *sql.Rows) error {
					var id string
					err := rows.Scan(&id)
					r.found[id] = true
					return err
				})
			if err != nil {
				return nil, err
			}
		}
	}
	resolved := make([]licensing.Member, len(members))
	for i, m := range members {
		switch {
		case groups[m.ID] && (m.Type == licensing.MemberGroup || !users[m.ID]):
			m.Type = licensing.MemberGroup
		case users[m.ID]:
			m.Type = licensing.MemberUser
		default:
			return nil, fmt.Errorf("sqlstore: %w: member %q is not a user or group of the account", licensing.ErrInvalid, m.ID)
		}
		m.Display = ""
		resolved[i] = m
	}
	return resolved, nil
}

// insertMembers writes memberships of the group named groupName in
// multi-row INSERTs.
func insertMembers(tx *gorm.DB, accountID, groupID, groupName string, members []licensing.Member) error {
	for len(members) > 0 {
		n := min(len(members), batch/5)
		args := make([]any, 0, 5*n)
		for _, m := range members[:n] {
			args = append(args, accountID, groupID, m.ID, string(m.Type), groupName)
		}
		values := strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?), ", n), ", ")
		if _, err := exec(tx, "insert members",
			`INSERT INTO group_members (account_id, group_id, member_id, member_type, group_name) VALUES `+values, args...); err != nil {
			return err
		}
		members = members[n:]
	}
	return nil
}

// checkGroup checks what the database needs of a group and returns its
// document as the text to store and its members without duplicates.
func checkGroup(g licensing.Group) (string, []licensing.Member, error) {
	if g.ID == "" || g.DisplayName == "" {
		return "", nil, fmt.Errorf("%w: a group needs an id and a displayName", licensing.ErrInvalid)
	}
	if err := checkText(g.AccountID, g.ID, g.DisplayName, g.ExternalID); err != nil {
		return "", nil, err
	}
	doc, err := docText(g.Doc)
	if err != nil {
		return "", nil, err
	}
	seen := make(map[string]bool, len(g.Members))
	members := make([]licensing.Member, 0, len(g.Members))
	for _, m := range g.Members {
		switch {
		case m.ID == "":
			return "", nil, fmt.Errorf("%w: a member needs an id", licensing.ErrInvalid)
		case m.ID == g.ID:
			return "", nil, fmt.Errorf("%w: group %q cannot be a member of itself", licensing.ErrInvalid, g.ID)
		case seen[m.ID]:
			continue
		}
		if err := checkText(m.ID); err != nil {
			return "", nil, err
		}
		seen[m.ID] = true
		members = append(members, m)
	}
	return doc, members, nil
}
