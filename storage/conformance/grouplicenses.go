package conformance

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/licensing"
)

// licensed returns a group of the account giving the products as given
// (product, license pairs), with the members, not yet stored.
func licensed(accountID, name string, members []licensing.Member, licenses ...string) licensing.Group {
	g := newGroup(accountID, name, members...)
	g.Assignments = newAgent(accountID, "x", licenses...).Assignments
	return g
}

// userMembers names users as members.
func userMembers(us ...licensing.User) []licensing.Member {
	out := make([]licensing.Member, len(us))
	for i, u := range us {
		out[i] = licensing.Member{ID: u.ID, Type: licensing.MemberUser}
	}
	return out
}

// licenseText renders a user's licenses of the product as
// "license/status/source,source" strings.
func licenseText(t *testing.T, s licensing.Store, accountID, userID, productID string) string {
	t.Helper()
	u, err := s.User(context.Background(), accountID, userID)
	wantErr(t, "User", err, nil)
	var out []string
	for _, l := range u.Licenses {
		if l.ProductID == productID {
			out = append(out, fmt.Sprintf("%s/%s/%s", l.License, l.Status, strings.Join(l.Sources, ",")))
		}
	}
	return strings.Join(out, " ")
}

// wantLicense fails unless the user's licenses of the product render as
// want (see licenseText).
func wantLicense(t *testing.T, s licensing.Store, accountID string, u licensing.User, productID, want string) {
	t.Helper()
	if got := licenseText(t, s, accountID, u.ID, productID); got != want {
		t.Errorf("%s licenses of %s = %q, want %q", u.UserName, productID, got, want)
	}
}

// regroup stores the group changed by change, one version on.
func regroup(t *testing.T, s licensing.Store, g *licensing.Group, change func(g *licensing.Group)) {
	t.Helper()
	next := *g
	next.Members = slices.Clone(g.Members)
	change(&next)
	next.Version = g.Version + 1
	next.LastModified = now()
	if err := s.ReplaceGroup(context.Background(), next, g.Version); err != nil {
		t.Fatalf("ReplaceGroup %q: %v", g.DisplayName, err)
	}
	*g = next
}

// replaceUserRetrying rewrites the account's user with change applied,
// again while its version moves on under it (as a racing writer must).
func replaceUserRetrying(s licensing.Store, accountID, id string, change func(*licensing.User)) error {
	ctx := context.Background()
	for {
		u, err := s.User(ctx, accountID, id)
		if err != nil {
			return err
		}
		next := u
		next.Version++
		next.LastModified = now()
		next.Assignments = maps.Clone(u.Assignments)
		change(&next)
		if err := s.ReplaceUser(ctx, next, u.Version); !errors.Is(err, licensing.ErrStale) {
			return err
		}
	}
}

// replaceGroupRetrying rewrites the account's group with change applied,
// again while its version moves on under it.
func replaceGroupRetrying(s licensing.Store, accountID, id string, change func(*licensing.Group)) error {
	ctx := context.Background()
	for {
		g, err := s.Group(ctx, accountID, id)
		if err != nil {
			return err
		}
		next := g
		next.Version++
		next.LastModified = now()
		change(&next)
		if err := s.ReplaceGroup(ctx, next, g.Version); !errors.Is(err, licensing.ErrStale) {
			return err
		}
	}
}

// usersByIDOrder creates n users of the account, named after prefix, and
// returns them ordered by id (the queue order of users made eligible by
// one write).
func usersByIDOrder(t *testing.T, s licensing.Store, accountID, prefix string, n int) []licensing.User {
	t.Helper()
	us := make([]licensing.User, n)
	for i := range us {
		us[i] = createUser(t, s, newUser(accountID, fmt.Sprintf("%s%d@example.com", prefix, i)))
	}
	slices.SortFunc(us, func(a, b licensing.User) int { return strings.Compare(a.ID, b.ID) })
	return us
}

// testGroupLicenses: group licenses are stored and read back, members
// inherit them, direct beats inherited, named beats concurrent with every
// group of the strongest license listed, and the user's Assignments stay
// the direct ones.
func testGroupLicenses(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	setPlan(t, s, a.ID, productV5, 10, 10)
	ann := createUser(t, s, newUser(a.ID, "ann@example.com"))
	bob := createUser(t, s, newAgent(a.ID, "bob@example.com", productV5, "concurrent"))
	tier1 := createGroup(t, s, licensed(a.ID, "Tier 1", userMembers(ann, bob), productV5, "concurrent", productDesk, "named"))
	got, err := s.Group(ctx, a.ID, tier1.ID)
	wantErr(t, "Group", err, nil)
	if got.Assignments.Of(productV5) != licensing.LicenseConcurrent || got.Assignments.Of(productDesk) != licensing.LicenseNamed {
		t.Errorf("group assignments = %v", got.Assignments)
	}
	wantLicense(t, s, a.ID, ann, productV5, "concurrent/active/"+tier1.ID)
	wantLicense(t, s, a.ID, bob, productV5, "concurrent/active/direct")
	tier2 := createGroup(t, s, licensed(a.ID, "Tier 2", userMembers(ann, bob), productV5, "named"))
	wantLicense(t, s, a.ID, ann, productV5, "named/active/"+tier2.ID)
	wantLicense(t, s, a.ID, bob, productV5, "concurrent/active/direct")
	tier3 := createGroup(t, s, licensed(a.ID, "Tier 3", userMembers(ann), productV5, "named"))
	both := []string{tier2.ID, tier3.ID}
	slices.Sort(both)
	wantLicense(t, s, a.ID, ann, productV5, "named/active/"+strings.Join(both, ","))
	if u := checkSeats(t, s, a.ID, productV5); u.NamedAssigned != 1 {
		t.Errorf("%d named seats taken, want 1 (ann's, counted once)", u.NamedAssigned)
	}
	checkSeats(t, s, a.ID, productDesk)
	annNow, err := s.User(ctx, a.ID, ann.ID)
	wantErr(t, "User", err, nil)
	if len(annNow.Assignments) != 0 {
		t.Errorf("ann's direct assignments = %v, want none (all inherited)", annNow.Assignments)
	}
	page, err := s.Groups(ctx, a.ID, licensing.Query{Limit: 10})
	wantErr(t, "Groups", err, nil)
	for _, g := range page.Items {
		if len(g.Assignments) == 0 {
			t.Errorf("listed group %s without its assignments", g.DisplayName)
		}
	}
	// Removing the group's product leaves the other source.
	regroup(t, s, &tier2, func(g *licensing.Group) { g.Assignments = nil })
	wantLicense(t, s, a.ID, ann, productV5, "named/active/"+tier3.ID)
	wantErr(t, "DeleteGroup", s.DeleteGroup(ctx, a.ID, tier3.ID, now()), nil)
	wantLicense(t, s, a.ID, ann, productV5, "concurrent/active/"+tier1.ID)
	if u := checkSeats(t, s, a.ID, productV5); u.NamedAssigned != 0 {
		t.Errorf("%d named seats taken, want 0", u.NamedAssigned)
	}
	// Deactivated users hold nothing; reactivated, they inherit again.
	ann = annNow
	off := replaced(ann, func(u *licensing.User) { u.Active = false })
	wantErr(t, "deactivate", s.ReplaceUser(ctx, off, ann.Version), nil)
	wantLicense(t, s, a.ID, ann, productV5, "")
	on := replaced(off, func(u *licensing.User) { u.Active = true })
	wantErr(t, "reactivate", s.ReplaceUser(ctx, on, off.Version), nil)
	wantLicense(t, s, a.ID, ann, productV5, "concurrent/active/"+tier1.ID)
}

// testNestedGroupLicenses: licenses reach the users of nested groups,
// through a cycle too, and leave when the nesting goes.
func testNestedGroupLicenses(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	setPlan(t, s, a.ID, productV5, 10, 10)
	ann := createUser(t, s, newUser(a.ID, "ann@example.com"))
	inner := createGroup(t, s, newGroup(a.ID, "Inner", userMembers(ann)...))
	outer := createGroup(t, s, licensed(a.ID, "Outer", []licensing.Member{{ID: inner.ID, Type: licensing.MemberGroup}}, productV5, "named"))
	wantLicense(t, s, a.ID, ann, productV5, "named/active/"+outer.ID)
	// A cycle: Inner in Outer, Outer in Inner.
	regroup(t, s, &inner, func(g *licensing.Group) {
		g.Members = append(g.Members, licensing.Member{ID: outer.ID, Type: licensing.MemberGroup})
		g.Assignments = licensing.Assignments{productDesk: licensing.LicenseConcurrent}
	})
	wantLicense(t, s, a.ID, ann, productV5, "named/active/"+outer.ID)
	wantLicense(t, s, a.ID, ann, productDesk, "concurrent/active/"+inner.ID)
	bob := createUser(t, s, newUser(a.ID, "bob@example.com"))
	regroup(t, s, &outer, func(g *licensing.Group) { g.Members = append(g.Members, userMembers(bob)...) })
	// Bob reaches Inner's license through the cycle.
	wantLicense(t, s, a.ID, bob, productDesk, "concurrent/active/"+inner.ID)
	// Inner leaves Outer: ann loses Outer's license.
	regroup(t, s, &outer, func(g *licensing.Group) { g.Members = userMembers(bob) })
	wantLicense(t, s, a.ID, ann, productV5, "")
	wantLicense(t, s, a.ID, bob, productV5, "named/active/"+outer.ID)
	wantLicense(t, s, a.ID, bob, productDesk, "concurrent/active/"+inner.ID)
	wantErr(t, "DeleteGroup", s.DeleteGroup(ctx, a.ID, inner.ID, now()), nil)
	wantLicense(t, s, a.ID, bob, productDesk, "")
	wantLicense(t, s, a.ID, ann, productDesk, "")
	checkSeats(t, s, a.ID, productV5)
}

// testPendingNamedLicenses: a group grant never fails for lack of named
// seats; the members left without one are pending in join order (by user
// id within one write), with a concurrent license meanwhile when a group
// gives one, and are promoted when a seat frees (a member removed, a
// named user deactivated or deleted) or the plan grows. A direct named
// write still fails.
func testPendingNamedLicenses(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	setPlan(t, s, a.ID, productV5, 2, 10)
	first := usersByIDOrder(t, s, a.ID, "u", 4)
	named := createGroup(t, s, licensed(a.ID, "Named", userMembers(first...), productV5, "named"))
	shared := createGroup(t, s, licensed(a.ID, "Shared", userMembers(first[3]), productV5, "concurrent"))
	wantLicense(t, s, a.ID, first[0], productV5, "named/active/"+named.ID)
	wantLicense(t, s, a.ID, first[1], productV5, "named/active/"+named.ID)
	wantLicense(t, s, a.ID, first[2], productV5, "named/pending/"+named.ID)
	wantLicense(t, s, a.ID, first[3], productV5, "named/pending/"+named.ID+" concurrent/active/"+shared.ID)
	if u := checkSeats(t, s, a.ID, productV5); u.NamedAssigned != 2 {
		t.Fatalf("%d named seats taken, want 2", u.NamedAssigned)
	}
	// Join order across writes: late joins after the two pending.
	late := createUser(t, s, newUser(a.ID, "late@example.com"))
	regroup(t, s, &named, func(g *licensing.Group) { g.Members = append(g.Members, userMembers(late)...) })
	wantLicense(t, s, a.ID, late, productV5, "named/pending/"+named.ID)

	// A direct named write fails with the numbers.
	direct := newAgent(a.ID, "direct@example.com", productV5, "named")
	var full *licensing.NamedSeatsExhaustedError
	if err := s.CreateUser(ctx, direct); !errors.As(err, &full) || full.Assigned != 2 || full.Total != 2 {
		t.Errorf("direct named CreateUser with the seats taken: %v", err)
	}

	// A member removed frees a seat: the first pending gets it.
	regroup(t, s, &named, func(g *licensing.Group) {
		g.Members = slices.DeleteFunc(g.Members, func(m licensing.Member) bool { return m.ID == first[0].ID })
	})
	wantLicense(t, s, a.ID, first[0], productV5, "")
	wantLicense(t, s, a.ID, first[2], productV5, "named/active/"+named.ID)
	wantLicense(t, s, a.ID, first[3], productV5, "named/pending/"+named.ID+" concurrent/active/"+shared.ID)

	// A named user deactivated: the next pending is promoted, its
	// concurrent license meanwhile gone.
	u1, err := s.User(ctx, a.ID, first[1].ID)
	wantErr(t, "User", err, nil)
	wantErr(t, "deactivate", s.ReplaceUser(ctx, replaced(u1, func(u *licensing.User) { u.Active = false }), u1.Version), nil)
	wantLicense(t, s, a.ID, first[3], productV5, "named/active/"+named.ID)
	wantLicense(t, s, a.ID, late, productV5, "named/pending/"+named.ID)

	// The plan grows: late is promoted.
	setPlan(t, s, a.ID, productV5, 3, 10)
	wantLicense(t, s, a.ID, late, productV5, "named/active/"+named.ID)
	// Reactivated, u1 waits at the back; a deletion frees a seat for them.
	u1, _ = s.User(ctx, a.ID, first[1].ID)
	wantErr(t, "reactivate", s.ReplaceUser(ctx, replaced(u1, func(u *licensing.User) { u.Active = true }), u1.Version), nil)
	wantLicense(t, s, a.ID, first[1], productV5, "named/pending/"+named.ID)
	wantErr(t, "DeleteUser", s.DeleteUser(ctx, a.ID, late.ID, now()), nil)
	wantLicense(t, s, a.ID, first[1], productV5, "named/active/"+named.ID)
	// The group loses the product: every seat frees, nobody is pending.
	named, err = s.Group(ctx, a.ID, named.ID) // the deletion moved it on
	wantErr(t, "Group", err, nil)
	regroup(t, s, &named, func(g *licensing.Group) { g.Assignments = nil })
	if u := checkSeats(t, s, a.ID, productV5); u.NamedAssigned != 0 {
		t.Errorf("%d named seats taken after the group lost the product, want 0", u.NamedAssigned)
	}
	wantLicense(t, s, a.ID, first[3], productV5, "concurrent/active/"+shared.ID)
	// Now the direct write finds a seat.
	createUser(t, s, direct)
	checkSeats(t, s, a.ID, productV5)
}

// testGroupRemovalEndsSessions: a user removed from the last group giving
// a product loses it, and their sessions of it end as deprovisioned in
// the same write; a user keeping it through another group keeps them.
func testGroupRemovalEndsSessions(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	setPlan(t, s, a.ID, productV5, 0, 10)
	ann := createUser(t, s, newUser(a.ID, "ann@example.com"))
	bob := createUser(t, s, newUser(a.ID, "bob@example.com"))
	g1 := createGroup(t, s, licensed(a.ID, "G1", userMembers(ann, bob), productV5, "concurrent"))
	createGroup(t, s, licensed(a.ID, "G2", userMembers(bob), productV5, "concurrent"))
	annSess := startSession(t, s, a.ID, ann.ID, productV5, now())
	bobSess := startSession(t, s, a.ID, bob.ID, productV5, now())
	wantUsage(t, s, a.ID, productV5, 0, 2)
	regroup(t, s, &g1, func(g *licensing.Group) { g.Members = nil })
	_, err := s.TouchSession(ctx, a.ID, ann.ID, annSess.ID, false, now(), now().Add(time.Hour))
	wantEnded(t, "ann's session after leaving the licensing group", err, licensing.EndedByDeprovision)
	_, err = s.TouchSession(ctx, a.ID, bob.ID, bobSess.ID, false, now(), now().Add(time.Hour))
	wantErr(t, "bob's session (still licensed by G2)", err, nil)
	wantUsage(t, s, a.ID, productV5, 0, 1)
	var ne *licensing.NotEntitledError
	if err := s.StartSession(ctx, newSession(a.ID, ann.ID, productV5, now()), ""); !errors.As(err, &ne) {
		t.Errorf("ann starting a session without a license: %v", err)
	}
	checkSeats(t, s, a.ID, productV5)
}

// testConcurrentGroupLicensing races membership changes of several named
// groups (and plan growth) for few named seats: named licenses in force
// never exceed the plan, the counter agrees with the licenses, and the
// pending users are promoted in join order once seats free.
func testConcurrentGroupLicensing(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	const seats, groups, perGroup = 3, 4, 5
	setPlan(t, s, a.ID, productV5, seats, 0)
	gs := make([]licensing.Group, groups)
	members := make([][]licensing.User, groups)
	for i := range gs {
		gs[i] = createGroup(t, s, licensed(a.ID, fmt.Sprintf("G%d", i), nil, productV5, "named"))
		for j := range perGroup {
			members[i] = append(members[i], createUser(t, s, newUser(a.ID, fmt.Sprintf("g%du%d@example.com", i, j))))
		}
	}
	warm(t, s, a.ID, groups)
	for round := range 3 {
		errs := raceN(groups, func(i int) error {
			return replaceGroupRetrying(s, a.ID, gs[i].ID, func(g *licensing.Group) {
				if round%2 == 0 {
					g.Members = userMembers(members[i]...)
				} else {
					g.Members = userMembers(members[i][:1]...)
				}
			})
		})
		for i, err := range errs {
			wantErr(t, fmt.Sprintf("round %d: group %d", round, i), err, nil)
		}
		u := checkSeats(t, s, a.ID, productV5)
		if u.NamedAssigned != seats {
			t.Errorf("round %d: %d named seats taken, want all %d", round, u.NamedAssigned, seats)
		}
	}
	// Every group full again (round 2); pending users are promoted in
	// join order as the plan grows one seat at a time.
	page, err := s.Users(ctx, a.ID, licensing.Query{Limit: 1000, WithoutGroups: true})
	wantErr(t, "Users", err, nil)
	pending := 0
	for _, u := range page.Items {
		if slices.ContainsFunc(u.Licenses, func(l licensing.License) bool { return l.Status == licensing.LicensePending }) {
			pending++
		}
	}
	if pending != groups*perGroup-seats {
		t.Fatalf("%d users pending, want %d", pending, groups*perGroup-seats)
	}
	// The pending users of the first group to be written in round 2 are
	// ahead of any other group's; the plan growing by one promotes the
	// one at the head of the queue, whoever it is, and never skips.
	for n := seats + 1; n <= seats+3; n++ {
		setPlan(t, s, a.ID, productV5, n, 0)
		if u := checkSeats(t, s, a.ID, productV5); u.NamedAssigned != n {
			t.Errorf("plan of %d: %d named seats taken", n, u.NamedAssigned)
		}
	}
}

// testLicenseFilters: users are selected by their licenses in force and
// pending, in the store's query language: Any over [LicensingURN,
// licenses] with conditions on product, license, status and reason, and
// comparisons of licenses' sub-attributes.
func testLicenseFilters(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	setPlan(t, s, a.ID, productV5, 1, 10)
	first := usersByIDOrder(t, s, a.ID, "f", 3)
	createGroup(t, s, licensed(a.ID, "Named", userMembers(first...), productV5, "named"))
	desk := createUser(t, s, newAgent(a.ID, "desk@example.com", productDesk, "concurrent"))
	licenses := []string{licensing.LicensingURN, licensing.LicensesAttr}
	field := func(name, value string) licensing.Compare {
		return licensing.Compare{Attr: licensing.Attr{Path: []string{name}}, Op: licensing.OpEq, Value: value}
	}
	for _, c := range []struct {
		what string
		cond licensing.Cond
		want []licensing.User
	}{
		{"pending for v5", licensing.Any{Attr: licensing.Attr{Path: licenses},
			Cond: licensing.And{field("product", productV5), field("status", "pending")}}, first[1:]},
		{"reason", licensing.Any{Attr: licensing.Attr{Path: licenses},
			Cond: field("reason", licensing.ReasonNamedSeatsExhausted)}, first[1:]},
		{"licenses.license eq named", licensing.Compare{Attr: licensing.Attr{Path: append(licenses, "license")},
			Op: licensing.OpEq, Value: "named"}, first},
		{"active concurrent", licensing.Any{Attr: licensing.Attr{Path: licenses},
			Cond: licensing.And{field("license", "concurrent"), field("status", "active")}}, []licensing.User{desk}},
		{"licenses pr", licensing.Compare{Attr: licensing.Attr{Path: licenses}, Op: licensing.OpPr}, append(slices.Clone(first), desk)},
		{"no license", licensing.Not{Cond: licensing.Compare{Attr: licensing.Attr{Path: licenses}, Op: licensing.OpPr}}, nil},
	} {
		page, err := s.Users(ctx, a.ID, licensing.Query{Filter: c.cond, Limit: 100, WithoutGroups: true})
		wantErr(t, c.what, err, nil)
		got, want := userIDs(page.Items), userIDs(c.want)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: users %v, want %v", c.what, got, want)
		}
	}
	_, err := s.Users(ctx, a.ID, licensing.Query{Limit: 10, Filter: licensing.Any{Attr: licensing.Attr{Path: licenses},
		Cond: field("sources", "direct")}})
	wantErr(t, "filter on licenses.sources", err, licensing.ErrInvalid)
}

// testUserAndGroupWritesRace races every kind of write that touches named
// seats at once: users created with a direct named license, direct named
// licenses given and taken, users deactivated and reactivated, users
// edited without any change of license (which take no licensing lock),
// and members added to and removed from a named group. After each round
// the named seats counted agree with the licenses in force, never exceed
// the plan, and nobody waits for a seat while one is free.
func testUserAndGroupWritesRace(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	const seats = 4
	setPlan(t, s, a.ID, productV5, seats, 0)
	var inGroup, loose []licensing.User
	for i := range 6 {
		inGroup = append(inGroup, createUser(t, s, newUser(a.ID, fmt.Sprintf("m%d@example.com", i))))
		loose = append(loose, createUser(t, s, newUser(a.ID, fmt.Sprintf("x%d@example.com", i))))
	}
	g := createGroup(t, s, licensed(a.ID, "named", userMembers(inGroup...), productV5, "named"))
	checkSeats(t, s, a.ID, productV5)

	replace := func(id string, change func(*licensing.User)) error {
		return replaceUserRetrying(s, a.ID, id, change)
	}
	seatless := func(err error) error {
		var ne *licensing.NamedSeatsExhaustedError
		if errors.As(err, &ne) {
			return nil
		}
		return err
	}
	warm(t, s, a.ID, 12)
	for round := range 4 {
		on := round%2 == 0
		racers := []func() error{}
		for i := range 3 {
			racers = append(racers, func() error {
				u := newAgent(a.ID, fmt.Sprintf("new%d-%d@example.com", round, i), productV5, "named")
				return seatless(s.CreateUser(ctx, u))
			})
		}
		for _, u := range loose[:3] {
			racers = append(racers, func() error {
				return seatless(replace(u.ID, func(n *licensing.User) {
					if on {
						n.Assignments = licensing.Assignments{productV5: licensing.LicenseNamed}
					} else {
						n.Assignments = nil
					}
				}))
			})
		}
		for i, u := range inGroup[:3] {
			racers = append(racers, func() error {
				return replace(u.ID, func(n *licensing.User) { n.DisplayName = fmt.Sprintf("Member %d, round %d", i, round) })
			})
		}
		for _, u := range inGroup[3:5] {
			racers = append(racers, func() error {
				return seatless(replace(u.ID, func(n *licensing.User) { n.Active = !on }))
			})
		}
		racers = append(racers, func() error {
			return replaceGroupRetrying(s, a.ID, g.ID, func(next *licensing.Group) {
				next.Members = userMembers(inGroup...)
				if on {
					next.Members = append(next.Members, userMembers(loose[3:]...)...)
				}
			})
		})
		for i, err := range raceN(len(racers), func(i int) error { return racers[i]() }) {
			wantErr(t, fmt.Sprintf("round %d: racer %d", round, i), err, nil)
		}
		if u := checkSeats(t, s, a.ID, productV5); u.NamedAssigned != seats {
			t.Errorf("round %d: %d named seats taken, want all %d (more users want one)", round, u.NamedAssigned, seats)
		}
	}
}

// testGroupLicensesAndMembersTogether: one group write that changes the
// group's licenses and removes members (a SCIM PATCH with both, or a
// PUT) relicenses the members removed too: they lose the group's
// license, old or new, their named seats free and go to the first in
// line, and their sessions of it end.
func testGroupLicensesAndMembersTogether(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	setPlan(t, s, a.ID, productV5, 1, 10)
	setPlan(t, s, a.ID, productDesk, 10, 10)
	first := usersByIDOrder(t, s, a.ID, "t", 3)
	g := createGroup(t, s, licensed(a.ID, "Named", userMembers(first...), productV5, "named"))
	wantLicense(t, s, a.ID, first[0], productV5, "named/active/"+g.ID)
	wantLicense(t, s, a.ID, first[1], productV5, "named/pending/"+g.ID)
	// first[0] leaves while the group gains a product: their seat goes to
	// first[1].
	regroup(t, s, &g, func(g *licensing.Group) {
		g.Members = userMembers(first[1:]...)
		g.Assignments = licensing.Assignments{productV5: licensing.LicenseNamed, productDesk: licensing.LicenseConcurrent}
	})
	wantLicense(t, s, a.ID, first[0], productV5, "")
	wantLicense(t, s, a.ID, first[0], productDesk, "")
	wantLicense(t, s, a.ID, first[1], productV5, "named/active/"+g.ID)
	wantLicense(t, s, a.ID, first[2], productDesk, "concurrent/active/"+g.ID)
	checkSeats(t, s, a.ID, productV5)
	// first[2] leaves while the group drops the named product: their
	// session ends with the license they lost.
	sess := startSession(t, s, a.ID, first[2].ID, productDesk, now())
	regroup(t, s, &g, func(g *licensing.Group) {
		g.Members = userMembers(first[1])
		g.Assignments = licensing.Assignments{productDesk: licensing.LicenseConcurrent}
	})
	wantLicense(t, s, a.ID, first[2], productDesk, "")
	_, err := s.TouchSession(ctx, a.ID, first[2].ID, sess.ID, false, now(), now().Add(time.Hour))
	wantEnded(t, "the session of a member removed with the group's licenses changed", err, licensing.EndedByDeprovision)
	checkSeats(t, s, a.ID, productV5)
	checkSeats(t, s, a.ID, productDesk)
}
