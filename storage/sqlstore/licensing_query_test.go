package sqlstore

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/licensing"
)

// licenseAttr is the path the SCIM adapter gives a licensing extension
// attribute: the extension URN and the product id.
func licenseAttr(product string) licensing.Attr {
	return licensing.Attr{Path: []string{licensingURN, product}, Kind: licensing.KindString}
}

func licenseIs(product string, op licensing.Op, v any) licensing.Compare {
	return licensing.Compare{Attr: licenseAttr(product), Op: op, Value: v}
}

// TestLicensingFilter checks filters and sorting on the licensing
// extension: eq and ne through the assignments table ("none" meaning no
// row), case-insensitively; pr always true; other operators and sorting
// on the license or "none".
func TestLicensingFilter(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Second)
		acc := licensing.Account{ID: "lic-" + randomHex(8), Name: "lic-" + randomHex(8), CreatedAt: now}
		if err := s.CreateAccount(ctx, acc); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.db.Exec(`DELETE FROM accounts WHERE id = ?`, acc.ID) })
		for _, p := range []string{"remote-support-v5", "service-desk"} {
			if err := s.SetPlan(ctx, licensing.Plan{AccountID: acc.ID, ProductID: p, NamedSeats: 5, ConcurrentSeats: 5}); err != nil {
				t.Fatal(err)
			}
		}
		// Another account's user with assignments must not leak in.
		other := licensing.Account{ID: "lic-" + randomHex(8), Name: "lic-" + randomHex(8), CreatedAt: now}
		if err := s.CreateAccount(ctx, other); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.db.Exec(`DELETE FROM accounts WHERE id = ?`, other.ID) })

		const v5, desk = "remote-support-v5", "service-desk"
		users := []struct {
			name   string
			active bool
			a      licensing.Assignments
		}{
			{"ann", true, licensing.Assignments{v5: licensing.LicenseNamed, desk: licensing.LicenseConcurrent}},
			{"bob", true, licensing.Assignments{v5: licensing.LicenseConcurrent}},
			{"cat", true, nil},
			{"dan", true, licensing.Assignments{desk: licensing.LicenseNamed}},
			{"eve", false, licensing.Assignments{v5: licensing.LicenseConcurrent}},
		}
		for i, u := range users {
			created := now.Add(time.Duration(i) * time.Second)
			err := s.CreateUser(ctx, licensing.User{
				AccountID: acc.ID, ID: u.name + "-" + acc.ID, UserName: u.name + "@example.com", Active: u.active,
				Doc: []byte(`{}`), Created: created, LastModified: created, Version: 1, Assignments: u.a,
			})
			if err != nil {
				t.Fatalf("create %s: %v", u.name, err)
			}
		}
		if err := s.CreateUser(ctx, licensing.User{
			AccountID: other.ID, ID: "zed-" + other.ID, UserName: "zed@example.com", Active: true, Doc: []byte(`{}`),
			Created: now, LastModified: now, Version: 1, Assignments: licensing.Assignments{v5: licensing.LicenseConcurrent},
		}); err != nil {
			t.Fatal(err)
		}

		names := func(q licensing.Query) []string {
			t.Helper()
			if q.Limit == 0 {
				q.Limit = 100
			}
			p, err := s.Users(ctx, acc.ID, q)
			if err != nil {
				t.Fatalf("%+v: %v", q.Filter, err)
			}
			var out []string
			for _, u := range p.Items {
				out = append(out, strings.TrimSuffix(u.ID, "-"+acc.ID))
			}
			if p.Total != len(out) && q.After == "" {
				t.Errorf("%+v: total %d, %d items", q.Filter, p.Total, len(out))
			}
			return out
		}
		for _, c := range []struct {
			name string
			cond licensing.Cond
			want []string
		}{
			{"eq concurrent", licenseIs(v5, licensing.OpEq, "concurrent"), []string{"bob", "eve"}},
			{"eq case-insensitive", licenseIs(v5, licensing.OpEq, "CONCURRENT"), []string{"bob", "eve"}},
			{"eq named", licenseIs(v5, licensing.OpEq, "Named"), []string{"ann"}},
			{"eq none", licenseIs(v5, licensing.OpEq, "none"), []string{"cat", "dan"}},
			{"eq None", licenseIs(v5, licensing.OpEq, "None"), []string{"cat", "dan"}},
			{"ne none", licenseIs(v5, licensing.OpNe, "none"), []string{"ann", "bob", "eve"}},
			{"ne concurrent", licenseIs(v5, licensing.OpNe, "concurrent"), []string{"ann", "cat", "dan"}},
			{"eq unknown value", licenseIs(v5, licensing.OpEq, "gold"), nil},
			{"ne unknown value", licenseIs(v5, licensing.OpNe, "gold"), []string{"ann", "bob", "cat", "dan", "eve"}},
			{"pr", licensing.Compare{Attr: licenseAttr(v5), Op: licensing.OpPr}, []string{"ann", "bob", "cat", "dan", "eve"}},
			{"not pr", licensing.Not{Cond: licensing.Compare{Attr: licenseAttr(v5), Op: licensing.OpPr}}, nil},
			{"not eq named", licensing.Not{Cond: licenseIs(v5, licensing.OpEq, "named")}, []string{"bob", "cat", "dan", "eve"}},
			{"not eq none", licensing.Not{Cond: licenseIs(desk, licensing.OpEq, "none")}, []string{"ann", "dan"}},
			{"sw", licenseIs(v5, licensing.OpSw, "CON"), []string{"bob", "eve"}},
			{"co none", licenseIs(desk, licensing.OpCo, "on"), []string{"ann", "bob", "cat", "eve"}},
			{"gt", licenseIs(v5, licensing.OpGt, "named"), []string{"cat", "dan"}},
			{"or across products", licensing.Or{licenseIs(v5, licensing.OpEq, "named"), licenseIs(desk, licensing.OpEq, "named")}, []string{"ann", "dan"}},
			{"and with a column", licensing.And{licenseIs(v5, licensing.OpEq, "concurrent"),
				licensing.Compare{Attr: licensing.Attr{Path: []string{"active"}, Kind: licensing.KindBool}, Op: licensing.OpEq, Value: true}}, []string{"bob"}},
			{"product nobody holds", licenseIs("service-desk-v9", licensing.OpEq, "none"), []string{"ann", "bob", "cat", "dan", "eve"}},
		} {
			if got := names(licensing.Query{Filter: c.cond}); !slices.Equal(got, c.want) {
				t.Errorf("%s: got %v, want %v", c.name, got, c.want)
			}
		}

		// Sorting by a product: concurrent < named < none, ties by creation.
		by := licenseAttr(v5)
		want := []string{"bob", "eve", "ann", "cat", "dan"}
		if got := names(licensing.Query{SortBy: &by}); !slices.Equal(got, want) {
			t.Errorf("sorted by %s: %v, want %v", v5, got, want)
		}
		desc := []string{"cat", "dan", "ann", "bob", "eve"}
		if got := names(licensing.Query{SortBy: &by, Descending: true}); !slices.Equal(got, desc) {
			t.Errorf("sorted by %s descending: %v, want %v", v5, got, desc)
		}
		// ... and walked with a cursor, two at a time.
		var walked []string
		q := licensing.Query{SortBy: &by, Limit: 2}
		for range 10 {
			p, err := s.Users(ctx, acc.ID, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range p.Items {
				walked = append(walked, strings.TrimSuffix(u.ID, "-"+acc.ID))
			}
			if p.Next == "" {
				break
			}
			q.After = p.Next
		}
		if !slices.Equal(walked, want) {
			t.Errorf("cursor walk sorted by %s: %v, want %v", v5, walked, want)
		}
	})
}

// TestLicensingTranslatorRejects checks the paths a licensing condition
// may not have, and that values never reach the SQL text.
func TestLicensingTranslatorRejects(t *testing.T) {
	for _, d := range []string{DialectSQLite, DialectPostgres} {
		for name, c := range map[string]licensing.Cond{
			"no product":        licensing.Compare{Attr: licensing.Attr{Path: []string{licensingURN}}, Op: licensing.OpEq, Value: "named"},
			"sub-attribute":     licensing.Compare{Attr: licensing.Attr{Path: []string{licensingURN, "remote-support-v5", "x"}}, Op: licensing.OpEq, Value: "named"},
			"quote in product":  licenseIs("x'); DROP TABLE users; --", licensing.OpEq, "named"),
			"upper-case id":     licenseIs("Remote-Support-V5", licensing.OpEq, "named"),
			"attribute name":    licenseIs("remoteSupportV5", licensing.OpEq, "named"),
			"dash at the end":   licenseIs("remote-", licensing.OpEq, "named"),
			"not a string":      licensing.Compare{Attr: licensing.Attr{Path: []string{licensingURN, "remote-support-v5"}, Kind: licensing.KindInt}, Op: licensing.OpEq, Value: int64(1)},
			"value not string":  licenseIs("remote-support-v5", licensing.OpEq, true),
			"any over products": licensing.Any{Attr: licensing.Attr{Path: []string{licensingURN, "remote-support-v5"}}, Cond: licensing.Compare{Attr: licensing.Attr{Path: []string{"value"}}, Op: licensing.OpEq, Value: "x"}},
		} {
			tr := &translator{dialect: d, res: usersResource}
			if _, err := tr.cond(c, scope{}); !errors.Is(err, licensing.ErrInvalid) {
				t.Errorf("%s %s: error %v, want ErrInvalid", d, name, err)
			}
		}
		tr := &translator{dialect: d, res: usersResource}
		if _, err := tr.sortKey(licensing.Attr{Path: []string{licensingURN, "bad'id"}}); !errors.Is(err, licensing.ErrInvalid) {
			t.Errorf("%s: sorting by a bad product id: %v, want ErrInvalid", d, err)
		}

		evil := `named' OR 1=1; DROP TABLE users; --`
		for _, op := range []licensing.Op{licensing.OpEq, licensing.OpNe, licensing.OpSw, licensing.OpGt} {
			tr := &translator{dialect: d, res: usersResource}
			sqlText, err := tr.cond(licenseIs("remote-support-v5", op, evil), scope{})
			if err != nil {
				t.Fatalf("%s %s: %v", d, op, err)
			}
			if strings.Contains(sqlText, "DROP") || strings.Count(sqlText, "?") != len(tr.args) {
				t.Errorf("%s %s: %s with %d args", d, op, sqlText, len(tr.args))
			}
		}
	}
}

// TestLicensingFilterPlan checks on PostgreSQL, with 5000 users who all
// hold one product and of whom every fifth holds another concurrently,
// that a filter by license of the other reads neither table whole: users
// through an index, assignments through assignments_product_idx.
func TestLicensingFilterPlan(t *testing.T) {
	s := openPostgres(t)
	ctx := context.Background()
	acc := licensing.Account{ID: "licplan-" + randomHex(8), Name: "licplan-" + randomHex(8), CreatedAt: time.Now()}
	if err := s.CreateAccount(ctx, acc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.db.Exec(`DELETE FROM accounts WHERE id = ?`, acc.ID) })
	for _, q := range []string{
		`INSERT INTO users (account_id, id, user_name, active, doc, created, last_modified, version)
		 SELECT ?, 'user-' || g, 'user' || g || '@example.com', TRUE, '{}', now(), now(), 1 FROM generate_series(1, 5000) AS g`,
		`INSERT INTO assignments (account_id, user_id, product_id, license)
		 SELECT ?, 'user-' || g, 'remote-support-v5', 'concurrent' FROM generate_series(1, 5000, 5) AS g`,
		`INSERT INTO assignments (account_id, user_id, product_id, license)
		 SELECT ?, 'user-' || g, 'service-desk', 'named' FROM generate_series(1, 5000) AS g`,
	} {
		if err := s.db.Exec(q, acc.ID).Error; err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{`ANALYZE users`, `ANALYZE assignments`} {
		if err := s.db.Exec(q).Error; err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range []string{"concurrent", "none"} {
		p, err := s.planList(usersResource, userColumns, acc.ID,
			licensing.Query{Filter: licenseIs("remote-support-v5", licensing.OpEq, v), Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		plan := explain(t, s, p.count, p.countArgs)
		t.Logf("eq %q: %s\n%s", v, p.count, plan)
		if fullScan(plan) || strings.Contains(plan, "Seq Scan on assignments") {
			t.Errorf("eq %q scans a table:\n%s", v, plan)
		}
	}
}
