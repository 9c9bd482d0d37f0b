package scim

import (
	"time"

	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/schemas"
)

func groupKind(store licensing.Store) kind[licensing.Group] {
	return kind[licensing.Group]{
		rt:             schemas.Group(),
		get:            store.Group,
		create:         store.CreateGroup,
		replace:        store.ReplaceGroup,
		delete:         store.DeleteGroup,
		fromAttributes: groupFromAttributes,
		toResource:     groupResource,
		reload:         true,
		stamp: func(g *licensing.Group, accountID, id string, created, modified time.Time, version int64) {
			g.AccountID, g.ID, g.Created, g.LastModified, g.Version = accountID, id, created, modified, version
		},
		id:      func(g licensing.Group) string { return g.ID },
		version: func(g licensing.Group) int64 { return g.Version },
		created: func(g licensing.Group) time.Time { return g.Created },
	}
}
