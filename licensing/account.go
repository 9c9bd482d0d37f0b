package licensing

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Account is a customer (tenant). Every other object belongs to exactly one
// account and is never visible from another.
type Account struct {
	ID        string
	Name      string
	CreatedAt time.Time
}

var accountName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// ValidateAccountName reports whether name can name an account: 1 to 63
// lower-case letters, digits, dots, dashes or underscores, starting with a
// letter or digit.
func ValidateAccountName(name string) error {
	if !accountName.MatchString(name) {
		return fmt.Errorf("%w: account name %q must be 1-63 characters of a-z, 0-9, '.', '-' or '_', starting with a letter or digit", ErrInvalid, name)
	}
	return nil
}

// Scope says which interface a token opens.
type Scope string

// The scopes a token can have.
const (
	ScopeSCIM  Scope = "scim"
	ScopeAdmin Scope = "admin"
	ScopeAgent Scope = "agent"
)

// ParseScope returns the scope named s, or ErrInvalid.
func ParseScope(s string) (Scope, error) {
	switch Scope(s) {
	case ScopeSCIM, ScopeAdmin, ScopeAgent:
		return Scope(s), nil
	}
	return "", fmt.Errorf("%w: unknown scope %q (want scim, admin or agent)", ErrInvalid, s)
}

// Token is an API credential bound to one account and one scope. Only the
// SHA-256 hash of the secret is stored; the secret is shown once, when the
// token is made.
type Token struct {
	ID        string
	AccountID string
	Name      string
	Scope     Scope
	Hash      []byte
	CreatedAt time.Time
	RevokedAt *time.Time
	// UserID binds an agent token to the user it signs in as; "" for
	// tokens of other scopes.
	UserID string
	// ExpiresAt ends the token's life on its own (agent sign-in tokens);
	// nil for tokens that live until revoked.
	ExpiresAt *time.Time
	// Privileges are what an admin token may do; none for other scopes.
	Privileges []Privilege
	// SignIn marks the short-lived agent token that the agent app's
	// sign-in hands out. It opens the agent API but cannot sign in again:
	// renewing it takes the password (or an admin-issued agent token).
	SignIn bool
}

// TokenQuery selects an account's tokens, listed by creation then id.
type TokenQuery struct {
	// Scope, when not "", keeps the tokens of that scope.
	Scope Scope
	// Limit is the most tokens to return (at least 1).
	Limit int
	// After continues from a previous Page.Next.
	After string
}

// AuditDetail is the audit log's summary of the token: its name and
// scope, and its privileges or user. Never its secret.
func (t Token) AuditDetail() string {
	d := strconv.Quote(t.Name) + ", scope " + string(t.Scope)
	switch {
	case len(t.Privileges) > 0:
		d += ", privileges " + FormatPrivileges(t.Privileges)
	case t.UserID != "":
		d += ", user " + t.UserID
	}
	return d
}

// RevokesCredentials reports whether a user write from old to new (new
// nil: a deletion) ends the user's credentials: the tokens they signed in
// with and their console sessions. It does when the user is deleted or
// deactivated, or their password changes (a non-empty new hash that
// differs from the stored one; an empty one keeps the stored password).
func RevokesCredentials(old, new *User) bool {
	switch {
	case old == nil:
		return false
	case new == nil:
		return true
	case old.Active && !new.Active:
		return true
	}
	return new.PasswordHash != "" && new.PasswordHash != old.PasswordHash
}

const tokenPrefix = "scimd_"

// NewToken makes a token for the account and returns it with the bearer
// string to hand to the client. The bearer string has the form
// scimd_<id>_<secret>; the id lets the store find the token, the secret is
// compared by hash in constant time.
func NewToken(accountID, name string, scope Scope, now time.Time) (Token, string, error) {
	idBytes := make([]byte, 8)
	secret := make([]byte, 32)
	if _, err := rand.Read(idBytes); err != nil {
		return Token{}, "", err
	}
	if _, err := rand.Read(secret); err != nil {
		return Token{}, "", err
	}
	id := hex.EncodeToString(idBytes)
	bearer := tokenPrefix + id + "_" + base64.RawURLEncoding.EncodeToString(secret)
	return Token{
		ID:        id,
		AccountID: accountID,
		Name:      name,
		Scope:     scope,
		Hash:      HashToken(bearer),
		CreatedAt: now,
	}, bearer, nil
}

// HashToken returns the stored form of a bearer string.
func HashToken(bearer string) []byte {
	sum := sha256.Sum256([]byte(bearer))
	return sum[:]
}

// TokenID extracts the token id from a bearer string, or reports false if
// the string does not have the shape of a scimd token.
func TokenID(bearer string) (string, bool) {
	rest, ok := strings.CutPrefix(bearer, tokenPrefix)
	if !ok {
		return "", false
	}
	id, secret, ok := strings.Cut(rest, "_")
	if !ok || len(id) != 16 || secret == "" {
		return "", false
	}
	if _, err := hex.DecodeString(id); err != nil {
		return "", false
	}
	return id, true
}

// Matches reports, in constant time, whether bearer is this token's secret.
func (t Token) Matches(bearer string) bool {
	return subtle.ConstantTimeCompare(t.Hash, HashToken(bearer)) == 1
}

// Active reports whether the token is neither revoked nor expired at now.
func (t Token) Active(now time.Time) bool {
	return t.RevokedAt == nil && (t.ExpiresAt == nil || now.Before(*t.ExpiresAt))
}
