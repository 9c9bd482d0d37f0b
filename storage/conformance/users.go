package conformance

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/scimd/scimd/licensing"
)

func testUserCRUD(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	u := newUser(a.ID, "ann@example.com")
	u.ExternalID = "00u1"
	u.DisplayName = "Ann Example"
	u.Doc = json.RawMessage(`{"name":{"givenName":"Ann"},"emails":[{"value":"ann@example.com","primary":true}],
		"urn:ietf:params:scim:schemas:extension:licensing:2.0:User":{"remoteSupportV5":"named"}}`)
	createUser(t, s, u)
	plain := createUser(t, s, newUser(a.ID, "plain"))

	got, err := s.User(ctx, a.ID, u.ID)
	wantErr(t, "User", err, nil)
	wantUser(t, got, u)
	got, err = s.User(ctx, a.ID, plain.ID)
	wantErr(t, "User", err, nil)
	wantUser(t, got, plain)

	v2 := u
	v2.UserName = "ann.b@example.com"
	v2.ExternalID = ""
	v2.DisplayName = "Ann B"
	v2.Active = false
	v2.Doc = json.RawMessage(`{"title":"Boss"}`)
	v2.LastModified = u.LastModified.Add(time.Minute)
	v2.Version = 2
	wantErr(t, "ReplaceUser", s.ReplaceUser(ctx, v2, 1), nil)
	got, err = s.User(ctx, a.ID, u.ID)
	wantErr(t, "User after replace", err, nil)
	wantUser(t, got, v2)

	missing := newUser(a.ID, "ghost")
	missing.Version = 2
	wantErr(t, "ReplaceUser(unknown)", s.ReplaceUser(ctx, missing, 1), licensing.ErrNotFound)

	wantErr(t, "DeleteUser", s.DeleteUser(ctx, a.ID, u.ID, now()), nil)
	_, err = s.User(ctx, a.ID, u.ID)
	wantErr(t, "User after delete", err, licensing.ErrNotFound)
	wantErr(t, "DeleteUser again", s.DeleteUser(ctx, a.ID, u.ID, now()), licensing.ErrNotFound)
	v3 := v2
	v3.Version = 3
	wantErr(t, "ReplaceUser after delete", s.ReplaceUser(ctx, v3, 2), licensing.ErrNotFound)
	_, err = s.User(ctx, a.ID, plain.ID)
	wantErr(t, "User that was not deleted", err, nil)

	// The name of a deleted user is free again.
	createUser(t, s, newUser(a.ID, "ANN@example.com"))
}

func testUserNameUnique(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)
	ann := createUser(t, s, newUser(a.ID, "Ann@Example.com"))
	wantErr(t, "CreateUser with the same userName in another case",
		s.CreateUser(ctx, newUser(a.ID, "ann@example.COM")), licensing.ErrConflict)
	wantErr(t, "CreateUser", s.CreateUser(ctx, newUser(a.ID, "other")), nil)
	dupID := newUser(a.ID, "someone-else")
	dupID.ID = ann.ID
	wantErr(t, "CreateUser with a taken id", s.CreateUser(ctx, dupID), licensing.ErrConflict)
	createUser(t, s, newUser(b.ID, "ann@example.com")) // other account: no conflict

	bob := createUser(t, s, newUser(a.ID, "bob@example.com"))
	rename := bob
	rename.UserName = "ANN@example.com"
	rename.Version = 2
	wantErr(t, "ReplaceUser to a taken userName", s.ReplaceUser(ctx, rename, 1), licensing.ErrConflict)
	got, _ := s.User(ctx, a.ID, bob.ID)
	if got.UserName != "bob@example.com" || got.Version != 1 {
		t.Errorf("refused rename changed the user: %+v", got)
	}
	self := ann
	self.UserName = "ann@example.com"
	self.Version = 2
	wantErr(t, "ReplaceUser changing only the case of its own userName", s.ReplaceUser(ctx, self, 1), nil)

	page, err := s.Users(ctx, a.ID, licensing.Query{Limit: 10})
	wantErr(t, "Users", err, nil)
	if page.Total != 3 {
		t.Errorf("account holds %d users, want 3", page.Total)
	}
}

func testUserStale(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	u := createUser(t, s, newUser(a.ID, "stale@example.com"))
	first := u
	first.DisplayName = "first"
	first.Version = 2
	wantErr(t, "ReplaceUser", s.ReplaceUser(ctx, first, 1), nil)
	second := u
	second.DisplayName = "second"
	second.Version = 2
	wantErr(t, "ReplaceUser with an old version", s.ReplaceUser(ctx, second, 1), licensing.ErrStale)
	got, _ := s.User(ctx, a.ID, u.ID)
	if got.DisplayName != "first" || got.Version != 2 {
		t.Errorf("after a stale replace the user is %+v, want the first replacement", got)
	}
	third := first
	third.DisplayName = "third"
	third.Version = 3
	wantErr(t, "ReplaceUser with the current version", s.ReplaceUser(ctx, third, 2), nil)
	got, _ = s.User(ctx, a.ID, u.ID)
	if got.DisplayName != "third" || got.Version != 3 {
		t.Errorf("user = %+v, want version 3", got)
	}
}

func testUserCrossAccount(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)
	u := createUser(t, s, newUser(a.ID, "mine@example.com"))

	_, err := s.User(ctx, b.ID, u.ID)
	wantErr(t, "User from another account", err, licensing.ErrNotFound)
	other := u
	other.AccountID = b.ID
	other.DisplayName = "hijacked"
	other.Version = 2
	wantErr(t, "ReplaceUser from another account", s.ReplaceUser(ctx, other, 1), licensing.ErrNotFound)
	wantErr(t, "DeleteUser from another account", s.DeleteUser(ctx, b.ID, u.ID, now()), licensing.ErrNotFound)
	got, err := s.User(ctx, a.ID, u.ID)
	wantErr(t, "User", err, nil)
	wantUser(t, got, u)

	page, err := s.Users(ctx, b.ID, licensing.Query{Limit: 10})
	wantErr(t, "Users of another account", err, nil)
	if page.Total != 0 || len(page.Items) != 0 {
		t.Errorf("Users of another account = %+v, want none", page)
	}
	filter := licensing.Compare{Attr: licensing.Attr{Path: []string{"userName"}}, Op: licensing.OpEq, Value: u.UserName}
	page, err = s.Users(ctx, b.ID, licensing.Query{Filter: filter, Limit: 10})
	wantErr(t, "Users of another account by userName", err, nil)
	if page.Total != 0 {
		t.Errorf("filter in another account found %d users, want none", page.Total)
	}
}

func testUsersByID(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)
	u1 := newUser(a.ID, "byid1@example.com")
	u1.Assignments = licensing.Assignments{"remote-support-v4": licensing.LicenseConcurrent}
	u1 = createUser(t, s, u1)
	u2 := createUser(t, s, newUser(a.ID, "byid2@example.com"))
	other := createUser(t, s, newUser(b.ID, "byid3@example.com"))
	got, err := s.UsersByID(ctx, a.ID, []string{u2.ID, newID(), u1.ID, other.ID})
	wantErr(t, "UsersByID", err, nil)
	byID := map[string]licensing.User{}
	for _, u := range got {
		byID[u.ID] = u
	}
	if len(got) != 2 || byID[u1.ID].UserName != u1.UserName || byID[u2.ID].UserName != u2.UserName {
		t.Fatalf("UsersByID = %+v, want exactly the account's two users", got)
	}
	if byID[u1.ID].Assignments.Of("remote-support-v4") != licensing.LicenseConcurrent || len(byID[u2.ID].Assignments) != 0 {
		t.Errorf("UsersByID assignments: %v and %v", byID[u1.ID].Assignments, byID[u2.ID].Assignments)
	}
	got, err = s.UsersByID(ctx, a.ID, nil)
	wantErr(t, "UsersByID of no ids", err, nil)
	if len(got) != 0 {
		t.Errorf("UsersByID(nil) = %+v", got)
	}
}

func testUserTextSearch(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)
	mk := func(accountID, userName, displayName, doc string) licensing.User {
		u := newUser(accountID, userName)
		u.DisplayName, u.Doc = displayName, json.RawMessage(doc)
		return createUser(t, s, u)
	}
	ann := mk(a.ID, "ann@example.com", "Ann Lee", `{"name":{"givenName":"Ann","familyName":"Lee"},"emails":[{"value":"ann.lee@corp.example","primary":true}]}`)
	bob := mk(a.ID, "bob@example.com", "", `{"name":{"givenName":"Robert","familyName":"Stone","formatted":"Bobby Stone"},"emails":[{"value":"b@x.example"},{"value":"stone@corp.example"}]}`)
	odd := mk(a.ID, "100%_sure@example.com", "Per Cent", `{}`)
	mk(b.ID, "ann@other.example", "Ann Other", `{}`)
	cases := []struct {
		text string
		want []string
	}{
		{"ANN", []string{ann.ID}},
		{"lee@corp", []string{ann.ID}},
		{"stone", []string{bob.ID}},
		{"bobby", []string{bob.ID}},
		{"robert", []string{bob.ID}},
		{"corp.example", []string{ann.ID, bob.ID}},
		{"%", []string{odd.ID}},
		{"0%_s", []string{odd.ID}},
		{"_", []string{odd.ID}},
		{"nobody", nil},
	}
	for _, c := range cases {
		page, err := s.Users(ctx, a.ID, licensing.Query{Text: c.text, Limit: 10})
		wantErr(t, "Users with text "+c.text, err, nil)
		var got []string
		for _, u := range page.Items {
			got = append(got, u.ID)
		}
		if !slices.Equal(got, c.want) || page.Total != len(c.want) {
			t.Errorf("text %q: got %v (total %d), want %v", c.text, got, page.Total, c.want)
		}
	}
	// With a filter, and after a replace changed the names.
	bob.DisplayName, bob.Doc, bob.Version = "Rob", json.RawMessage(`{"emails":[{"value":"rob@home.example"}]}`), 2
	wantErr(t, "ReplaceUser", s.ReplaceUser(ctx, bob, 1), nil)
	active := licensing.Compare{Attr: licensing.Attr{Path: []string{"active"}, Kind: licensing.KindBool}, Op: licensing.OpEq, Value: true}
	for text, want := range map[string]int{"stone": 0, "home.example": 1, "rob": 1} {
		page, err := s.Users(ctx, a.ID, licensing.Query{Text: text, Filter: active, Limit: 10})
		wantErr(t, "Users with text and filter", err, nil)
		if len(page.Items) != want || page.Total != want {
			t.Errorf("after replace, text %q: %d users (total %d), want %d", text, len(page.Items), page.Total, want)
		}
	}
	_, err := s.Groups(ctx, a.ID, licensing.Query{Text: "x", Limit: 1})
	wantErr(t, "Groups with text", err, licensing.ErrInvalid)
}
