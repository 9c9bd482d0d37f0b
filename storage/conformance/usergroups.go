package conformance

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/scimd/scimd/licensing"
)

// groupRef is the reference a store returns for g among a user's groups.
func groupRef(g licensing.Group) licensing.GroupRef {
	return licensing.GroupRef{ID: g.ID, Display: g.DisplayName}
}

// wantGroups fails unless refs are exactly want, ordered by group id in
// byte order.
func wantGroups(t *testing.T, what string, refs []licensing.GroupRef, want ...licensing.GroupRef) {
	t.Helper()
	want = slices.Clone(want)
	slices.SortFunc(want, func(a, b licensing.GroupRef) int { return strings.Compare(a.ID, b.ID) })
	if !slices.Equal(refs, want) {
		t.Errorf("%s groups = %v, want %v (ordered by id)", what, refs, want)
	}
}

// usersByID indexes a page of users by id.
func usersByID(us []licensing.User) map[string]licensing.User {
	out := make(map[string]licensing.User, len(us))
	for _, u := range us {
		out[u.ID] = u
	}
	return out
}

func testUserGroups(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	u := createUser(t, s, newUser(a.ID, "u@example.com"))
	other := createUser(t, s, newUser(a.ID, "other@example.com"))
	lonely := createUser(t, s, newUser(a.ID, "lonely@example.com"))

	// Ids whose byte order differs from the order of most collations.
	gb := newGroup(a.ID, "Beta", member(u.ID), member(other.ID))
	gb.ID = "g-B"
	createGroup(t, s, gb)
	ga := newGroup(a.ID, "alpha", member(u.ID))
	ga.ID = "g-a"
	createGroup(t, s, ga)
	gu := newGroup(a.ID, "Underscore", member(other.ID))
	gu.ID = "g-_"
	createGroup(t, s, gu)
	// Nesting is not a direct membership: u is in parent only through ga.
	parent := createGroup(t, s, newGroup(a.ID, "Parent", member(ga.ID)))

	got, err := s.User(ctx, a.ID, u.ID)
	wantErr(t, "User", err, nil)
	wantGroups(t, "u", got.Groups, groupRef(gb), groupRef(ga))
	got, err = s.User(ctx, a.ID, lonely.ID)
	wantErr(t, "User", err, nil)
	wantGroups(t, "lonely", got.Groups)

	page, err := s.Users(ctx, a.ID, licensing.Query{Limit: 10})
	wantErr(t, "Users", err, nil)
	listed := usersByID(page.Items)
	wantGroups(t, "listed u", listed[u.ID].Groups, groupRef(gb), groupRef(ga))
	wantGroups(t, "listed other", listed[other.ID].Groups, groupRef(gb), groupRef(gu))
	wantGroups(t, "listed lonely", listed[lonely.ID].Groups)

	page, err = s.Users(ctx, a.ID, licensing.Query{Limit: 10, WithoutGroups: true})
	wantErr(t, "Users without groups", err, nil)
	if page.Total != 3 || len(page.Items) != 3 {
		t.Fatalf("Users without groups = %d of %d, want 3 of 3", len(page.Items), page.Total)
	}
	for _, listed := range page.Items {
		if len(listed.Groups) != 0 {
			t.Errorf("WithoutGroups listed groups of %s: %v", listed.UserName, listed.Groups)
		}
	}

	// Writes ignore Groups.
	next := u
	next.DisplayName = "U"
	next.Groups = []licensing.GroupRef{{ID: parent.ID, Display: "Parent"}, {ID: "nonexistent"}}
	next.Version = 2
	wantErr(t, "ReplaceUser with groups", s.ReplaceUser(ctx, next, 1), nil)
	fresh := newUser(a.ID, "fresh@example.com")
	fresh.Groups = []licensing.GroupRef{{ID: gb.ID}}
	createUser(t, s, fresh)
	got, _ = s.User(ctx, a.ID, u.ID)
	wantGroups(t, "u after ReplaceUser", got.Groups, groupRef(gb), groupRef(ga))
	got, _ = s.User(ctx, a.ID, fresh.ID)
	wantGroups(t, "user created with groups", got.Groups)
	g, _ := s.Group(ctx, a.ID, gb.ID)
	wantMembers(t, "Beta", g.Members, userMember(next), userMember(other))

	// Display follows the group's current name, for the members it had
	// and the one the renaming write adds.
	renamed := ga
	renamed.DisplayName = `Alpha "renamed" \ é	`
	renamed.Members = []licensing.Member{member(u.ID), member(other.ID)}
	renamed.Version = 2
	wantErr(t, "ReplaceGroup renaming", s.ReplaceGroup(ctx, renamed, 1), nil)
	got, _ = s.User(ctx, a.ID, u.ID)
	wantGroups(t, "u after rename", got.Groups, groupRef(gb), groupRef(renamed))
	got, _ = s.User(ctx, a.ID, other.ID)
	wantGroups(t, "other after rename", got.Groups, groupRef(gb), groupRef(gu), groupRef(renamed))
	page, err = s.Users(ctx, a.ID, licensing.Query{Limit: 10})
	wantErr(t, "Users", err, nil)
	wantGroups(t, "listed u after rename", usersByID(page.Items)[u.ID].Groups, groupRef(gb), groupRef(renamed))

	// Removal through ReplaceGroup and DeleteGroup.
	without := gb
	without.Members = []licensing.Member{member(other.ID)}
	without.Version = 2
	wantErr(t, "ReplaceGroup removing u", s.ReplaceGroup(ctx, without, 1), nil)
	got, _ = s.User(ctx, a.ID, u.ID)
	wantGroups(t, "u after removal", got.Groups, groupRef(renamed))
	wantErr(t, "DeleteGroup", s.DeleteGroup(ctx, a.ID, ga.ID, now()), nil)
	got, _ = s.User(ctx, a.ID, u.ID)
	wantGroups(t, "u after the group's deletion", got.Groups)
	page, err = s.Users(ctx, a.ID, licensing.Query{Limit: 10})
	wantErr(t, "Users", err, nil)
	listed = usersByID(page.Items)
	wantGroups(t, "listed u at the end", listed[u.ID].Groups)
	wantGroups(t, "listed other at the end", listed[other.ID].Groups, groupRef(without), groupRef(gu))
}

// testUserGroupsMemberType checks that a user's groups are those listing
// the user as a user: a group sharing the user's id (ids are chosen by
// the caller) is a member of its own.
func testUserGroupsMemberType(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	u := createUser(t, s, newUser(a.ID, "twin@example.com"))
	twin := newGroup(a.ID, "Twin")
	twin.ID = u.ID
	createGroup(t, s, twin)
	holdsGroup := createGroup(t, s, newGroup(a.ID, "Holds the group",
		licensing.Member{ID: u.ID, Type: licensing.MemberGroup}))
	holdsUser := createGroup(t, s, newGroup(a.ID, "Holds the user",
		licensing.Member{ID: u.ID, Type: licensing.MemberUser}))

	got, err := s.User(ctx, a.ID, u.ID)
	wantErr(t, "User", err, nil)
	wantGroups(t, "twin", got.Groups, groupRef(holdsUser))
	page, err := s.Users(ctx, a.ID, licensing.Query{
		Filter: anyOf(groups, cmp(groupValue, licensing.OpEq, holdsGroup.ID)), Limit: 10})
	wantErr(t, "Users in the group holding the group", err, nil)
	if page.Total != 0 {
		t.Errorf("a group member counts as a user member: %v", userIDs(page.Items))
	}
}

func testUserGroupFilters(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	names := map[string]string{}
	user := func(name string) licensing.User {
		u := createUser(t, s, newUser(a.ID, name+"@example.com"))
		names[u.ID] = name
		return u
	}
	ann, bob, cid := user("ann"), user("bob"), user("cid")
	user("dee")
	admins := createGroup(t, s, newGroup(a.ID, "Admins", member(ann.ID)))
	staff := createGroup(t, s, newGroup(a.ID, "Staff", member(ann.ID), member(bob.ID), member(admins.ID)))
	nested := createGroup(t, s, newGroup(a.ID, "Nested", member(staff.ID)))
	exCid := createGroup(t, s, newGroup(a.ID, "Former", member(cid.ID)))
	gone := exCid
	gone.Members, gone.Version = nil, 2
	wantErr(t, "ReplaceGroup emptying", s.ReplaceGroup(ctx, gone, 1), nil)
	groupsValuePath := attr(licensing.KindString, true, "groups", "value")

	cases := []struct {
		name string
		cond licensing.Cond
		want string
	}{
		{"groups.value eq", anyOf(groups, cmp(groupValue, licensing.OpEq, admins.ID)), "ann"},
		{"groups.value eq another", anyOf(groups, cmp(groupValue, licensing.OpEq, staff.ID)), "ann bob"},
		{"groups.value of a group holding only groups", anyOf(groups, cmp(groupValue, licensing.OpEq, nested.ID)), ""},
		{"groups.value of an emptied group", anyOf(groups, cmp(groupValue, licensing.OpEq, exCid.ID)), ""},
		{"groups.value as a path", cmp(groupsValuePath, licensing.OpEq, admins.ID), "ann"},
		{"groups.value ne holds for some group", anyOf(groups, cmp(groupValue, licensing.OpNe, admins.ID)), "ann bob"},
		{"groups.value and type", anyOf(groups, and(cmp(groupValue, licensing.OpEq, staff.ID), cmp(groupType, licensing.OpEq, "direct"))), "ann bob"},
		{"groups.type direct", anyOf(groups, cmp(groupType, licensing.OpEq, "direct")), "ann bob"},
		{"groups.type case-insensitive", anyOf(groups, cmp(groupTypeFold, licensing.OpEq, "DIRECT")), "ann bob"},
		{"groups.type indirect", anyOf(groups, cmp(groupType, licensing.OpEq, "indirect")), ""},
		{"groups.type sw", anyOf(groups, cmp(groupType, licensing.OpSw, "dir")), "ann bob"},
		{"groups.type gt", anyOf(groups, cmp(groupType, licensing.OpGt, "a")), "ann bob"},
		{"groups.type lt", anyOf(groups, cmp(groupType, licensing.OpLt, "a")), ""},
		{"groups.value sw", anyOf(groups, cmp(groupValue, licensing.OpSw, admins.ID[:13])), "ann"},
		{"groups pr", pr(groups), "ann bob"},
		{"not groups pr", not(pr(groups)), "cid dee"},
		{"not in a group", not(anyOf(groups, cmp(groupValue, licensing.OpEq, admins.ID))), "bob cid dee"},
		{"in one group or another", or(anyOf(groups, cmp(groupValue, licensing.OpEq, admins.ID)),
			cmp(userName, licensing.OpEq, "cid@example.com")), "ann cid"},
		{"in both groups", and(anyOf(groups, cmp(groupValue, licensing.OpEq, admins.ID)),
			anyOf(groups, cmp(groupValue, licensing.OpEq, staff.ID))), "ann"},
	}
	for _, c := range cases {
		page, err := s.Users(ctx, a.ID, licensing.Query{Filter: c.cond, Limit: 100})
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		var got []string
		for _, u := range page.Items {
			got = append(got, names[u.ID])
		}
		slices.Sort(got)
		if want := set(c.want); !slices.Equal(got, want) || page.Total != len(want) {
			t.Errorf("%s: got %v (total %d), want %v", c.name, got, page.Total, want)
		}
	}

	// A filtered listing still fills the groups of what it lists.
	page, err := s.Users(ctx, a.ID, licensing.Query{Filter: anyOf(groups, cmp(groupValue, licensing.OpEq, admins.ID)), Limit: 10})
	wantErr(t, "Users in Admins", err, nil)
	if len(page.Items) == 1 {
		wantGroups(t, "ann", page.Items[0].Groups, groupRef(admins), groupRef(staff))
	}

	invalid := []struct {
		name string
		cond licensing.Cond
	}{
		{"groups.display", anyOf(groups, cmp(attr(licensing.KindString, false, "display"), licensing.OpEq, "Admins"))},
		{"groups.$ref", anyOf(groups, cmp(attr(licensing.KindString, true, "$ref"), licensing.OpEq, "x"))},
		{"groups.display as a path", cmp(attr(licensing.KindString, false, "groups", "display"), licensing.OpEq, "Admins")},
		{"groups eq", cmp(groups, licensing.OpEq, "x")},
		{"groups.value as a boolean", anyOf(groups, cmp(attr(licensing.KindBool, false, "value"), licensing.OpEq, true))},
		{"any inside groups", anyOf(groups, anyOf(emails, cmp(emailValue, licensing.OpEq, "x")))},
	}
	for _, c := range invalid {
		if _, err := s.Users(ctx, a.ID, licensing.Query{Filter: c.cond, Limit: 10}); !errors.Is(err, licensing.ErrInvalid) {
			t.Errorf("%s: error %v, want ErrInvalid", c.name, err)
		}
	}
	sortBy := attr(licensing.KindString, true, "groups", "value")
	if _, err := s.Users(ctx, a.ID, licensing.Query{SortBy: &sortBy, Limit: 10}); !errors.Is(err, licensing.ErrInvalid) {
		t.Errorf("sorting by groups.value: error %v, want ErrInvalid", err)
	}
}

func testUserGroupsCrossAccount(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)
	mine := createUser(t, s, newUser(a.ID, "mine@example.com"))
	g := createGroup(t, s, newGroup(a.ID, "Mine", member(mine.ID)))
	// A user of another account with the same id (ids are chosen by the
	// caller) and a group of that account with the same id and name.
	theirs := newUser(b.ID, "theirs@example.com")
	theirs.ID = mine.ID
	createUser(t, s, theirs)
	twin := newGroup(b.ID, "Mine")
	twin.ID = g.ID
	createGroup(t, s, twin)

	got, err := s.User(ctx, b.ID, theirs.ID)
	wantErr(t, "User of the other account", err, nil)
	wantGroups(t, "theirs", got.Groups)
	page, err := s.Users(ctx, b.ID, licensing.Query{Limit: 10})
	wantErr(t, "Users of the other account", err, nil)
	for _, u := range page.Items {
		wantGroups(t, "listed theirs", u.Groups)
	}
	page, err = s.Users(ctx, b.ID, licensing.Query{Filter: anyOf(groups, cmp(groupValue, licensing.OpEq, g.ID)), Limit: 10})
	wantErr(t, "Users of the other account by group", err, nil)
	if page.Total != 0 {
		t.Errorf("a filter on another account's group found %d users", page.Total)
	}
	page, err = s.Users(ctx, b.ID, licensing.Query{Filter: pr(groups), Limit: 10})
	wantErr(t, "Users of the other account with groups", err, nil)
	if page.Total != 0 {
		t.Errorf("groups pr in the other account found %d users", page.Total)
	}
	got, err = s.User(ctx, a.ID, mine.ID)
	wantErr(t, "User", err, nil)
	wantGroups(t, "mine", got.Groups, groupRef(g))

	// Adding the other account's user to its twin group leaves mine alone.
	twinNext := twin
	twinNext.Members = []licensing.Member{member(theirs.ID)}
	twinNext.Version = 2
	wantErr(t, "ReplaceGroup in the other account", s.ReplaceGroup(ctx, twinNext, 1), nil)
	got, _ = s.User(ctx, b.ID, theirs.ID)
	wantGroups(t, "theirs after joining", got.Groups, groupRef(twin))
	got, _ = s.User(ctx, a.ID, mine.ID)
	wantGroups(t, "mine after the other joined", got.Groups, groupRef(g))
	wantErr(t, "DeleteGroup in the other account", s.DeleteGroup(ctx, b.ID, twin.ID, now()), nil)
	got, _ = s.User(ctx, a.ID, mine.ID)
	wantGroups(t, "mine after the other's group went", got.Groups, groupRef(g))
}
