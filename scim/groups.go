package scim

import (
	"slices"
	"strings"
	"time"

	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/schemas"
)

func groupKind(store licensing.Store) kind[licensing.Group] {
	return kind[licensing.Group]{
		rt:             schemas.Group(),
		noun:           "group",
		name:           func(g licensing.Group) string { return g.DisplayName },
		get:            store.Group,
		create:         store.CreateGroup,
		replace:        store.ReplaceGroup,
		delete:         store.DeleteGroup,
		fromAttributes: groupFromAttributes,
		toResource:     groupResource,
		reload:         true,
		complete:       completeMembers,
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
