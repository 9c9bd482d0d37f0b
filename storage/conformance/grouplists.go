package conformance

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/scimd/scimd/licensing"
)

// testNamedLicenseCounts: NamedLicenseCounts counts per product, in one
// call, the users holding a named license in force through groups only
// (not a direct named one) and the users waiting for a named seat, the
// account's only.
func testNamedLicenseCounts(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	other := newAccount(t, s)
	setPlan(t, s, a.ID, productV5, 2, 10)
	direct := createUser(t, s, newAgent(a.ID, "direct@example.com", productV5, "named"))
	var us []licensing.User
	for i := range 3 {
		us = append(us, createUser(t, s, newUser(a.ID, fmt.Sprintf("u%d@example.com", i))))
	}
	createGroup(t, s, licensed(a.ID, "Named", userMembers(append(us, direct)...), productV5, "named", productDesk, "named"))
	// The other account's members all wait: no plan there.
	createGroup(t, s, licensed(other.ID, "Theirs", userMembers(createUser(t, s, newUser(other.ID, "o@example.com"))), productV5, "named"))

	counts := func(accountID string) string {
		t.Helper()
		got, err := s.NamedLicenseCounts(ctx, accountID)
		wantErr(t, "NamedLicenseCounts", err, nil)
		var out []string
		for _, n := range got {
			out = append(out, fmt.Sprintf("%s:%d/%d", n.ProductID, n.ThroughGroups, n.Pending))
		}
		return strings.Join(out, " ")
	}
	// direct holds the first seat directly, one of us the second through
	// the group; two wait. Service Desk has no plan: all four wait.
	if got, want := counts(a.ID), productV5+":1/2 "+productDesk+":0/4"; got != want {
		t.Errorf("counts %q, want %q", got, want)
	}
	setPlan(t, s, a.ID, productV5, 4, 10)
	if got, want := counts(a.ID), productV5+":3/0 "+productDesk+":0/4"; got != want {
		t.Errorf("counts after the plan grew %q, want %q", got, want)
	}
	if got, want := counts(other.ID), productV5+":0/1"; got != want {
		t.Errorf("the other account's counts %q, want %q", got, want)
	}
}

// testGroupListFilters: Groups selects by name (case-insensitive
// contains) and by the licenses the groups give, and fills the member
// counts when it leaves the members out; another account's groups never
// come.
func testGroupListFilters(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	other := newAccount(t, s)
	ann := createUser(t, s, newUser(a.ID, "ann@example.com"))
	bob := createUser(t, s, newUser(a.ID, "bob@example.com"))
	tier1 := createGroup(t, s, licensed(a.ID, "Support Tier 1", userMembers(ann, bob), productV5, "named"))
	createGroup(t, s, licensed(a.ID, "support tier 2", userMembers(ann), productV5, "concurrent", productDesk, "named"))
	createGroup(t, s, newGroup(a.ID, "Sales", licensing.Member{ID: tier1.ID, Type: licensing.MemberGroup}))
	createGroup(t, s, licensed(other.ID, "Support Tier 9", nil, productV5, "named"))

	list := func(f licensing.GroupFilter) string {
		t.Helper()
		page, err := s.Groups(ctx, a.ID, licensing.Query{Filter: f.Cond(), Limit: 10, WithoutMembers: true})
		wantErr(t, "Groups", err, nil)
		var out []string
		for _, g := range page.Items {
			out = append(out, fmt.Sprintf("%s(%d)", g.DisplayName, g.MemberCount))
		}
		return strings.Join(out, ", ")
	}
	for _, c := range []struct {
		f    licensing.GroupFilter
		want string
	}{
		{licensing.GroupFilter{}, "Support Tier 1(2), support tier 2(1), Sales(1)"},
		{licensing.GroupFilter{Name: "TIER"}, "Support Tier 1(2), support tier 2(1)"},
		{licensing.GroupFilter{Name: "%"}, ""},
		{licensing.GroupFilter{Name: "Tier 9"}, ""},
		{licensing.GroupFilter{ProductID: productV5}, "Support Tier 1(2), support tier 2(1)"},
		{licensing.GroupFilter{ProductID: productV5, License: licensing.LicenseNamed}, "Support Tier 1(2)"},
		{licensing.GroupFilter{ProductID: productDesk, License: licensing.LicenseNone}, "Support Tier 1(2), Sales(1)"},
		{licensing.GroupFilter{Name: "tier", ProductID: productDesk}, "support tier 2(1)"},
	} {
		if got := list(c.f); got != c.want {
			t.Errorf("Groups %+v: %q, want %q", c.f, got, c.want)
		}
	}
}
