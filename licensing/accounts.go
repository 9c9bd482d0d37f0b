package licensing

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// NewID returns a random RFC 4122 version 4 UUID string, the form of every
// id scimd hands out.
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// CreateAccount makes an account with the name, recorded in its audit log
// as made by the context's principal. It returns ErrInvalid for a
// malformed name and ErrConflict if the name is taken.
func CreateAccount(ctx context.Context, store Store, clock Clock, name string) (Account, error) {
	if err := ValidateAccountName(name); err != nil {
		return Account{}, err
	}
	a := Account{ID: NewID(), Name: name, CreatedAt: clock.Now()}
	if err := store.CreateAccount(ctx, a, NewAuditEntry(ctx, a.CreatedAt, "account.create", "account", a.ID, strconv.Quote(name))); err != nil {
		return Account{}, err
	}
	return a, nil
}

// IssueToken makes a token for the account and returns it with its bearer
// string, which is shown once and never stored. The token's creation is
// recorded in the audit log as made by the context's principal.
func IssueToken(ctx context.Context, store Store, clock Clock, accountID, name string, scope Scope) (Token, string, error) {
	if name == "" {
		return Token{}, "", fmt.Errorf("%w: a token needs a name", ErrInvalid)
	}
	t, bearer, err := NewToken(accountID, name, scope, clock.Now())
	if err != nil {
		return Token{}, "", err
	}
	return t, bearer, createToken(ctx, store, t)
}

// createToken stores a token an API or the command line made, with the
// audit entry of its creation.
func createToken(ctx context.Context, store Store, t Token) error {
	return store.CreateToken(ctx, t, NewAuditEntry(ctx, t.CreatedAt, "token.create", "token", t.ID, t.AuditDetail()))
}

// IssueAgentToken makes a token of scope agent that signs in as the user
// (one an admin hands out, for the agent app to sign in with instead of
// a password): with ttl > 0 it expires after ttl, else it lives until
// revoked. Its creation is recorded in the audit log.
func IssueAgentToken(ctx context.Context, store Store, clock Clock, accountID, userID, name string, ttl time.Duration) (Token, string, error) {
	t, bearer, err := newAgentToken(clock, accountID, userID, name, ttl)
	if err != nil {
		return Token{}, "", err
	}
	return t, bearer, createToken(ctx, store, t)
}

// IssueSignInToken makes the short-lived token of scope agent that the
// agent app's sign-in hands out: it expires after ttl and cannot be used
// to sign in again (Token.SignIn). Sign-ins are not audited (the seat
// events record what agents do).
func IssueSignInToken(ctx context.Context, store Store, clock Clock, accountID, userID string, ttl time.Duration) (Token, string, error) {
	if ttl <= 0 {
		return Token{}, "", fmt.Errorf("%w: a sign-in token needs a lifetime", ErrInvalid)
	}
	t, bearer, err := newAgentToken(clock, accountID, userID, "agent sign-in", ttl)
	if err != nil {
		return Token{}, "", err
	}
	t.SignIn = true
	if err := store.CreateToken(ctx, t); err != nil {
		return Token{}, "", err
	}
	return t, bearer, nil
}

func newAgentToken(clock Clock, accountID, userID, name string, ttl time.Duration) (Token, string, error) {
	if userID == "" {
		return Token{}, "", fmt.Errorf("%w: an agent token needs a user", ErrInvalid)
	}
	now := clock.Now()
	t, bearer, err := NewToken(accountID, name, ScopeAgent, now)
	if err != nil {
		return Token{}, "", err
	}
	t.UserID = userID
	if ttl > 0 {
		exp := now.Add(ttl)
		t.ExpiresAt = &exp
	}
	return t, bearer, nil
}

// DefaultAccountName is the account made on first start.
const DefaultAccountName = "default"

// Bootstrap makes, on a store with no account at all, the account
// "default" with the trial plan of the catalog (GrantTrial) and a SCIM
// token for it, all recorded in the audit log as made by the context's
// principal, and returns the bearer string to show once. On any other
// store it changes nothing and returns "". Several processes may race to
// bootstrap: exactly one of them gets the token.
func Bootstrap(ctx context.Context, store Store, clock Clock, catalog Catalog) (Account, string, error) {
	accounts, err := store.Accounts(ctx)
	if err != nil {
		return Account{}, "", err
	}
	if len(accounts) > 0 {
		return Account{}, "", nil
	}
	a, err := CreateAccount(ctx, store, clock, DefaultAccountName)
	if errors.Is(err, ErrConflict) {
		return Account{}, "", nil
	}
	if err != nil {
		return Account{}, "", err
	}
	if _, err := GrantTrial(ctx, store, clock, catalog, a.ID); err != nil {
		return Account{}, "", err
	}
	_, bearer, err := IssueToken(ctx, store, clock, a.ID, "first-start scim token", ScopeSCIM)
	if err != nil {
		return Account{}, "", err
	}
	return a, bearer, nil
}

// UserByName returns the account's user with the userName, compared
// case-insensitively as SCIM compares userNames, or ErrNotFound.
func UserByName(ctx context.Context, store Store, accountID, userName string) (User, error) {
	page, err := store.Users(ctx, accountID, Query{
		Filter: Compare{Attr: Attr{Path: []string{"userName"}}, Op: OpEq, Value: userName},
		Limit:  1, WithoutGroups: true, WithoutTotal: true,
	})
	if err != nil {
		return User{}, err
	}
	if len(page.Items) == 0 {
		return User{}, ErrNotFound
	}
	return page.Items[0], nil
}

// IssueAdminToken makes a token of scope admin with the privileges (at
// least one), and returns it with its bearer string, shown once.
func IssueAdminToken(ctx context.Context, store Store, clock Clock, accountID, name string, privileges []Privilege) (Token, string, error) {
	privileges = NormalizePrivileges(privileges)
	if len(privileges) == 0 {
		return Token{}, "", fmt.Errorf("%w: an admin token needs at least one privilege (%s)", ErrInvalid, FormatPrivileges(AllPrivileges))
	}
	if name == "" {
		return Token{}, "", fmt.Errorf("%w: a token needs a name", ErrInvalid)
	}
	t, bearer, err := NewToken(accountID, name, ScopeAdmin, clock.Now())
	if err != nil {
		return Token{}, "", err
	}
	t.Privileges = privileges
	return t, bearer, createToken(ctx, store, t)
}
