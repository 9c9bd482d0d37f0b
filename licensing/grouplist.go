package licensing

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"strings"
)

// This file is what the admin API and the console share to list groups
// and the users a group licenses: the search by name and by the licenses
// a group gives, and the group's members through nested groups.

// GroupFilter selects groups as the admin pages list them.
type GroupFilter struct {
	// Name, when not "", keeps the groups whose displayName contains it,
	// compared case-insensitively (as the users' search box).
	Name string
	// ProductID, when not "", keeps the groups giving the product: as
	// License when it is set, else with any license but none. License
	// none keeps the groups that do not give it.
	ProductID string
	License   LicenseType
}

// Cond is the filter's condition; nil selects every group.
func (f GroupFilter) Cond() Cond {
	var conds []Cond
	if f.Name != "" {
		conds = append(conds, Compare{Attr: Attr{Path: []string{"displayName"}}, Op: OpCo, Value: f.Name})
	}
	if f.ProductID != "" {
		attr := Attr{Path: []string{GroupLicensingURN, f.ProductID}}
		switch f.License {
		case "":
			conds = append(conds, Compare{Attr: attr, Op: OpNe, Value: string(LicenseNone)})
		default:
			conds = append(conds, Compare{Attr: attr, Op: OpEq, Value: string(f.License)})
		}
	}
	return allOf(conds)
}

// allOf is the condition that every one of conds holds: nil for none, the
// condition itself for one.
func allOf(conds []Cond) Cond {
	switch len(conds) {
	case 0:
		return nil
	case 1:
		return conds[0]
	}
	return And(conds)
}

// GroupTree is a group with the groups nested in it, transitively: the
// groups whose members get the licenses the group gives.
type GroupTree struct {
	Group Group
	// Parent maps each nested group's id to the id of a group it is a
	// direct member of, on a shortest path from Group (the first by id).
	Parent map[string]string
	// Names maps each nested group's id to its displayName.
	Names map[string]string
	// Nested are the nested groups' ids, nearest first.
	Nested []string
}

// ReadGroupTree reads the account's group with the id and the groups
// nested in it, without cycles (a group nested in itself is not listed).
// ErrNotFound if there is no such group.
func ReadGroupTree(ctx context.Context, store Store, accountID, id string) (GroupTree, error) {
	g, err := store.Group(ctx, accountID, id)
	if err != nil {
		return GroupTree{}, err
	}
	t := GroupTree{Group: g, Parent: map[string]string{}, Names: map[string]string{}}
	for frontier := []Group{g}; len(frontier) > 0; {
		var next []Group
		for _, parent := range frontier {
			// Members come ordered by id, so the first parent by id
			// of a level claims a group.
			for _, m := range parent.Members {
				if m.Type != MemberGroup || m.ID == g.ID {
					continue
				}
				if _, seen := t.Parent[m.ID]; seen {
					continue
				}
				child, err := store.Group(ctx, accountID, m.ID)
				if err != nil {
					return GroupTree{}, err
				}
				t.Parent[m.ID], t.Names[m.ID] = parent.ID, child.DisplayName
				t.Nested = append(t.Nested, m.ID)
				next = append(next, child)
			}
		}
		frontier = next
	}
	return t, nil
}

// Members is the condition that a user is a member of the tree's group,
// directly or through a nested group.
func (t GroupTree) Members() Cond {
	if len(t.Nested) == 0 {
		return MemberOf(t.Group.ID)
	}
	or := Or{MemberOf(t.Group.ID)}
	for _, id := range t.Nested {
		or = append(or, MemberOf(id))
	}
	return or
}

// Via returns the group through which u (read with its Groups) is a
// member of the tree's group: "" for a direct member, else the nested
// group u is a direct member of, the nearest one first.
func (t GroupTree) Via(u User) string {
	direct := map[string]bool{}
	for _, m := range u.Groups {
		if m.ID == t.Group.ID {
			return ""
		}
		direct[m.ID] = true
	}
	for _, id := range t.Nested {
		if direct[id] {
			return id
		}
	}
	return ""
}

// PendingMember is a user under a group (a member, directly or through
// nested groups) waiting for a named seat of a product the group gives as
// named.
type PendingMember struct {
	User      User
	ProductID string
	// Place is the place in the product's line (1: next to get a seat).
	Place int
	// Via is the nested group the user is a member through ("" for a
	// direct member).
	Via string
}

// Pending reads the users under the tree's group waiting for a named
// seat of a product it gives as named: those of the first limit such
// users (by creation), ordered by product then place, and how many users
// wait in all.
func (t GroupTree) Pending(ctx context.Context, store Store, limit int) ([]PendingMember, int, error) {
	g := t.Group
	var named Or
	for _, p := range slices.Sorted(maps.Keys(g.Assignments)) {
		if g.Assignments[p] == LicenseNamed {
			named = append(named, UserFilter{ProductID: p, Pending: true}.Cond())
		}
	}
	if len(named) == 0 {
		return nil, 0, nil
	}
	page, err := store.Users(ctx, g.AccountID, Query{Filter: And{t.Members(), named}, Limit: limit})
	if err != nil {
		return nil, 0, err
	}
	var out []PendingMember
	for _, u := range page.Items {
		for _, l := range u.Licenses {
			if l.Status == LicensePending && g.Assignments.Of(l.ProductID) == LicenseNamed {
				out = append(out, PendingMember{User: u, ProductID: l.ProductID, Place: l.Place, Via: t.Via(u)})
			}
		}
	}
	slices.SortFunc(out, func(a, b PendingMember) int {
		return cmp.Or(strings.Compare(a.ProductID, b.ProductID), cmp.Compare(a.Place, b.Place))
	})
	return out, page.Total, nil
}
