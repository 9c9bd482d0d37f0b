package scim

import (
	"time"

	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/schemas"
)

func userKind(store licensing.Store) kind[licensing.User] {
	return kind[licensing.User]{
		rt:             schemas.User(),
		get:            store.User,
		create:         store.CreateUser,
		replace:        store.ReplaceUser,
		delete:         store.DeleteUser,
		fromAttributes: userFromAttributes,
		toResource:     userResource,
		complete:       completeGroups,
		stamp: func(u *licensing.User, accountID, id string, created, modified time.Time, version int64) {
			u.AccountID, u.ID, u.Created, u.LastModified, u.Version = accountID, id, created, modified, version
		},
		id:      func(u licensing.User) string { return u.ID },
		version: func(u licensing.User) int64 { return u.Version },
		created: func(u licensing.User) time.Time { return u.Created },
	}
}

// completeGroups gives next the groups of cur: groups is read-only, so a
// PUT or PATCH never changes it (whatever the body says), the store
// ignores it on write, and the answer shows the memberships as they are.
// An unchanged PUT then compares equal though its body omits groups.
func completeGroups(next *licensing.User, cur licensing.User) {
	next.Groups = cur.Groups
}
