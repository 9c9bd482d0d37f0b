package scim

import (
	"slices"
	"strings"
	"time"

	"github.com/elimity-com/scim"

	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/schemas"
)

// groupKind stores groups of the resource type rt (core Group with the
// group licensing extension of rt.Catalog).
func groupKind(store licensing.Store, rt schemas.Resource) kind[licensing.Group] {
	return kind[licensing.Group]{
		rt:      rt,
		noun:    "group",
		name:    func(g licensing.Group) string { return g.DisplayName },
		get:     store.Group,
		create:  store.CreateGroup,
		replace: store.ReplaceGroup,
		delete:  store.DeleteGroup,
		fromAttributes: func(attrs scim.ResourceAttributes) (licensing.Group, error) {
			return groupFromAttributes(rt, attrs)
		},
		toResource: func(g licensing.Group, base string) (scim.Resource, error) {
			return groupResource(rt.Catalog, g, base)
		},
		reload: true,
		complete: func(next *licensing.Group, cur licensing.Group) {
			completeMembers(next, cur)
			next.Assignments = keepUnlisted(rt.Catalog, next.Assignments, cur.Assignments)
		},
		stamp: func(g *licensing.Group, accountID, id string, created, modified time.Time, version int64) {
			g.AccountID, g.ID, g.Created, g.LastModified, g.Version = accountID, id, created, modified, version
		},
		id:      func(g licensing.Group) string { return g.ID },
		version: func(g licensing.Group) int64 { return g.Version },
		created: func(g licensing.Group) time.Time { return g.Created },
	}
}

// completeMembers gives next's members the type and display name the
// store resolved for the same members of cur, and the store's order
// (by member id), so that a PUT repeating the group compares equal.
func completeMembers(next *licensing.Group, cur licensing.Group) {
	known := make(map[string]licensing.Member, len(cur.Members))
	for _, m := range cur.Members {
		known[m.ID] = m
	}
	for i, m := range next.Members {
		if k, ok := known[m.ID]; ok && (m.Type == "" || m.Type == k.Type) {
			next.Members[i] = k
		}
	}
	slices.SortFunc(next.Members, func(a, b licensing.Member) int { return strings.Compare(a.ID, b.ID) })
}
