package conformance

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/scimd/scimd/licensing"
)

// userMember and groupMember are the members a store returns for u and g.
func userMember(u licensing.User) licensing.Member {
	display := u.DisplayName
	if display == "" {
		display = u.UserName
	}
	return licensing.Member{ID: u.ID, Type: licensing.MemberUser, Display: display}
}

func groupMember(g licensing.Group) licensing.Member {
	return licensing.Member{ID: g.ID, Type: licensing.MemberGroup, Display: g.DisplayName}
}

func testGroupMembers(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	u1 := newUser(a.ID, "una@example.com")
	u1.DisplayName = "Una"
	createUser(t, s, u1)
	u2 := createUser(t, s, newUser(a.ID, "u2@example.com"))
	inner := createGroup(t, s, newGroup(a.ID, "Inner"))

	g := newGroup(a.ID, "Outer",
		member(u1.ID),
		licensing.Member{ID: u2.ID, Type: licensing.MemberGroup}, // a wrong type is corrected
		member(inner.ID),
		licensing.Member{ID: u1.ID, Type: licensing.MemberUser}, // duplicates collapse
	)
	g.ExternalID = "okta-g1"
	g.Doc = json.RawMessage(`{"urn:example:ext:1.0:Group":{"costCenter":"42"}}`)
	createGroup(t, s, g)

	got, err := s.Group(ctx, a.ID, g.ID)
	wantErr(t, "Group", err, nil)
	if got.AccountID != a.ID || got.ID != g.ID || got.DisplayName != "Outer" || got.ExternalID != "okta-g1" || got.Version != 1 {
		t.Errorf("Group = %+v, want %+v", got, g)
	}
	wantJSON(t, "group doc", got.Doc, g.Doc)
	wantTime(t, "group created", got.Created, g.Created)
	wantTime(t, "group lastModified", got.LastModified, g.LastModified)
	wantMembers(t, "Outer", got.Members, userMember(u1), userMember(u2), groupMember(inner))

	again, _ := s.Group(ctx, a.ID, g.ID)
	page, err := s.Groups(ctx, a.ID, licensing.Query{Limit: 10})
	wantErr(t, "Groups", err, nil)
	for _, listed := range page.Items {
		if listed.ID == g.ID && !slices.Equal(listed.Members, got.Members) {
			t.Errorf("Groups lists members %v, Group %v: want one stable order", listed.Members, got.Members)
		}
	}
	if !slices.Equal(again.Members, got.Members) {
		t.Errorf("members read twice come in different orders: %v, %v", got.Members, again.Members)
	}

	wantErr(t, "CreateGroup with a taken displayName in another case",
		s.CreateGroup(ctx, newGroup(a.ID, "OUTER")), licensing.ErrConflict)
	dupID := newGroup(a.ID, "Other")
	dupID.ID = g.ID
	wantErr(t, "CreateGroup with a taken id", s.CreateGroup(ctx, dupID), licensing.ErrConflict)
}

func testGroupInvalidMembers(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)
	u := createUser(t, s, newUser(a.ID, "u@example.com"))
	foreignUser := createUser(t, s, newUser(b.ID, "foreign@example.com"))
	foreignGroup := createGroup(t, s, newGroup(b.ID, "Foreign"))

	bad := newGroup(a.ID, "Bad", member(u.ID), member(newID()))
	wantErr(t, "CreateGroup with an unknown member", s.CreateGroup(ctx, bad), licensing.ErrInvalid)
	_, err := s.Group(ctx, a.ID, bad.ID)
	wantErr(t, "Group refused", err, licensing.ErrNotFound)
	wantErr(t, "CreateGroup with a user of another account",
		s.CreateGroup(ctx, newGroup(a.ID, "Bad", member(foreignUser.ID))), licensing.ErrInvalid)
	wantErr(t, "CreateGroup with a group of another account",
		s.CreateGroup(ctx, newGroup(a.ID, "Bad", member(foreignGroup.ID))), licensing.ErrInvalid)
	wantErr(t, "CreateGroup with an empty member id",
		s.CreateGroup(ctx, newGroup(a.ID, "Bad", member(""))), licensing.ErrInvalid)
	self := newGroup(a.ID, "Bad")
	self.Members = []licensing.Member{member(self.ID)}
	wantErr(t, "CreateGroup containing itself", s.CreateGroup(ctx, self), licensing.ErrInvalid)

	// Nothing of the refused groups was kept: the name is free.
	g := createGroup(t, s, newGroup(a.ID, "Bad", member(u.ID)))

	next := g
	next.Version = 2
	next.Members = []licensing.Member{member(u.ID), member(g.ID)}
	wantErr(t, "ReplaceGroup making the group its own member", s.ReplaceGroup(ctx, next, 1), licensing.ErrInvalid)
	next.Members = []licensing.Member{member(foreignUser.ID)}
	wantErr(t, "ReplaceGroup with a user of another account", s.ReplaceGroup(ctx, next, 1), licensing.ErrInvalid)
	next.DisplayName = "Renamed"
	next.Members = []licensing.Member{member(newID())}
	wantErr(t, "ReplaceGroup with an unknown member", s.ReplaceGroup(ctx, next, 1), licensing.ErrInvalid)
	got, err := s.Group(ctx, a.ID, g.ID)
	wantErr(t, "Group", err, nil)
	if got.Version != 1 || got.DisplayName != "Bad" {
		t.Errorf("refused replacements changed the group: %+v", got)
	}
	wantMembers(t, "Bad", got.Members, userMember(u))
}

func testGroupReplace(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	u1 := createUser(t, s, newUser(a.ID, "u1@example.com"))
	u2 := createUser(t, s, newUser(a.ID, "u2@example.com"))
	u3 := createUser(t, s, newUser(a.ID, "u3@example.com"))
	g := createGroup(t, s, newGroup(a.ID, "Team", member(u1.ID), member(u2.ID)))
	createGroup(t, s, newGroup(a.ID, "Taken"))

	next := g
	next.DisplayName = "Team Renamed"
	next.ExternalID = "ext-team"
	next.Doc = json.RawMessage(`{"note":"x"}`)
	next.Members = []licensing.Member{member(u2.ID), member(u3.ID)}
	next.LastModified = g.LastModified.Add(time.Minute)
	next.Version = 2
	wantErr(t, "ReplaceGroup", s.ReplaceGroup(ctx, next, 1), nil)
	got, err := s.Group(ctx, a.ID, g.ID)
	wantErr(t, "Group", err, nil)
	if got.DisplayName != "Team Renamed" || got.ExternalID != "ext-team" || got.Version != 2 {
		t.Errorf("Group after replace = %+v", got)
	}
	wantJSON(t, "group doc", got.Doc, next.Doc)
	wantTime(t, "created after replace", got.Created, g.Created)
	wantTime(t, "lastModified after replace", got.LastModified, next.LastModified)
	wantMembers(t, "replaced", got.Members, userMember(u2), userMember(u3))

	stale := next
	stale.Members = nil
	wantErr(t, "ReplaceGroup with an old version", s.ReplaceGroup(ctx, stale, 1), licensing.ErrStale)
	missing := newGroup(a.ID, "Missing")
	missing.Version = 2
	wantErr(t, "ReplaceGroup(unknown)", s.ReplaceGroup(ctx, missing, 1), licensing.ErrNotFound)
	taken := next
	taken.DisplayName = "TAKEN"
	taken.Version = 3
	wantErr(t, "ReplaceGroup to a taken displayName", s.ReplaceGroup(ctx, taken, 2), licensing.ErrConflict)

	empty := next
	empty.Members = nil
	empty.Version = 3
	wantErr(t, "ReplaceGroup removing every member", s.ReplaceGroup(ctx, empty, 2), nil)
	got, _ = s.Group(ctx, a.ID, g.ID)
	if len(got.Members) != 0 || got.Version != 3 || got.DisplayName != "Team Renamed" {
		t.Errorf("Group = %+v, want version 3 without members", got)
	}
}

func testGroupCrossAccount(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)
	u := createUser(t, s, newUser(a.ID, "u@example.com"))
	g := createGroup(t, s, newGroup(a.ID, "Mine", member(u.ID)))

	_, err := s.Group(ctx, b.ID, g.ID)
	wantErr(t, "Group from another account", err, licensing.ErrNotFound)
	other := g
	other.AccountID = b.ID
	other.Members = nil
	other.Version = 2
	wantErr(t, "ReplaceGroup from another account", s.ReplaceGroup(ctx, other, 1), licensing.ErrNotFound)
	wantErr(t, "DeleteGroup from another account", s.DeleteGroup(ctx, b.ID, g.ID, now()), licensing.ErrNotFound)
	page, err := s.Groups(ctx, b.ID, licensing.Query{Limit: 10})
	wantErr(t, "Groups of another account", err, nil)
	if page.Total != 0 {
		t.Errorf("Groups of another account found %d", page.Total)
	}
	got, err := s.Group(ctx, a.ID, g.ID)
	wantErr(t, "Group", err, nil)
	if got.Version != 1 {
		t.Errorf("group changed through another account: %+v", got)
	}
	wantMembers(t, "Mine", got.Members, userMember(u))
}

func testDeleteUserLeavesGroups(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	u1 := createUser(t, s, newUser(a.ID, "u1@example.com"))
	u2 := createUser(t, s, newUser(a.ID, "u2@example.com"))
	g1 := createGroup(t, s, newGroup(a.ID, "Both", member(u1.ID), member(u2.ID)))
	g2 := createGroup(t, s, newGroup(a.ID, "One", member(u1.ID)))
	g3 := createGroup(t, s, newGroup(a.ID, "Other", member(u2.ID)))

	wantErr(t, "DeleteUser", s.DeleteUser(ctx, a.ID, u1.ID, now()), nil)
	for _, c := range []struct {
		g       licensing.Group
		version int64
		members []licensing.Member
	}{
		{g1, 2, []licensing.Member{userMember(u2)}},
		{g2, 2, nil},
		{g3, 1, []licensing.Member{userMember(u2)}},
	} {
		got, err := s.Group(ctx, a.ID, c.g.ID)
		wantErr(t, "Group", err, nil)
		if got.Version != c.version {
			t.Errorf("group %s has version %d after the deletion, want %d", c.g.DisplayName, got.Version, c.version)
		}
		if got.LastModified.Before(c.g.LastModified) {
			t.Errorf("group %s lastModified went back to %v", c.g.DisplayName, got.LastModified)
		}
		wantMembers(t, c.g.DisplayName, got.Members, c.members...)
	}
	filter := licensing.Any{
		Attr: licensing.Attr{Path: []string{"members"}},
		Cond: licensing.Compare{Attr: licensing.Attr{Path: []string{"value"}, CaseExact: true}, Op: licensing.OpEq, Value: u1.ID},
	}
	page, err := s.Groups(ctx, a.ID, licensing.Query{Filter: filter, Limit: 10})
	wantErr(t, "Groups with the deleted member", err, nil)
	if page.Total != 0 {
		t.Errorf("%d groups still list the deleted user", page.Total)
	}
}

func testDeleteGroupLeavesGroups(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	u := createUser(t, s, newUser(a.ID, "u@example.com"))
	child := createGroup(t, s, newGroup(a.ID, "Child", member(u.ID)))
	parent := createGroup(t, s, newGroup(a.ID, "Parent", member(child.ID), member(u.ID)))

	wantErr(t, "DeleteGroup", s.DeleteGroup(ctx, a.ID, child.ID, now()), nil)
	_, err := s.Group(ctx, a.ID, child.ID)
	wantErr(t, "Group after delete", err, licensing.ErrNotFound)
	wantErr(t, "DeleteGroup again", s.DeleteGroup(ctx, a.ID, child.ID, now()), licensing.ErrNotFound)
	got, err := s.Group(ctx, a.ID, parent.ID)
	wantErr(t, "Group", err, nil)
	wantMembers(t, "Parent", got.Members, userMember(u))
	_, err = s.User(ctx, a.ID, u.ID)
	wantErr(t, "User of the deleted group", err, nil)
	// The name of a deleted group is free again.
	createGroup(t, s, newGroup(a.ID, "child"))
}

func testGroupsList(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	u1 := newUser(a.ID, "u1@example.com")
	u1.DisplayName = "User One"
	createUser(t, s, u1)
	u2 := createUser(t, s, newUser(a.ID, "u2@example.com"))
	g1 := createGroup(t, s, newGroup(a.ID, "G1", member(u1.ID)))
	g2 := createGroup(t, s, newGroup(a.ID, "G2", member(u1.ID), member(u2.ID), member(g1.ID)))
	g3 := createGroup(t, s, newGroup(a.ID, "G3"))

	page, err := s.Groups(ctx, a.ID, licensing.Query{Limit: 10})
	wantErr(t, "Groups", err, nil)
	if page.Total != 3 || len(page.Items) != 3 || page.Next != "" {
		t.Fatalf("Groups = %d of %d (next %q), want 3 of 3", len(page.Items), page.Total, page.Next)
	}
	want := map[string][]licensing.Member{
		g1.ID: {userMember(u1)},
		g2.ID: {userMember(u1), userMember(u2), groupMember(g1)},
		g3.ID: nil,
	}
	for i, g := range page.Items {
		if g.ID != []string{g1.ID, g2.ID, g3.ID}[i] {
			t.Errorf("Groups item %d is %s, want creation order", i, g.DisplayName)
		}
		wantMembers(t, g.DisplayName, g.Members, want[g.ID]...)
	}

	page, err = s.Groups(ctx, a.ID, licensing.Query{Limit: 10, WithoutMembers: true})
	wantErr(t, "Groups without members", err, nil)
	if page.Total != 3 || len(page.Items) != 3 {
		t.Fatalf("Groups without members = %d of %d, want 3 of 3", len(page.Items), page.Total)
	}
	for _, g := range page.Items {
		if len(g.Members) != 0 {
			t.Errorf("WithoutMembers listed members of %s: %v", g.DisplayName, g.Members)
		}
	}

	// Display follows the member's current names.
	renamed := u1
	renamed.DisplayName = ""
	renamed.UserName = "renamed@example.com"
	renamed.Version = 2
	wantErr(t, "ReplaceUser", s.ReplaceUser(ctx, renamed, 1), nil)
	g1Renamed := g1
	g1Renamed.DisplayName = "G1 renamed"
	g1Renamed.Members = []licensing.Member{member(u1.ID)}
	g1Renamed.Version = 2
	wantErr(t, "ReplaceGroup", s.ReplaceGroup(ctx, g1Renamed, 1), nil)
	got, err := s.Group(ctx, a.ID, g2.ID)
	wantErr(t, "Group", err, nil)
	wantMembers(t, "G2", got.Members, userMember(renamed), userMember(u2), groupMember(g1Renamed))
}
