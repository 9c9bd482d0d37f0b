package licensing

import (
	"context"
	"errors"
	"fmt"
)

// Principal is who is calling: the token, its account and scope. It is the
// actor recorded for every change.
type Principal struct {
	AccountID string
	TokenID   string
	TokenName string
	Scope     Scope
	// UserID is the user an agent token signs in as.
	UserID string
	// Privileges are what an admin token may do.
	Privileges []Privilege
	// SignIn tells that the token is the one the agent app's sign-in
	// handed out (Token.SignIn): it cannot sign in again.
	SignIn bool
}

type principalKey struct{}

// WithPrincipal returns a context carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the context's principal and whether it has one.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// Authenticate resolves a bearer string to the principal it stands for, if
// the token exists, matches (compared in constant time), is not revoked and
// has the wanted scope. Every failure is ErrUnauthenticated, so callers
// cannot tell an unknown token from a revoked one or a wrong scope.
func Authenticate(ctx context.Context, store Store, clock Clock, bearer string, scope Scope) (Principal, error) {
	id, ok := TokenID(bearer)
	if !ok {
		return Principal{}, ErrUnauthenticated
	}
	t, err := store.Token(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Principal{}, ErrUnauthenticated
	}
	if err != nil {
		return Principal{}, fmt.Errorf("look up token: %w", err)
	}
	if !t.Matches(bearer) || !t.Active(clock.Now()) || t.Scope != scope {
		return Principal{}, ErrUnauthenticated
	}
	return Principal{AccountID: t.AccountID, TokenID: t.ID, TokenName: t.Name, Scope: t.Scope, UserID: t.UserID, Privileges: t.Privileges, SignIn: t.SignIn}, nil
}
