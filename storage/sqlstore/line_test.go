package sqlstore

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/scimd/scimd/licensing"
)

// openMigratedTo opens the database at url with the migrations up to
// last applied, to write rows as the schema of that version held them.
func openMigratedTo(t *testing.T, url string, last int) *Store {
	t.Helper()
	s, err := Open(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.migrate(context.Background(), last); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestWaitersOfOneUserMergedByTheMigration stores several places of one
// user in one line in the schema before migration 0010 (JoinQueue made
// one per request), migrates, and checks that the user keeps the earliest
// place only.
func TestWaitersOfOneUserMergedByTheMigration(t *testing.T) {
	freshDatabases(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s := openMigratedTo(t, url, 9)
		now := time.Now().UTC()
		a := licensing.Account{ID: "acct-" + randomHex(8), Name: "acct-" + randomHex(8), CreatedAt: now}
		if err := s.CreateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
		var users []licensing.User
		for _, name := range []string{"ann", "bob"} {
			u := licensing.User{AccountID: a.ID, ID: "user-" + randomHex(8), UserName: name, Active: true, Doc: json.RawMessage(`{}`),
				Created: now, LastModified: now, Version: 1}
			// Written as rows: CreateUser needs the tables of later migrations.
			if _, err := exec(s.conn(ctx), "user before 0010",
				`INSERT INTO users (account_id, id, user_name, active, doc, created, last_modified, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
				u.AccountID, u.ID, u.UserName, u.Active, "{}", s.timeArg(now), s.timeArg(now), 1); err != nil {
				t.Fatal(err)
			}
			users = append(users, u)
		}
		for i, w := range []struct{ ticket, user string }{{"ann-1", users[0].ID}, {"bob-1", users[1].ID}, {"ann-2", users[0].ID}, {"ann-3", users[0].ID}} {
			at := now.Add(time.Duration(i) * time.Millisecond)
			if _, err := exec(s.conn(ctx), "waiter before 0010",
				`INSERT INTO waiters (ticket, account_id, product_id, user_id, joined_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
				w.ticket, a.ID, "remote-support-v5", w.user, s.timeArg(at), s.timeArg(now.Add(time.Hour))); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if n, err := s.Waiting(ctx, a.ID, "remote-support-v5", now); err != nil || n != 2 {
			t.Fatalf("after the migration Waiting = %d (%v), want 2", n, err)
		}
		ticket, err := s.JoinQueue(ctx, a.ID, "remote-support-v5", users[0].ID, now, now.Add(time.Hour), 0)
		if err != nil || ticket != "ann-1" {
			t.Fatalf("ann joining again: ticket %q (%v), want her earliest place ann-1", ticket, err)
		}
	})
}
