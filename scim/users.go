package scim

import (
	"context"
	"fmt"
	"time"

	"github.com/elimity-com/scim"

	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/schemas"
)

// passwords hashes and checks users' passwords with the functions of
// Options (HashPassword, VerifyPassword); scim does not pick the
// algorithm.
type passwords struct {
	hash   func(ctx context.Context, password string) (string, error)
	verify func(ctx context.Context, hash, password string) (bool, error)
}

// userKind stores users of the resource type rt (core User with the
// enterprise and licensing extensions of rt.Catalog).
func userKind(store licensing.Store, rt schemas.Resource, pw passwords) kind[licensing.User] {
	return kind[licensing.User]{
		rt:      rt,
		noun:    "user",
		name:    func(u licensing.User) string { return u.UserName },
		get:     store.User,
		create:  store.CreateUser,
		replace: store.ReplaceUser,
		delete:  store.DeleteUser,
		fromAttributes: func(attrs scim.ResourceAttributes) (licensing.User, error) {
			return userFromAttributes(rt, attrs)
		},
		toResource: func(u licensing.User, base string) (scim.Resource, error) {
			return userResource(rt.Catalog, u, base)
		},
		resolve: func(next *licensing.User, attrs scim.ResourceAttributes, cur *licensing.User, whole bool) error {
			return resolveAssignments(rt.Catalog, next, attrs, cur, whole)
		},
		complete: func(next *licensing.User, cur licensing.User) {
			completeGroups(next, cur)
			next.Assignments = keepUnlisted(rt.Catalog, next.Assignments, cur.Assignments)
		},
		secrets: pw.secrets,
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
	// The licenses in force are read-only too: they follow from the
	// write, and the store ignores them.
	next.Licenses = cur.Licenses
}

// secrets sets next.PasswordHash from the password attribute: the hash of
// a new password, or "" (the store keeps the stored hash) when the request
// has no password, the password is the stored one, or no hasher is
// configured. It reports whether there is a new hash to store. The
// password itself goes nowhere else: it is never stored, returned or
// logged.
func (pw passwords) secrets(ctx context.Context, next *licensing.User, attrs scim.ResourceAttributes, cur *licensing.User) (bool, error) {
	next.PasswordHash = ""
	password, _ := attrs["password"].(string)
	if password == "" || pw.hash == nil {
		return false, nil
	}
	if cur != nil && cur.PasswordHash != "" && pw.verify != nil {
		same, err := pw.verify(ctx, cur.PasswordHash, password)
		if err != nil {
			return false, fmt.Errorf("check the password of user %s: %w", next.ID, err)
		}
		if same {
			return false, nil
		}
	}
	h, err := pw.hash(ctx, password)
	if err != nil {
		return false, fmt.Errorf("hash the password of user %s: %w", next.ID, err)
	}
	next.PasswordHash = h
	return true, nil
}
