package licensing

import (
	"context"
	"time"
)

// Store is the storage port. Every method is scoped to an account where
// the object belongs to one: an object of another account is reported as
// ErrNotFound, never as data. Errors not listed in a method's contract are
// internal failures (database unreachable and the like).
type Store interface {
	// CreateAccount stores a new account. It returns ErrConflict if the
	// name is taken.
	CreateAccount(ctx context.Context, a Account) error
	// Account returns the account with the id, or ErrNotFound.
	Account(ctx context.Context, id string) (Account, error)
	// AccountByName returns the account with the name, or ErrNotFound.
	AccountByName(ctx context.Context, name string) (Account, error)
	// Accounts lists all accounts by creation.
	Accounts(ctx context.Context) ([]Account, error)

	// CreateToken stores a token. It returns ErrNotFound if the account
	// does not exist and ErrConflict if the id is taken.
	CreateToken(ctx context.Context, t Token) error
	// Token returns the token with the id, revoked or not, whatever its
	// account, or ErrNotFound. Callers must check the secret with
	// Token.Matches and the revocation with Token.Active.
	Token(ctx context.Context, id string) (Token, error)
	// Tokens lists the account's tokens, revoked ones included, by creation.
	Tokens(ctx context.Context, accountID string) ([]Token, error)
	// RevokeToken marks the account's token as revoked at the given time.
	// It returns ErrNotFound if the account has no token with the id.
	// Revoking a revoked token changes nothing and succeeds.
	RevokeToken(ctx context.Context, accountID, id string, at time.Time) error

	// CreateUser stores a new user; u.Version must be 1 (else ErrInvalid,
	// as for text the database cannot hold: NUL or invalid UTF-8). It returns
	// ErrConflict if the account has a user with the same userName,
	// compared case-insensitively. u.Groups is ignored.
	CreateUser(ctx context.Context, u User) error
	// User returns the account's user with the id, its Groups filled
	// (ordered by group id), or ErrNotFound.
	User(ctx context.Context, accountID, id string) (User, error)
	// ReplaceUser stores u over the user with u.ID if that user's version
	// is still expectVersion; u.Version must be expectVersion+1. u.Groups
	// is ignored: memberships change through the groups. It returns
	// ErrNotFound if there is no such user, ErrStale if the version moved
	// on, ErrConflict if the new userName is taken.
	ReplaceUser(ctx context.Context, u User, expectVersion int64) error
	// DeleteUser deletes the account's user and removes it from every
	// group, bumping those groups' versions and setting their last
	// modification to at. It returns ErrNotFound if there is no such user.
	DeleteUser(ctx context.Context, accountID, id string, at time.Time) error
	// Users lists the account's users selected by q, with their Groups
	// filled as User fills them unless q.WithoutGroups; the groups of a
	// whole page are read at once, never with one query per user. A filter
	// may name the groups as Any over ["groups"] whose condition compares
	// ["value"] (the group id) or ["type"] ("direct" for every
	// membership). It returns ErrInvalid for a query it cannot run (a
	// malformed cursor, an attribute of the wrong kind, another
	// sub-attribute of groups).
	Users(ctx context.Context, accountID string, q Query) (Page[User], error)

	// CreateGroup stores a new group with its members; g.Version must be 1.
	// It returns ErrConflict if the account has a group with the same
	// displayName (case-insensitive) and ErrInvalid if a member is not a
	// user or group of the account (or is the group itself).
	CreateGroup(ctx context.Context, g Group) error
	// Group returns the account's group with its members (ordered by
	// member id), or ErrNotFound.
	Group(ctx context.Context, accountID, id string) (Group, error)
	// ReplaceGroup stores g, members included, over the group with g.ID if
	// its version is still expectVersion; errors as ReplaceUser and
	// CreateGroup.
	ReplaceGroup(ctx context.Context, g Group, expectVersion int64) error
	// DeleteGroup deletes the account's group and its memberships, in
	// other groups too (bumping their versions and setting their last
	// modification to at). It returns ErrNotFound if there is no such group.
	DeleteGroup(ctx context.Context, accountID, id string, at time.Time) error
	// Groups lists the account's groups selected by q.
	Groups(ctx context.Context, accountID string, q Query) (Page[Group], error)

	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
	// Close releases the database.
	Close() error
}
