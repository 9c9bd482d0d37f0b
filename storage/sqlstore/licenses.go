package sqlstore

import (
	"cmp"
	"database/sql"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/scimd/scimd/licensing"
)

// How the licenses in force stay right.
//
// user_licenses holds, per user and product, what licensing.Grants
// entitle the user to after seats are counted (see licensing/inforce.go).
// Every write that can change it (a user's activity or direct assignments,
// a membership, a group's licenses, a plan) runs relicense or promote in
// its own transaction. Those writes first take the account's licensing
// lock (lockLicensing: the account row, FOR NO KEY UPDATE on PostgreSQL;
// SQLite runs one writer at a time anyway), so that they serialize per
// account: a membership added while a parent group gains a license, or a
// seat freed while another write queues a user, cannot interleave and
// miss each other. Two user writes need no licensing lock, because
// nothing another write reads can change through them, and provisioning
// would otherwise run one user at a time per account: CreateUser (a new
// user belongs to no group and takes seats only directly, with the plan's
// conditional UPDATE; a seat taken promotes nobody) and a ReplaceUser that
// changes neither the user's activity nor their direct assignments (it
// changes no license at all). The lock comes before every other row, then the users
// whose licenses change (so that no session can start for them while
// the write decides which sessions end), sessions, seats, and the plans
// (FOR UPDATE, in product order) before the queue is read and the pending
// users promoted. Seat claims take no licensing lock: they read the
// license in force after share-locking the user.

// lockLicensing takes the account's licensing lock (see above).
func (s *Store) lockLicensing(tx *gorm.DB, accountID string) error {
	if s.dialect != DialectPostgres {
		return nil
	}
	_, err := exec(tx, "licensing lock", `SELECT id FROM accounts WHERE id = ? FOR NO KEY UPDATE`, accountID)
	return err
}

// licenseKey names one row of user_licenses.
type licenseKey struct {
	user, product string
	license       licensing.LicenseType
}

// licenseRow is one row of user_licenses.
type licenseRow struct {
	status  licensing.LicenseStatus
	seq     int64 // queue place when pending
	sources string
}

// relicense recomputes, inside a write transaction holding the licensing
// lock, the licenses of the account's users ids from their activity,
// direct assignments and groups (users in gone count as having none: they
// are being deleted). The sessions of products whose license in force
// changes or goes end as deprovisioned; named seats are taken (a direct
// named license that finds none fails with a
// *licensing.NamedSeatsExhaustedError) and freed; inherited named licenses
// without a seat queue; and the first queued users of the products whose
// seats freed are promoted. Memberships are read in batches with one
// recursive query each (set semantics: cycles end), never per user.
func (s *Store) relicense(tx *gorm.DB, accountID string, ids []string, gone map[string]bool, at time.Time) error {
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	changes := planChanges{}
	touched := map[string]bool{}
	rows := map[licenseKey]licenseRow{}
	var rewrite []string
	var waiting []licenseKey // inherited named licenses without a seat yet, by user id
	ends := map[string][]string{}
	// Read and decide, without locking: what is read is written only by
	// writes holding the licensing lock.
	for chunk := range slices.Chunk(ids, batch) {
		grants, err := s.readGrants(tx, accountID, chunk)
		if err != nil {
			return err
		}
		old, err := readLicenseRows(tx, accountID, chunk)
		if err != nil {
			return err
		}
		for _, id := range chunk {
			g := grants[id]
			if gone[id] {
				g = licensing.Grants{}
			}
			want, named := plannedRows(id, g.Holdings(), old)
			for _, k := range slices.SortedFunc(maps.Keys(want), compareLicenseKeys) {
				r := want[k]
				if r.status == licensing.LicensePending && r.seq == 0 {
					waiting = append(waiting, k)
				}
				touched[k.product] = touched[k.product] || r.status == licensing.LicensePending
				rows[k] = r
			}
			for p, d := range named {
				changes.add(accountID, p).named += d
				// A seat freed may let the line in; a seat taken cannot.
				touched[p] = touched[p] || d < 0
			}
			before, after := inForce(id, old), inForce(id, want)
			for p, t := range before {
				if after[p] != t {
					ends[id] = append(ends[id], p)
				}
			}
			if !sameRows(id, old, want) {
				rewrite = append(rewrite, id)
			}
		}
	}
	if err := s.endLicenseSessions(tx, accountID, ends, gone, changes, at); err != nil {
		return err
	}
	if err := s.seatOrQueue(tx, accountID, waiting, rows, changes); err != nil {
		return err
	}
	for chunk := range slices.Chunk(rewrite, batch) {
		if err := writeLicenseRows(tx, accountID, chunk, rows); err != nil {
			return err
		}
	}
	if err := s.applyPlans(tx, changes, at); err != nil {
		return err
	}
	for _, p := range slices.Sorted(maps.Keys(touched)) {
		if err := s.promote(tx, accountID, p); err != nil {
			return err
		}
	}
	return nil
}

// seatOrQueue settles the inherited named licenses that wait for a seat
// (rows holds them as pending, keys in user id order): while a product
// has no one in line and has free seats (after the write's own named
// changes, seats it frees included), they take them, in order, as active
// licenses counted in changes; the others join the back of the line. The plans are locked
// (FOR UPDATE, in product order) before their seats are read.
func (s *Store) seatOrQueue(tx *gorm.DB, accountID string, waiting []licenseKey, rows map[licenseKey]licenseRow, changes planChanges) error {
	byProduct := map[string][]licenseKey{}
	for _, k := range waiting {
		byProduct[k.product] = append(byProduct[k.product], k)
	}
	for _, p := range slices.Sorted(maps.Keys(byProduct)) {
		free, last := 0, int64(0)
		err := query(tx, "relicense: plan",
			`SELECT named_seats - named_used FROM plans WHERE account_id = ? AND product_id = ?`+s.lock("FOR UPDATE"),
			[]any{accountID, p}, func(rows *sql.Rows) error { return rows.Scan(&free) })
		if err != nil {
			return err
		}
		if err := query(tx, "relicense: queue end",
			`SELECT COALESCE(MAX(queued_seq), 0) FROM user_licenses WHERE account_id = ? AND product_id = ? AND status = 'pending'`,
			[]any{accountID, p}, func(rows *sql.Rows) error { return rows.Scan(&last) }); err != nil {
			return err
		}
		// With others waiting ahead, every seat free after this write,
		// those it frees included, is theirs: promote serves them first.
		ahead := last > 0
		c := changes.add(accountID, p)
		for _, k := range byProduct[p] {
			r := rows[k]
			if !ahead && free-c.named > 0 {
				c.named++
				r.status = licensing.LicenseActive
				rows[k] = r
				delete(rows, licenseKey{k.user, k.product, licensing.LicenseConcurrent}) // meanwhile no more
				continue
			}
			last++
			r.seq = last
			rows[k] = r
		}
	}
	return nil
}

// plannedRows returns the rows user id should have for the entitlements,
// before seats are counted, and the named seats that takes (+1, direct)
// or frees (-1) per product. An inherited named license not in force
// already is pending: with its place in the queue if it was pending
// before, else with seq 0 (queued by the caller).
func plannedRows(id string, ents map[string]licensing.Holding, old map[licenseKey]licenseRow) (map[licenseKey]licenseRow, map[string]int) {
	want := map[licenseKey]licenseRow{}
	named := map[string]int{}
	before := inForce(id, old)
	for p, e := range ents {
		k := licenseKey{id, p, e.License}
		switch {
		case e.License == licensing.LicenseConcurrent:
			want[k] = licenseRow{status: licensing.LicenseActive, sources: sourcesText(e.Sources)}
		case before[p] == licensing.LicenseNamed || e.Direct:
			want[k] = licenseRow{status: licensing.LicenseActive, sources: sourcesText(e.Sources)}
			if before[p] != licensing.LicenseNamed {
				named[p]++
			}
		default:
			r := licenseRow{status: licensing.LicensePending, sources: sourcesText(e.Sources)}
			if o, ok := old[k]; ok && o.status == licensing.LicensePending {
				r.seq = o.seq
			}
			want[k] = r
			if len(e.Meanwhile) > 0 {
				want[licenseKey{id, p, licensing.LicenseConcurrent}] = licenseRow{
					status: licensing.LicenseActive, sources: sourcesText(e.Meanwhile)}
			}
		}
	}
	for p, t := range before {
		if t == licensing.LicenseNamed && inForce(id, want)[p] != licensing.LicenseNamed {
			named[p]--
		}
	}
	return want, named
}

// inForce returns the licenses in force of user id among rows, by product.
func inForce(id string, rows map[licenseKey]licenseRow) map[string]licensing.LicenseType {
	out := map[string]licensing.LicenseType{}
	for k, r := range rows {
		if k.user == id && r.status == licensing.LicenseActive {
			out[k.product] = k.license
		}
	}
	return out
}

// sameRows tells whether user id's rows are the same in a and b.
func sameRows(id string, a, b map[licenseKey]licenseRow) bool {
	n := 0
	for k, r := range a {
		if k.user != id {
			continue
		}
		n++
		if o, ok := b[k]; !ok || o != r {
			return false
		}
	}
	for k := range b {
		if k.user == id {
			n--
		}
	}
	return n == 0
}

// readGrants reads the activity, direct assignments and inherited licenses
// (through every group the users belong to, transitively) of the users.
func (s *Store) readGrants(tx *gorm.DB, accountID string, ids []string) (map[string]licensing.Grants, error) {
	grants := map[string]licensing.Grants{}
	err := query(tx, "relicense: direct",
		`SELECT u.id, u.active, a.product_id, a.license FROM users AS u
		 LEFT JOIN assignments AS a ON a.account_id = u.account_id AND a.user_id = u.id
		 WHERE u.account_id = ? AND u.id IN ?`, []any{accountID, ids},
		func(rows *sql.Rows) error {
			var id string
			var active bool
			var product, license sql.NullString
			if err := rows.Scan(&id, &active, &product, &license); err != nil {
				return err
			}
			g := grants[id]
			g.Active = active
			if product.Valid {
				if g.Direct == nil {
					g.Direct = licensing.Assignments{}
				}
				g.Direct[product.String] = licensing.LicenseType(license.String)
			}
			grants[id] = g
			return nil
		})
	if err != nil {
		return nil, err
	}
	err = query(tx, "relicense: inherited",
		`WITH RECURSIVE anc (user_id, group_id) AS (
		   SELECT member_id, group_id FROM group_members WHERE account_id = ? AND member_type = 'User' AND member_id IN ?
		   UNION
		   SELECT a.user_id, m.group_id FROM anc AS a
		   JOIN group_members AS m ON m.account_id = ? AND m.member_type = 'Group' AND m.member_id = a.group_id
		 )
		 SELECT a.user_id, g.group_id, g.product_id, g.license FROM anc AS a
		 JOIN group_assignments AS g ON g.account_id = ? AND g.group_id = a.group_id`,
		[]any{accountID, ids, accountID, accountID},
		func(rows *sql.Rows) error {
			var id, group, product, license string
			if err := rows.Scan(&id, &group, &product, &license); err != nil {
				return err
			}
			g := grants[id]
			if g.Groups == nil {
				g.Groups = map[string]map[string]licensing.LicenseType{}
			}
			if g.Groups[product] == nil {
				g.Groups[product] = map[string]licensing.LicenseType{}
			}
			g.Groups[product][group] = licensing.LicenseType(license)
			grants[id] = g
			return nil
		})
	return grants, err
}

// readLicenseRows reads the stored licenses of the users, in a write
// transaction.
func readLicenseRows(tx *gorm.DB, accountID string, ids []string) (map[licenseKey]licenseRow, error) {
	out := map[licenseKey]licenseRow{}
	err := query(tx, "relicense: stored",
		`SELECT user_id, product_id, license, status, COALESCE(queued_seq, 0), sources FROM user_licenses
		 WHERE account_id = ? AND user_id IN ?`, []any{accountID, ids},
		func(rows *sql.Rows) error {
			var k licenseKey
			var r licenseRow
			if err := rows.Scan(&k.user, &k.product, &k.license, &r.status, &r.seq, &r.sources); err != nil {
				return err
			}
			out[k] = r
			return nil
		})
	return out, err
}

// endLicenseSessions ends, as deprovisioned, the open sessions of the
// products each user lost (or whose license in force changed), and every
// open session of the users in gone, releasing their seats into changes.
// Those users are locked first (on PostgreSQL), then their open sessions
// read: only the users with open sessions cost a statement each.
func (s *Store) endLicenseSessions(tx *gorm.DB, accountID string, ends map[string][]string, gone map[string]bool,
	changes planChanges, at time.Time) error {
	users := slices.Collect(maps.Keys(ends))
	for id := range gone {
		if _, ok := ends[id]; !ok {
			users = append(users, id)
		}
	}
	if len(users) == 0 {
		return nil
	}
	slices.Sort(users)
	if s.dialect == DialectPostgres {
		// No session may start for them (StartSession share-locks the
		// user) between this read of their open sessions and the commit.
		for chunk := range slices.Chunk(users, batch) {
			if _, err := exec(tx, "relicense: lock users",
				`SELECT id FROM users WHERE account_id = ? AND id IN ? ORDER BY id FOR NO KEY UPDATE`, accountID, chunk); err != nil {
				return err
			}
		}
	}
	open := map[string][]string{}
	err := query(tx, "relicense: open sessions",
		`SELECT DISTINCT user_id, product_id FROM sessions WHERE account_id = ? AND user_id IN ? AND state <> 'ended'`,
		[]any{accountID, users},
		func(rows *sql.Rows) error {
			var user, product string
			if err := rows.Scan(&user, &product); err != nil {
				return err
			}
			if gone[user] || slices.Contains(ends[user], product) {
				open[user] = append(open[user], product)
			}
			return nil
		})
	if err != nil {
		return err
	}
	for _, id := range slices.Sorted(maps.Keys(open)) {
		products := slices.Sorted(slices.Values(open[id]))
		ended, err := s.endOpenSessions(tx, "end deprovisioned sessions", accountID, id, products,
			licensing.EndedByDeprovision, "", at)
		if err != nil {
			return err
		}
		if err := s.releaseSeats(tx, ended, changes, licensing.EndedByDeprovision, "", at); err != nil {
			return err
		}
	}
	return nil
}

// writeLicenseRows replaces the stored licenses of the users with theirs
// among rows, in multi-row statements.
func writeLicenseRows(tx *gorm.DB, accountID string, users []string, rows map[licenseKey]licenseRow) error {
	if len(users) == 0 {
		return nil
	}
	if _, err := exec(tx, "relicense: clear",
		`DELETE FROM user_licenses WHERE account_id = ? AND user_id IN ?`, accountID, users); err != nil {
		return err
	}
	rewrite := map[string]bool{}
	for _, id := range users {
		rewrite[id] = true
	}
	var keys []licenseKey
	for k := range rows {
		if rewrite[k.user] {
			keys = append(keys, k)
		}
	}
	const cols = 7
	for chunk := range slices.Chunk(keys, batch) {
		args := make([]any, 0, cols*len(chunk))
		for _, k := range chunk {
			r := rows[k]
			var seq any
			if r.status == licensing.LicensePending {
				seq = r.seq
			}
			args = append(args, accountID, k.user, k.product, string(k.license), string(r.status), seq, r.sources)
		}
		values := strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?), ", len(chunk)), ", ")
		if _, err := exec(tx, "relicense: write",
			`INSERT INTO user_licenses (account_id, user_id, product_id, license, status, queued_seq, sources) VALUES `+values,
			args...); err != nil {
			return err
		}
	}
	return nil
}

// compareLicenseKeys orders license keys by user, product and license.
func compareLicenseKeys(a, b licenseKey) int {
	return cmp.Or(strings.Compare(a.user, b.user), strings.Compare(a.product, b.product), strings.Compare(string(a.license), string(b.license)))
}

// promote gives the product's free named seats to the first users of its
// queue, inside a write transaction holding the licensing lock: their
// pending named license comes into force (replacing a concurrent one
// meanwhile, whose sessions go on: a promotion interrupts nobody) and the
// plan counts them. The plan row is locked (FOR UPDATE) before the queue
// is read.
func (s *Store) promote(tx *gorm.DB, accountID, productID string) error {
	free, found := 0, false
	err := query(tx, "promote: plan",
		`SELECT named_seats - named_used FROM plans WHERE account_id = ? AND product_id = ?`+s.lock("FOR UPDATE"),
		[]any{accountID, productID}, func(rows *sql.Rows) error {
			found = true
			return rows.Scan(&free)
		})
	if err != nil || !found || free <= 0 {
		return err
	}
	var first []string
	err = query(tx, "promote: queue",
		`SELECT user_id FROM user_licenses WHERE account_id = ? AND product_id = ? AND status = 'pending' ORDER BY queued_seq LIMIT ?`,
		[]any{accountID, productID, free}, func(rows *sql.Rows) error {
			var id string
			err := rows.Scan(&id)
			first = append(first, id)
			return err
		})
	if err != nil || len(first) == 0 {
		return err
	}
	for chunk := range slices.Chunk(first, batch) {
		if _, err := exec(tx, "promote: meanwhile",
			`DELETE FROM user_licenses WHERE account_id = ? AND product_id = ? AND license = 'concurrent' AND user_id IN ?`,
			accountID, productID, chunk); err != nil {
			return err
		}
		if _, err := exec(tx, "promote",
			`UPDATE user_licenses SET status = 'active', queued_seq = NULL
			 WHERE account_id = ? AND product_id = ? AND license = 'named' AND user_id IN ?`, accountID, productID, chunk); err != nil {
			return err
		}
	}
	_, err = exec(tx, "promote: count",
		`UPDATE plans SET named_used = named_used + ? WHERE account_id = ? AND product_id = ?`, len(first), accountID, productID)
	return err
}

// sourcesText is the stored form of a license's sources: a JSON array.
func sourcesText(sources []string) string {
	b, _ := json.Marshal(sources)
	return string(b)
}

// relicenseMembers recomputes, in a group write, the licenses of the users
// whose inherited licenses may have changed: every user under the group if
// its own licenses changed; and, if they changed or the group or a group
// above it gives licenses, the users among the members added or removed
// and the users under the groups among them (the members removed are no
// longer under the group, but lose what it gave, even in a write that also
// changes its licenses).
func (s *Store) relicenseMembers(tx *gorm.DB, accountID, groupID string, licensesChanged bool,
	changed []licensing.Member, at time.Time) error {
	var users []string
	if licensesChanged {
		var err error
		if users, err = s.usersUnder(tx, accountID, []string{groupID}); err != nil {
			return err
		}
	} else if len(changed) > 0 {
		licensed, err := s.licensedAbove(tx, accountID, groupID)
		if err != nil {
			return err
		}
		if !licensed {
			changed = nil
		}
	}
	var groups []string
	for _, m := range changed {
		users = append(users, m.ID) // ids of groups match no user: relicense skips them
		if m.Type != licensing.MemberUser {
			groups = append(groups, m.ID)
		}
	}
	under, err := s.usersUnder(tx, accountID, groups)
	if err != nil {
		return err
	}
	return s.relicense(tx, accountID, append(users, under...), nil, at)
}

// usersUnder returns the users who are members of the groups, directly or
// through nested groups (set semantics: cycles end).
func (s *Store) usersUnder(tx *gorm.DB, accountID string, groups []string) ([]string, error) {
	var users []string
	for chunk := range slices.Chunk(groups, batch) {
		err := query(tx, "users under groups",
			`WITH RECURSIVE d (id) AS (
			   SELECT id FROM "groups" WHERE account_id = ? AND id IN ?
			   UNION
			   SELECT m.member_id FROM d JOIN group_members AS m
			   ON m.account_id = ? AND m.group_id = d.id AND m.member_type = 'Group'
			 )
			 SELECT DISTINCT m.member_id FROM d JOIN group_members AS m
			 ON m.account_id = ? AND m.group_id = d.id AND m.member_type = 'User'`,
			[]any{accountID, chunk, accountID, accountID},
			func(rows *sql.Rows) error {
				var id string
				err := rows.Scan(&id)
				users = append(users, id)
				return err
			})
		if err != nil {
			return nil, err
		}
	}
	return users, nil
}

// licensedAbove tells whether the group, or a group it belongs to
// (transitively), gives any license.
func (s *Store) licensedAbove(tx *gorm.DB, accountID, groupID string) (bool, error) {
	found := false
	err := query(tx, "groups above",
		`WITH RECURSIVE a (id) AS (
		   SELECT CAST(? AS text)
		   UNION
		   SELECT m.group_id FROM a JOIN group_members AS m
		   ON m.account_id = ? AND m.member_id = a.id AND m.member_type = 'Group'
		 )
		 SELECT 1 FROM group_assignments AS g JOIN a ON g.group_id = a.id WHERE g.account_id = ? LIMIT 1`,
		[]any{groupID, accountID, accountID},
		func(rows *sql.Rows) error {
			found = true
			return nil
		})
	return found, err
}

// loadGroupAssignments fills the licenses the groups give, outside
// transactions.
func loadGroupAssignments(db *gorm.DB, accountID string, groups []licensing.Group) error {
	return fillAssignments(db, groupAssignments, accountID, groups, func(g *licensing.Group) *string { return &g.ID },
		func(g *licensing.Group) *licensing.Assignments { return &g.Assignments })
}
