package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/storage/conformance"
)

// openSQLite opens and migrates a new SQLite database in t.TempDir().
func openSQLite(t testing.TB) *Store {
	t.Helper()
	s, err := Open("sqlite:"+filepath.Join(t.TempDir(), "scimd.db"), nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

// postgresURL returns the PostgreSQL URL of SCIMD_TEST_POSTGRES. Without
// one the test is skipped, except in CI (CI=true) where it fails: there
// the PostgreSQL tests must run.
func postgresURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("SCIMD_TEST_POSTGRES")
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but SCIMD_TEST_POSTGRES is not set: PostgreSQL tests must run in CI")
		}
		t.Skip("SCIMD_TEST_POSTGRES is not set")
	}
	return u
}

var migratePostgres sync.Once

// openPostgres opens the PostgreSQL database of SCIMD_TEST_POSTGRES,
// migrated. An unreachable database fails the test.
func openPostgres(t testing.TB) *Store {
	t.Helper()
	s, err := Open(postgresURL(t), nil)
	if err != nil {
		t.Fatalf("PostgreSQL of SCIMD_TEST_POSTGRES is unreachable: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	var migrateErr error
	migratePostgres.Do(func() { _, migrateErr = s.Migrate(context.Background()) })
	if migrateErr != nil {
		t.Fatalf("Migrate: %v", migrateErr)
	}
	return s
}

// dialects runs f against each available dialect.
func dialects(t *testing.T, f func(t *testing.T, s *Store)) {
	t.Run("sqlite", func(t *testing.T) { f(t, openSQLite(t)) })
	t.Run("postgres", func(t *testing.T) { f(t, openPostgres(t)) })
}

// inspected lets the conformance suite compare the seat counters with
// the rows of seats.
type inspected struct{ *Store }

var _ conformance.SeatInspector = inspected{}

// SeatRows returns the open sessions each occupied seat of the account's
// product counts, by user id.
func (s inspected) SeatRows(ctx context.Context, accountID, productID string) (map[string]int, error) {
	rows := map[string]int{}
	err := query(s.conn(ctx), "seat rows",
		`SELECT user_id, open_sessions FROM seats WHERE account_id = ? AND product_id = ?`, []any{accountID, productID},
		func(r *sql.Rows) error {
			var user string
			var n int
			err := r.Scan(&user, &n)
			rows[user] = n
			return err
		})
	return rows, err
}

func TestSQLiteConformance(t *testing.T) {
	conformance.Run(t, func(t *testing.T) licensing.Store { return inspected{openSQLite(t)} })
}

// TestPostgresConformance runs the conformance suite on PostgreSQL and
// then checks every statement it ran for the account it touches (the
// sharding plan of docs/scaling.md: see accountScope).
func TestPostgresConformance(t *testing.T) {
	loadAccountTables(t, openPostgres(t))
	statements := newStatementLog()
	t.Cleanup(func() {
		scoped, fanOut := statements.check(t)
		if scoped < 100 {
			t.Errorf("only %d statements on accounts' tables were seen", scoped)
		}
		t.Logf("%d statements on accounts' tables checked; over all accounts by design: %s", scoped, strings.Join(fanOut, "; "))
	})
	conformance.Run(t, func(t *testing.T) licensing.Store {
		s := openPostgres(t)
		statements.watch(t, s)
		return inspected{s}
	})
}

func TestMigrateAppliesOnce(t *testing.T) {
	ctx := context.Background()
	all, err := migrations(DialectSQLite)
	if err != nil || len(all) == 0 {
		t.Fatalf("migrations: %v, %d files", err, len(all))
	}
	s, err := Open("sqlite:"+filepath.Join(t.TempDir(), "m.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n, err := s.Migrate(ctx)
	if err != nil || n != len(all) {
		t.Fatalf("first Migrate applied %d (%v), want %d", n, err, len(all))
	}
	n, err = s.Migrate(ctx)
	if err != nil || n != 0 {
		t.Fatalf("second Migrate applied %d (%v), want 0", n, err)
	}
	var versions int
	if err := s.db.Raw(`SELECT COUNT(*) FROM schema_migrations`).Scan(&versions).Error; err != nil || versions != len(all) {
		t.Fatalf("schema_migrations holds %d rows (%v), want %d", versions, err, len(all))
	}
}

// TestPostgresConcurrentMigrate migrates a fresh schema from several
// stores at once: the advisory lock must let each migration apply once.
func TestPostgresConcurrentMigrate(t *testing.T) {
	ctx := context.Background()
	u := freshPostgresURL(t)

	all, _ := migrations(DialectPostgres)
	const n = 4
	applied := make([]int, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		s, err := Open(u.String(), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		wg.Go(func() { applied[i], errs[i] = s.Migrate(ctx) })
	}
	wg.Wait()
	total := 0
	for i := range n {
		if errs[i] != nil {
			t.Errorf("Migrate %d: %v", i, errs[i])
		}
		total += applied[i]
	}
	if total != len(all) {
		t.Errorf("concurrent migrations applied %d in all, want %d", total, len(all))
	}
	s, _ := Open(u.String(), nil)
	defer s.Close()
	if again, err := s.Migrate(ctx); err != nil || again != 0 {
		t.Errorf("Migrate after the race applied %d (%v), want 0", again, err)
	}
}

// freshPostgresURL returns the URL of a new, empty schema of the
// PostgreSQL of SCIMD_TEST_POSTGRES, dropped when the test ends: the
// database of a test that migrates, or that needs tables nobody else
// writes.
func freshPostgresURL(t testing.TB) *url.URL {
	t.Helper()
	base := openPostgres(t)
	schema := "scimd_migrate_" + randomHex(6)
	if err := base.db.Exec(`CREATE SCHEMA ` + schema).Error; err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { base.db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`) })
	u, err := url.Parse(postgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// TestIndexPlans checks that the lookups identity providers make are
// served by indexes: on PostgreSQL with an account of 20000 users and 5000
// groups, each user in one group, analysed.
func TestIndexPlans(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		acc := licensing.Account{ID: "plan-" + randomHex(8), Name: "plan-" + randomHex(8), CreatedAt: time.Now()}
		if err := s.CreateAccount(ctx, acc); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.db.Exec(`DELETE FROM accounts WHERE id = ?`, acc.ID) })
		if s.Dialect() == DialectPostgres {
			populate(t, s, acc.ID)
		}

		str := func(caseExact bool, path ...string) licensing.Attr {
			return licensing.Attr{Path: path, CaseExact: caseExact}
		}
		eq := func(a licensing.Attr, v string) licensing.Query {
			return licensing.Query{Filter: licensing.Compare{Attr: a, Op: licensing.OpEq, Value: v}, Limit: 10}
		}
		cases := []struct {
			name  string
			res   *resource
			q     licensing.Query
			index string
			// pgOnly skips the case on SQLite, whose planner, without
			// statistics, runs EXISTS as a probe per user.
			pgOnly bool
		}{
			{"userName eq", usersResource, eq(str(false, "userName"), "USER1234@example.com"), "users_account_user_name_key", false},
			{"externalId eq", usersResource, eq(str(true, "externalId"), "ext-1234"), "users_account_external_id_idx", false},
			{"id eq", usersResource, eq(str(true, "id"), "user-1234"), "users_account_id_key", false},
			{"group displayName eq", groupsResource, eq(str(false, "displayName"), "group 77"), "groups_account_display_name_key", false},
			{"group externalId eq", groupsResource, eq(str(true, "externalId"), "gext-77"), "groups_account_external_id_idx", false},
			{"groups.value eq", usersResource, licensing.Query{Limit: 10, Filter: licensing.Any{Attr: str(false, "groups"),
				Cond: licensing.Compare{Attr: str(true, "value"), Op: licensing.OpEq, Value: "group-77"}}}, "group_members_pkey", true},
		}
		for _, c := range cases {
			if c.pgOnly && s.Dialect() != DialectPostgres {
				continue
			}
			cols := userColumns
			if c.res == groupsResource {
				cols = groupColumns
			}
			p, err := s.planList(c.res, cols, acc.ID, c.q)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			for _, stmt := range []struct {
				sql  string
				args []any
			}{{p.page, p.pageArgs}, {p.count, p.countArgs}} {
				plan := explain(t, s, stmt.sql, stmt.args)
				t.Logf("%s: %s\n%s", c.name, stmt.sql, plan)
				if !strings.Contains(plan, c.index) || fullScan(plan) {
					t.Errorf("%s: plan of %s\ndoes not use %s:\n%s", c.name, stmt.sql, c.index, plan)
				}
			}
		}

		// A cursor continues by seq through an index, not a scan.
		p, err := s.planList(usersResource, userColumns, acc.ID,
			licensing.Query{Limit: 100, After: cursor{Order: orderFingerprint(usersResource, licensing.Query{}), Seq: 100}.encode()})
		if err != nil {
			t.Fatal(err)
		}
		if plan := explain(t, s, p.page, p.pageArgs); fullScan(plan) {
			t.Errorf("cursor page scans the table:\n%s", plan)
		}

		// The groups of a page of users are read through the member index.
		ids := make([]string, 100)
		for i := range ids {
			ids[i] = fmt.Sprintf("user-%d", i*97+1)
		}
		plan := explain(t, s, s.userGroupsSQL(), []any{acc.ID, ids})
		t.Logf("user groups:\n%s", plan)
		if !strings.Contains(plan, "group_members_member_idx") || strings.Contains(plan, "Seq Scan") {
			t.Errorf("the groups of a page of users are not read through group_members_member_idx:\n%s", plan)
		}
	})
}

// populate fills the account with 20000 users and 5000 groups and
// analyses the tables (PostgreSQL).
func populate(t *testing.T, s *Store, accountID string) {
	t.Helper()
	for _, q := range []string{
		`INSERT INTO users (account_id, id, user_name, external_id, display_name, active, doc, created, last_modified, version)
		 SELECT ?, 'user-' || g, 'user' || g || '@example.com', 'ext-' || g, 'User ' || g, g % 2 = 0,
		        '{}', now(), now(), 1 FROM generate_series(1, 20000) AS g`,
		`INSERT INTO groups (account_id, id, display_name, external_id, doc, created, last_modified, version)
		 SELECT ?, 'group-' || g, 'Group ' || g, 'gext-' || g, '{}', now(), now(), 1
		 FROM generate_series(1, 5000) AS g`,
		`INSERT INTO group_members (account_id, group_id, member_id, member_type)
		 SELECT ?, 'group-' || (g % 5000 + 1), 'user-' || g, 'User' FROM generate_series(1, 20000) AS g`,
	} {
		if err := s.db.Exec(q, accountID).Error; err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{`ANALYZE users`, `ANALYZE groups`, `ANALYZE group_members`} {
		if err := s.db.Exec(q).Error; err != nil {
			t.Fatal(err)
		}
	}
}

// explain returns the plan of stmt as text. On PostgreSQL sequential
// scans are priced out for the statement, so the plan shows whether an
// index can serve it, whatever the shared test database's statistics make
// of the tables' sizes at the moment.
func explain(t *testing.T, s *Store, stmt string, args []any) string {
	t.Helper()
	var plan string
	err := s.db.Transaction(func(tx *gorm.DB) error {
		if s.Dialect() == DialectPostgres {
			if err := tx.Exec(`SET LOCAL enable_seqscan = off`).Error; err != nil {
				return err
			}
		}
		plan = explainIn(t, tx, s.Dialect(), stmt, args)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

// fullScan reports whether a plan reads a whole table.
func fullScan(plan string) bool {
	return strings.Contains(plan, "Seq Scan") || strings.Contains(plan, "SCAN r")
}

// TestOddDocuments checks that documents whose values do not have the
// expected shape make conditions false, never make the query fail.
func TestOddDocuments(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		acc := licensing.Account{ID: randomHex(8), Name: "odd-" + randomHex(8), CreatedAt: time.Now()}
		if err := s.CreateAccount(ctx, acc); err != nil {
			t.Fatal(err)
		}
		docs := []string{
			`{"emails": {"value": "x@example.com", "type": "work"}, "title": 5, "name": "plain"}`,
			`{"emails": ["x@example.com", null, 7, {"value": "y@example.com", "type": ["work"]}], "title": null, "name": {"givenName": 1}}`,
			`{"emails": "x@example.com", "title": ["a"], "name": [], "x": {"level": "7"}}`,
			`{"emails": [{"value": "z@example.com", "type": "work"}], "title": "T", "x": {"level": 7}}`,
		}
		for i, d := range docs {
			u := licensing.User{AccountID: acc.ID, ID: randomHex(8), UserName: "odd" + string(rune('a'+i)), Doc: json.RawMessage(d),
				Created: time.Now(), LastModified: time.Now(), Version: 1}
			if err := s.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		str := func(path ...string) licensing.Attr { return licensing.Attr{Path: path} }
		cmp := func(a licensing.Attr, op licensing.Op, v any) licensing.Compare {
			return licensing.Compare{Attr: a, Op: op, Value: v}
		}
		cases := []struct {
			name string
			cond licensing.Cond
			want int
		}{
			{"emails type", licensing.Any{Attr: str("emails"), Cond: cmp(str("type"), licensing.OpEq, "work")}, 1},
			{"emails value", licensing.Any{Attr: str("emails"), Cond: cmp(str("value"), licensing.OpCo, "example")}, 2},
			{"emails element", licensing.Any{Attr: str("emails"), Cond: cmp(str(), licensing.OpEq, "x@example.com")}, 1},
			{"emails element pr", licensing.Any{Attr: str("emails"), Cond: licensing.Compare{Attr: str(), Op: licensing.OpPr}}, 2},
			{"emails pr", licensing.Compare{Attr: str("emails"), Op: licensing.OpPr}, 4},
			{"name.givenName eq", cmp(str("name", "givenName"), licensing.OpEq, "1"), 0},
			{"title eq", cmp(str("title"), licensing.OpEq, "5"), 0},
			{"title pr", licensing.Compare{Attr: str("title"), Op: licensing.OpPr}, 3},
			{"title ne", cmp(str("title"), licensing.OpNe, "T"), 3},
			{"level gt", cmp(licensing.Attr{Path: []string{"x", "level"}, Kind: licensing.KindInt}, licensing.OpGt, int64(1)), 1},
		}
		for _, c := range cases {
			page, err := s.Users(ctx, acc.ID, licensing.Query{Filter: c.cond, Limit: 10})
			if err != nil || page.Total != c.want {
				t.Errorf("%s: %d users (%v), want %d", c.name, page.Total, err, c.want)
			}
		}
		sortBy := licensing.Attr{Path: []string{"name", "givenName"}}
		if _, err := s.Users(ctx, acc.ID, licensing.Query{SortBy: &sortBy, Limit: 10}); err != nil {
			t.Errorf("sort by an attribute of odd shape: %v", err)
		}
	})
}

func TestTranslatorRejects(t *testing.T) {
	str := func(path ...string) licensing.Attr { return licensing.Attr{Path: path} }
	eq := func(a licensing.Attr) licensing.Compare {
		return licensing.Compare{Attr: a, Op: licensing.OpEq, Value: "x"}
	}
	deep := licensing.Cond(eq(str("title")))
	for range maxNots + 1 {
		deep = licensing.Not{Cond: deep}
	}
	cases := []struct {
		name string
		res  *resource
		cond licensing.Cond
	}{
		{"quote in a name", usersResource, eq(str("ti'tle"))},
		{"double quote in a name", usersResource, eq(str(`ti"tle`))},
		{"placeholder in a name", usersResource, eq(str("title?"))},
		{"brace in a name", usersResource, eq(str("a}b"))},
		{"empty name", usersResource, eq(str("name", ""))},
		{"no path", usersResource, eq(str())},
		{"meta outside the columns", usersResource, eq(str("meta", "version"))},
		{"sub-attribute of a column", usersResource, eq(str("userName", "x"))},
		{"column of another kind", usersResource, licensing.Compare{Attr: licensing.Attr{Path: []string{"userName"}, Kind: licensing.KindInt}, Op: licensing.OpEq, Value: int64(1)}},
		{"any over a column", usersResource, licensing.Any{Attr: str("userName"), Cond: eq(str("value"))}},
		{"member display", groupsResource, licensing.Any{Attr: str("members"), Cond: eq(str("display"))}},
		{"any inside members", groupsResource, licensing.Any{Attr: str("members"), Cond: licensing.Any{Attr: str("x"), Cond: eq(str("y"))}}},
		{"members eq", groupsResource, eq(str("members"))},
		{"group display", usersResource, licensing.Any{Attr: str("groups"), Cond: eq(str("display"))}},
		{"group $ref", usersResource, licensing.Any{Attr: str("groups"), Cond: eq(str("$ref"))}},
		{"group display as a path", usersResource, eq(str("groups", "display"))},
		{"group value too deep", usersResource, eq(str("groups", "value", "x"))},
		{"any inside groups", usersResource, licensing.Any{Attr: str("groups"), Cond: licensing.Any{Attr: str("x"), Cond: eq(str("y"))}}},
		{"groups eq", usersResource, eq(str("groups"))},
		{"too deep", usersResource, deep},
		{"nil pointer", usersResource, (*licensing.Compare)(nil)},
	}
	for _, d := range []string{DialectSQLite, DialectPostgres} {
		for _, c := range cases {
			tr := &translator{dialect: d, res: c.res}
			if _, err := tr.cond(c.cond, scope{}); !errors.Is(err, licensing.ErrInvalid) {
				t.Errorf("%s %s: error %v, want ErrInvalid", d, c.name, err)
			}
		}
		tr := &translator{dialect: d, res: groupsResource}
		if _, err := tr.sortKey(str("members", "value")); !errors.Is(err, licensing.ErrInvalid) {
			t.Errorf("%s: sorting by members: %v, want ErrInvalid", d, err)
		}
		tr = &translator{dialect: d, res: usersResource}
		if _, err := tr.sortKey(str("groups", "value")); !errors.Is(err, licensing.ErrInvalid) {
			t.Errorf("%s: sorting by groups: %v, want ErrInvalid", d, err)
		}
		// Below a multi-valued attribute (SortElements): memberships, a
		// column, id/meta and a prefix longer than the path are refused.
		for _, c := range []struct {
			res  *resource
			path []string
			n    int
		}{
			{groupsResource, []string{"members", "value"}, 1},
			{usersResource, []string{"userName"}, 1},
			{usersResource, []string{"meta", "created"}, 1},
			{usersResource, []string{"emails"}, 2},
		} {
			tr := &translator{dialect: d, res: c.res}
			if _, err := tr.sortKeyIn(str(c.path...), c.n); !errors.Is(err, licensing.ErrInvalid) {
				t.Errorf("%s: sorting by %v below %d: %v, want ErrInvalid", d, c.path, c.n, err)
			}
		}
	}
}

// TestTranslatorBindsValues checks that values never reach the SQL text.
func TestTranslatorBindsValues(t *testing.T) {
	evil := `x' OR 1=1; DROP TABLE users; --%_\`
	conds := []licensing.Cond{}
	for _, op := range []licensing.Op{licensing.OpEq, licensing.OpNe, licensing.OpCo, licensing.OpSw, licensing.OpEw, licensing.OpGt} {
		for _, exact := range []bool{false, true} {
			for _, path := range [][]string{{"userName"}, {"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "department"}} {
				conds = append(conds, licensing.Compare{Attr: licensing.Attr{Path: path, CaseExact: exact}, Op: op, Value: evil})
			}
		}
	}
	for _, d := range []string{DialectSQLite, DialectPostgres} {
		for _, c := range conds {
			tr := &translator{dialect: d, res: usersResource}
			sqlText, err := tr.cond(c, scope{})
			if err != nil {
				t.Fatalf("%s %+v: %v", d, c, err)
			}
			if strings.Contains(sqlText, "DROP") || strings.Count(sqlText, "?") != len(tr.args) {
				t.Errorf("%s: %s with %d args", d, sqlText, len(tr.args))
			}
		}
	}
	// The index expression is used verbatim for userName eq.
	tr := &translator{dialect: DialectPostgres, res: usersResource}
	got, _ := tr.cond(licensing.Compare{Attr: licensing.Attr{Path: []string{"userName"}}, Op: licensing.OpEq, Value: "a"}, scope{})
	if got != "lower(r.user_name) = lower(?)" {
		t.Errorf("userName eq translates to %q", got)
	}
}

func TestCursorTiedToOrder(t *testing.T) {
	s := openSQLite(t)
	ctx := context.Background()
	acc := licensing.Account{ID: randomHex(8), Name: "cursor", CreatedAt: time.Now()}
	s.CreateAccount(ctx, acc)
	for i := range 3 {
		u := licensing.User{AccountID: acc.ID, ID: randomHex(8), UserName: "u" + string(rune('a'+i)), Version: 1}
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	sortBy := licensing.Attr{Path: []string{"userName"}}
	page, err := s.Users(ctx, acc.ID, licensing.Query{SortBy: &sortBy, Limit: 1})
	if err != nil || page.Next == "" {
		t.Fatalf("Users: %v, next %q", err, page.Next)
	}
	if _, err := s.Users(ctx, acc.ID, licensing.Query{Limit: 1, After: page.Next}); !errors.Is(err, licensing.ErrInvalid) {
		t.Errorf("cursor of a sorted listing in an unsorted one: %v, want ErrInvalid", err)
	}
	if _, err := s.Groups(ctx, acc.ID, licensing.Query{SortBy: &sortBy, Limit: 1, After: page.Next}); !errors.Is(err, licensing.ErrInvalid) {
		t.Errorf("cursor of users for groups: %v, want ErrInvalid", err)
	}
}

func TestParseDatabaseURL(t *testing.T) {
	cases := []struct {
		in, dialect, dsnPrefix string
		memory                 bool
	}{
		{"postgres://u:secret@db:5432/scimd?sslmode=disable", DialectPostgres, "postgres://u:secret@db", false},
		{"postgresql://db/scimd", DialectPostgres, "postgresql://db/scimd", false},
		{"sqlite:scimd.db", DialectSQLite, "scimd.db?_pragma=busy_timeout", false},
		{"sqlite:///var/lib/scimd.db", DialectSQLite, "/var/lib/scimd.db?", false},
		{"SQLite:data/x.db?_pragma=cache_size(1000)", DialectSQLite, "data/x.db?", false},
		{"file:scimd.db", DialectSQLite, "file:scimd.db?_pragma", false},
		{"file:scimd.db?mode=ro", DialectSQLite, "file:scimd.db?mode=ro&_pragma", false},
		{"scimd.db", DialectSQLite, "scimd.db?", false},
		{"/abs/dir:x/scimd.db", DialectSQLite, "/abs/dir:x/scimd.db?", false},
		{"sqlite::memory:", DialectSQLite, ":memory:?", true},
	}
	for _, c := range cases {
		got, err := parseDatabaseURL(c.in)
		if err != nil || got.dialect != c.dialect || !strings.HasPrefix(got.dsn, c.dsnPrefix) || got.memory != c.memory {
			t.Errorf("parseDatabaseURL(%q) = %+v, %v; want %s %q...", c.in, got, err, c.dialect, c.dsnPrefix)
		}
		if strings.Contains(got.display, "secret") {
			t.Errorf("parseDatabaseURL(%q) displays the password: %q", c.in, got.display)
		}
		if c.dialect == DialectSQLite && !strings.Contains(got.dsn, "_txlock=immediate") {
			t.Errorf("parseDatabaseURL(%q) = %q without immediate transactions", c.in, got.dsn)
		}
	}
	for _, bad := range []string{"", "  ", "mysql://db/scimd", "sqlite:", "sqlite://", "file:"} {
		if _, err := parseDatabaseURL(bad); err == nil {
			t.Errorf("parseDatabaseURL(%q) succeeded, want an error", bad)
		}
	}
	if _, err := Open("mysql://db/x", nil); err == nil || !strings.Contains(err.Error(), "mysql") {
		t.Errorf("Open of an unknown scheme: %v, want an error naming it", err)
	}
}

func TestSQLiteSettings(t *testing.T) {
	s := openSQLite(t)
	if s.Dialect() != DialectSQLite {
		t.Errorf("Dialect = %q", s.Dialect())
	}
	for pragma, want := range map[string]string{"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "10000"} {
		var got string
		if err := s.db.Raw("PRAGMA " + pragma).Scan(&got).Error; err != nil || got != want {
			t.Errorf("PRAGMA %s = %q (%v), want %q", pragma, got, err, want)
		}
	}
	if err := s.Ping(context.Background()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

// TestStoredTimes checks the stored form of timestamps: UTC, and on
// SQLite fixed-width text that sorts as the times do.
func TestStoredTimes(t *testing.T) {
	s := openSQLite(t)
	ctx := context.Background()
	zone := time.FixedZone("X", 7*3600)
	at := time.Date(2024, 5, 6, 7, 8, 9, 123456789, zone)
	if err := s.CreateAccount(ctx, licensing.Account{ID: "a", Name: "a", CreatedAt: at}); err != nil {
		t.Fatal(err)
	}
	var raw string
	s.db.Raw(`SELECT created_at FROM accounts WHERE id = 'a'`).Scan(&raw)
	if raw != "2024-05-06T00:08:09.123456Z" {
		t.Errorf("stored %q", raw)
	}
	a, err := s.Account(ctx, "a")
	if err != nil || !a.CreatedAt.Equal(at.Truncate(time.Microsecond)) || a.CreatedAt.Location() != time.UTC {
		t.Errorf("Account.CreatedAt = %v (%v), want %v in UTC", a.CreatedAt, err, at)
	}
}

func TestInvalidWrites(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		acc := licensing.Account{ID: randomHex(8), Name: "w-" + randomHex(8), CreatedAt: time.Now()}
		if err := s.CreateAccount(ctx, acc); err != nil {
			t.Fatal(err)
		}
		ok := licensing.User{AccountID: acc.ID, ID: randomHex(8), UserName: "ok", Version: 1}
		bad := []licensing.User{}
		for _, f := range []func(u *licensing.User){
			func(u *licensing.User) { u.Version = 2 },
			func(u *licensing.User) { u.Doc = json.RawMessage(`[1]`) },
			func(u *licensing.User) { u.Doc = json.RawMessage(`{"a":`) },
			func(u *licensing.User) { u.Doc = json.RawMessage(`{"a":"\u0000"}`) },
			func(u *licensing.User) { u.UserName = "nul\x00" },
			func(u *licensing.User) { u.DisplayName = "\xff" },
			func(u *licensing.User) { u.UserName = "" },
		} {
			u := ok
			f(&u)
			bad = append(bad, u)
		}
		for _, u := range bad {
			if err := s.CreateUser(ctx, u); !errors.Is(err, licensing.ErrInvalid) {
				t.Errorf("CreateUser(%+v): %v, want ErrInvalid", u, err)
			}
		}
		if err := s.CreateUser(ctx, ok); err != nil {
			t.Fatal(err)
		}
		next := ok
		next.Version = 3
		if err := s.ReplaceUser(ctx, next, 1); !errors.Is(err, licensing.ErrInvalid) {
			t.Errorf("ReplaceUser skipping a version: %v, want ErrInvalid", err)
		}
		orphan := ok
		orphan.AccountID = "missing-" + randomHex(4)
		if err := s.CreateUser(ctx, orphan); !errors.Is(err, licensing.ErrNotFound) {
			t.Errorf("CreateUser in a missing account: %v, want ErrNotFound", err)
		}
	})
}

// TestLargeGroup checks membership writes and reads past one batch.
func TestLargeGroup(t *testing.T) {
	s := openSQLite(t)
	ctx := context.Background()
	acc := licensing.Account{ID: "big", Name: "big", CreatedAt: time.Now()}
	s.CreateAccount(ctx, acc)
	var members []licensing.Member
	for i := range 3*batch + 7 {
		u := licensing.User{AccountID: acc.ID, ID: randomHex(8), UserName: randomHex(8), Version: 1}
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 || i > batch {
			members = append(members, licensing.Member{ID: u.ID})
		}
	}
	g := licensing.Group{AccountID: acc.ID, ID: "g", DisplayName: "big", Members: members, Version: 1}
	if err := s.CreateGroup(ctx, g); err != nil {
		t.Fatal(err)
	}
	got, err := s.Group(ctx, acc.ID, "g")
	if err != nil || len(got.Members) != len(members) {
		t.Fatalf("Group: %d members (%v), want %d", len(got.Members), err, len(members))
	}
	g.Members, g.Version = members[batch/2:], 2
	if err := s.ReplaceGroup(ctx, g, 1); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Group(ctx, acc.ID, "g")
	if len(got.Members) != len(members)-batch/2 {
		t.Errorf("after replace: %d members, want %d", len(got.Members), len(members)-batch/2)
	}
}

// FuzzQueryTranslation feeds arbitrary names and values through the
// translator and SQLite: a query either runs or is refused as invalid.
func FuzzQueryTranslation(f *testing.F) {
	f.Add("title", "eq", "x", false)
	f.Add("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "co", `%_\'"`, true)
	f.Add("userName", "sw", "a'b", false)
	f.Add("emails", "pr", "", true)
	s := openSQLite(f)
	ctx := context.Background()
	s.CreateAccount(ctx, licensing.Account{ID: "f", Name: "f", CreatedAt: time.Now()})
	s.CreateUser(ctx, licensing.User{AccountID: "f", ID: "u", UserName: "u", Doc: json.RawMessage(`{"title":"x","emails":[{"value":"x"}]}`), Version: 1})
	f.Fuzz(func(t *testing.T, name, op, value string, exact bool) {
		attr := licensing.Attr{Path: []string{name}, CaseExact: exact}
		conds := []licensing.Cond{
			licensing.Compare{Attr: attr, Op: licensing.Op(op), Value: value},
			licensing.Any{Attr: licensing.Attr{Path: []string{"emails"}}, Cond: licensing.Compare{Attr: attr, Op: licensing.Op(op), Value: value}},
		}
		for _, c := range conds {
			_, err := s.Users(ctx, "f", licensing.Query{Filter: c, SortBy: &attr, Limit: 5})
			if err != nil && !errors.Is(err, licensing.ErrInvalid) {
				t.Fatalf("%+v: %v", c, err)
			}
		}
	})
}
