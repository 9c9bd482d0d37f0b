package sqlstore

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/scimd/scimd/licensing"
)

// TestGroupNamesOfMembershipsBeforeTheMigration stores memberships in the
// schema before migration 0022 (when a user's groups were named through
// the groups table), migrates, and checks that the user's groups keep
// their names.
func TestGroupNamesOfMembershipsBeforeTheMigration(t *testing.T) {
	freshDatabases(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s := openMigratedTo(t, url, 21)
		now := time.Now().UTC()
		a := licensing.Account{ID: "acct-" + randomHex(8), Name: "acct-" + randomHex(8), CreatedAt: now}
		if err := s.CreateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
		u := licensing.User{AccountID: a.ID, ID: "user-" + randomHex(8), UserName: "ann", Active: true, Doc: json.RawMessage(`{}`),
			Created: now, LastModified: now, Version: 1}
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		// Written as rows: CreateGroup writes the column 0022 adds.
		for _, g := range []struct{ id, name string }{{"g-1", "Support Tier 1"}, {"g-2", "Support Tier 2"}} {
			if _, err := exec(s.conn(ctx), "group before 0022",
				`INSERT INTO "groups" (account_id, id, display_name, doc, created, last_modified, version) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				a.ID, g.id, g.name, "{}", s.timeArg(now), s.timeArg(now), 1); err != nil {
				t.Fatal(err)
			}
			if _, err := exec(s.conn(ctx), "membership before 0022",
				`INSERT INTO group_members (account_id, group_id, member_id, member_type) VALUES (?, ?, ?, 'User')`,
				a.ID, g.id, u.ID); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		got, err := s.User(ctx, a.ID, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := []licensing.GroupRef{{ID: "g-1", Display: "Support Tier 1"}, {ID: "g-2", Display: "Support Tier 2"}}
		if len(got.Groups) != len(want) || got.Groups[0] != want[0] || got.Groups[1] != want[1] {
			t.Fatalf("after the migration the user's groups are %+v, want %+v", got.Groups, want)
		}
	})
}
