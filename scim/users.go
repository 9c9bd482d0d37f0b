package scim

import (
	"time"

	"github.com/elimity-com/scim"

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
		toResource:     func(u licensing.User, _ string) (scim.Resource, error) { return userResource(u) },
		stamp: func(u *licensing.User, accountID, id string, created, modified time.Time, version int64) {
			u.AccountID, u.ID, u.Created, u.LastModified, u.Version = accountID, id, created, modified, version
		},
		id:      func(u licensing.User) string { return u.ID },
		version: func(u licensing.User) int64 { return u.Version },
		created: func(u licensing.User) time.Time { return u.Created },
	}
}
