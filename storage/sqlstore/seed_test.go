package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/scimd/scimd/licensing"
)

// seedAccount makes an account of its own for a seeding test, removed
// with its users when the test ends.
func seedAccount(t *testing.T, s *Store) licensing.Account {
	t.Helper()
	acc := licensing.Account{ID: "seed-" + randomHex(8), Name: "seed-" + randomHex(8), CreatedAt: time.Now()}
	if err := s.CreateAccount(context.Background(), acc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.db.Exec(`DELETE FROM accounts WHERE id = ?`, acc.ID) })
	return acc
}

// rawUser reads every column of the user's row as the driver returns it,
// by column name, so that a column CreateUser writes and SeedUsers does
// not (or encodes otherwise) shows.
func rawUser(t *testing.T, s *Store, accountID, id string) map[string]any {
	t.Helper()
	rows, err := s.db.Raw(`SELECT * FROM users WHERE account_id = ? AND id = ?`, accountID, id).Rows()
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	if !rows.Next() {
		t.Fatalf("no row for user %s", id)
	}
	vals := make([]any, len(cols))
	dest := make([]any, len(cols))
	for i := range vals {
		dest[i] = &vals[i]
	}
	if err := rows.Scan(dest...); err != nil {
		t.Fatal(err)
	}
	m := make(map[string]any, len(cols))
	for i, c := range cols {
		if b, ok := vals[i].([]byte); ok {
			vals[i] = string(b)
		}
		m[c] = vals[i]
	}
	return m
}

// TestSeedUsersWritesAsCreateUser stores the same users through
// CreateUser and SeedUsers and compares the rows column by column (all but
// seq, id and userName) and what User reads back.
func TestSeedUsersWritesAsCreateUser(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		acc := seedAccount(t, s)
		zone := time.FixedZone("X", -5*3600)
		at := time.Date(2025, 3, 4, 5, 6, 7, 891234567, zone)
		shapes := []licensing.User{
			{ExternalID: "ext-1", DisplayName: "Ann Lee", Active: true,
				Doc: json.RawMessage(`{"name":{"givenName":"Ann","familyName":"Lee"},"emails":[{"value":"ann@example.com","primary":true}]}`)},
			{Active: false},
			{Active: true, Doc: json.RawMessage("  {}  "), ExternalID: "", DisplayName: ""},
			{Active: true, PasswordHash: "$argon2id$v=19$m=65536,t=1,p=2$c2FsdA$aGFzaA"},
			{Active: true, DisplayName: "Zoë ☃", Doc: json.RawMessage(`{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Support"}}`)},
		}
		var seeded []licensing.User
		for i, shape := range shapes {
			created := shape
			created.AccountID, created.ID, created.UserName, created.Version = acc.ID, "c"+randomHex(6), fmt.Sprintf("created%d@example.com", i), 1
			created.Created, created.LastModified = at, at.Add(time.Duration(i)*time.Second)
			if err := s.CreateUser(ctx, created); err != nil {
				t.Fatal(err)
			}
			seed := created
			seed.AccountID, seed.ID, seed.UserName = "", "s"+randomHex(6), fmt.Sprintf("seeded%d@example.com", i)
			seeded = append(seeded, seed)
			shapes[i] = created
		}
		if err := s.SeedUsers(ctx, acc.ID, seeded); err != nil {
			t.Fatal(err)
		}
		for i := range shapes {
			c, sd := rawUser(t, s, acc.ID, shapes[i].ID), rawUser(t, s, acc.ID, seeded[i].ID)
			// The search text holds the userName, which differs: each must be
			// its own user's.
			if got, want := fmt.Sprint(c["search"]), searchText(shapes[i]); got != want {
				t.Errorf("user %d: created row's search %q, want %q", i, got, want)
			}
			if got, want := fmt.Sprint(sd["search"]), searchText(seeded[i]); got != want {
				t.Errorf("user %d: seeded row's search %q, want %q", i, got, want)
			}
			for _, k := range []string{"seq", "id", "user_name", "search"} {
				delete(c, k)
				delete(sd, k)
			}
			if !reflect.DeepEqual(c, sd) {
				t.Errorf("user %d: created row %v\nseeded row %v", i, c, sd)
			}
			cu, err := s.User(ctx, acc.ID, shapes[i].ID)
			if err != nil {
				t.Fatal(err)
			}
			su, err := s.User(ctx, acc.ID, seeded[i].ID)
			if err != nil {
				t.Fatal(err)
			}
			if su.AccountID != acc.ID || su.UserName != seeded[i].UserName {
				t.Errorf("user %d read back as account %q userName %q", i, su.AccountID, su.UserName)
			}
			su.ID, su.UserName, cu.ID, cu.UserName = "", "", "", ""
			if !reflect.DeepEqual(cu, su) {
				t.Errorf("user %d: User reads the created one as %+v\nthe seeded one as %+v", i, cu, su)
			}
		}
	})
}

// TestSeedUsersManyStatements seeds more users than one statement holds
// and finds them all, in the order given, each by userName through its
// index (case-insensitively, as SCIM looks them up).
func TestSeedUsersManyStatements(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		acc := seedAccount(t, s)
		n := 2*seedRows + 7
		users := make([]licensing.User, n)
		now := time.Now()
		for i := range users {
			users[i] = licensing.User{ID: fmt.Sprintf("u%05d-%s", i, randomHex(4)), UserName: fmt.Sprintf("user%05d@example.com", i),
				Active: true, Created: now, LastModified: now, Version: 1}
		}
		if err := s.SeedUsers(ctx, acc.ID, users); err != nil {
			t.Fatal(err)
		}
		var got []string
		q := licensing.Query{Limit: 400, WithoutGroups: true}
		for {
			page, err := s.Users(ctx, acc.ID, q)
			if err != nil {
				t.Fatal(err)
			}
			if page.Total != n {
				t.Fatalf("total %d, want %d", page.Total, n)
			}
			for _, u := range page.Items {
				got = append(got, u.ID)
			}
			if page.Next == "" {
				break
			}
			q.After = page.Next
		}
		if len(got) != n {
			t.Fatalf("listed %d users, want %d", len(got), n)
		}
		for i, id := range got {
			if id != users[i].ID {
				t.Fatalf("user %d in creation order is %s, want %s", i, id, users[i].ID)
			}
		}
		for _, i := range []int{0, seedRows - 1, seedRows, n - 1} {
			page, err := s.Users(ctx, acc.ID, licensing.Query{Limit: 10, Filter: licensing.Compare{
				Attr: licensing.Attr{Path: []string{"userName"}}, Op: licensing.OpEq, Value: fmt.Sprintf("USER%05d@EXAMPLE.COM", i)}})
			if err != nil || page.Total != 1 || page.Items[0].ID != users[i].ID {
				t.Errorf("lookup of user %d: %+v, %v", i, page, err)
			}
		}
	})
}

// TestSeedUsersAllOrNothing checks the error contract: a refused user or a
// taken userName, even in the last statement, leaves the account as it
// was.
func TestSeedUsersAllOrNothing(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		acc := seedAccount(t, s)
		other := seedAccount(t, s)
		now := time.Now()
		mk := func(n int, prefix string) []licensing.User {
			us := make([]licensing.User, n)
			for i := range us {
				us[i] = licensing.User{AccountID: acc.ID, ID: prefix + randomHex(8), UserName: fmt.Sprintf("%s%d@example.com", prefix, i),
					Active: true, Created: now, LastModified: now, Version: 1}
			}
			return us
		}
		if err := s.SeedUsers(ctx, acc.ID, mk(3, "first")); err != nil {
			t.Fatal(err)
		}
		if err := s.SeedUsers(ctx, acc.ID, nil); err != nil {
			t.Errorf("seeding no users: %v", err)
		}
		count := func() int {
			page, err := s.Users(ctx, acc.ID, licensing.Query{})
			if err != nil {
				t.Fatal(err)
			}
			return page.Total
		}

		cases := []struct {
			name string
			edit func(us []licensing.User)
			want error
		}{
			{"taken userName in the last statement", func(us []licensing.User) { us[len(us)-1].UserName = "FIRST1@example.com" }, licensing.ErrConflict},
			{"same userName twice", func(us []licensing.User) { us[len(us)-1].UserName = us[0].UserName }, licensing.ErrConflict},
			{"same id twice", func(us []licensing.User) { us[len(us)-1].ID = us[1].ID }, licensing.ErrConflict},
			{"version 2", func(us []licensing.User) { us[5].Version = 2 }, licensing.ErrInvalid},
			{"another account", func(us []licensing.User) { us[5].AccountID = other.ID }, licensing.ErrInvalid},
			{"assignments", func(us []licensing.User) { us[5].Assignments = licensing.Assignments{"p": licensing.LicenseNamed} }, licensing.ErrInvalid},
			{"empty userName", func(us []licensing.User) { us[5].UserName = "" }, licensing.ErrInvalid},
			{"NUL in text", func(us []licensing.User) { us[5].DisplayName = "a\x00b" }, licensing.ErrInvalid},
			{"document not an object", func(us []licensing.User) { us[5].Doc = json.RawMessage(`[1]`) }, licensing.ErrInvalid},
		}
		for _, c := range cases {
			us := mk(seedRows+3, "later")
			c.edit(us)
			if err := s.SeedUsers(ctx, acc.ID, us); !errors.Is(err, c.want) {
				t.Errorf("%s: %v, want %v", c.name, err, c.want)
			}
			if n := count(); n != 3 {
				t.Fatalf("%s: the account holds %d users after a refused seed, want 3", c.name, n)
			}
		}
		if err := s.SeedUsers(ctx, "no-such-account", mk(2, "ghost")); !errors.Is(err, licensing.ErrInvalid) {
			t.Errorf("users of another account: %v, want ErrInvalid", err)
		}
		ghosts := mk(2, "ghost")
		for i := range ghosts {
			ghosts[i].AccountID = ""
		}
		if err := s.SeedUsers(ctx, "no-such-account", ghosts); !errors.Is(err, licensing.ErrNotFound) {
			t.Errorf("unknown account: %v, want ErrNotFound", err)
		}
	})
}

// TestAnalyzeUsers checks that AnalyzeUsers runs on both dialects and, on
// PostgreSQL, leaves the planner knowing the table's size.
func TestAnalyzeUsers(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		acc := seedAccount(t, s)
		now := time.Now()
		users := make([]licensing.User, 50)
		for i := range users {
			users[i] = licensing.User{ID: randomHex(8), UserName: fmt.Sprintf("a%d@example.com", i), Created: now, LastModified: now, Version: 1}
		}
		if err := s.SeedUsers(ctx, acc.ID, users); err != nil {
			t.Fatal(err)
		}
		if err := s.AnalyzeUsers(ctx); err != nil {
			t.Fatal(err)
		}
		if s.dialect == DialectPostgres {
			var tuples float64
			if err := s.db.Raw(`SELECT reltuples FROM pg_class WHERE oid = 'users'::regclass`).Scan(&tuples).Error; err != nil || tuples < 50 {
				t.Errorf("after AnalyzeUsers, reltuples = %v (%v), want at least 50", tuples, err)
			}
		}
	})
}
