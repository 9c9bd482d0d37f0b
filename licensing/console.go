package licensing

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"time"
)

// This file is the console's domain: console users (users of an account
// holding admin privileges), the one-time links where they choose a
// password, and their sign-in sessions. The console adapter and the admin
// API both grant privileges through SetConsolePrivileges, so one rule
// decides who may grant what.

// ConsoleStore is the part of the Store that keeps console users, their
// password links and their sessions. Secrets (link tokens, session ids)
// are stored as SHA-256 hashes only.
type ConsoleStore interface {
	// SetConsolePrivileges sets the console privileges of the account's
	// user (none: the user is no longer a console user) and returns the
	// ones they held before. When RevokesConsole(old, privs), every console
	// session of the user ends in the same transaction. The audit entries
	// are recorded only if the privileges change. ErrNotFound if the
	// account has no such user.
	SetConsolePrivileges(ctx context.Context, accountID, userID string, privs []Privilege, audit ...AuditEntry) ([]Privilege, error)
	// ConsolePrivileges returns the console privileges of the account's
	// user, sorted; none for a user who is not a console user (or does not
	// exist).
	ConsolePrivileges(ctx context.Context, accountID, userID string) ([]Privilege, error)

	// CreatePasswordLink stores a one-time password link. ErrNotFound if
	// the account has no such user.
	CreatePasswordLink(ctx context.Context, l PasswordLink, audit ...AuditEntry) error
	// PasswordLink returns the link with the hash if it is unused and not
	// expired at now, else ErrNotFound.
	PasswordLink(ctx context.Context, hash []byte, now time.Time) (PasswordLink, error)
	// UsePasswordLink, in one transaction, uses up the link with the
	// hash if it is unused and not expired at now, and sets its user's
	// password hash (the user's version goes up by one and its last
	// modification is now); as for any password change
	// (RevokesCredentials), the user's tokens are revoked and their
	// console sessions end. It returns the link. ErrNotFound if no link
	// has the hash, or it was used, or it expired: nothing is changed.
	// The audit entries are stored with the change.
	UsePasswordLink(ctx context.Context, hash []byte, passwordHash string, now time.Time, audit ...AuditEntry) (PasswordLink, error)

	// CreateConsoleSession stores a new console session. ErrNotFound if
	// the account has no such user; ErrConflict if the hash is taken.
	CreateConsoleSession(ctx context.Context, s ConsoleSession) error
	// TouchConsoleSession returns the console session with the hash if it
	// is live at now: last used after idleSince, ExpiresAt after now, its
	// user active and holding at least one console privilege (filled into
	// Privileges, with UserName). It records now as the session's last
	// use. ErrNotFound otherwise.
	TouchConsoleSession(ctx context.Context, hash []byte, now, idleSince time.Time) (ConsoleSession, error)
	// ConsoleSession returns the console session with the hash if it is
	// live at now, as TouchConsoleSession does, without recording a use
	// (LastSeen is the last one). ErrNotFound otherwise.
	ConsoleSession(ctx context.Context, hash []byte, now, idleSince time.Time) (ConsoleSession, error)
	// EndConsoleSession ends the session with the hash; an unknown one is
	// not an error.
	EndConsoleSession(ctx context.Context, hash []byte) error
}

// PasswordLink is a one-time link where a console user chooses a
// password. Only the hash of its token is stored.
type PasswordLink struct {
	Hash      []byte
	AccountID string
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// ConsoleSession is a signed-in console user. Only the hash of its id
// (the cookie's value) is stored.
type ConsoleSession struct {
	Hash      []byte
	AccountID string
	UserID    string
	CreatedAt time.Time
	LastSeen  time.Time
	// ExpiresAt is the absolute end of the session, however busy.
	ExpiresAt time.Time
	// UserName and Privileges are the user's, read by TouchConsoleSession.
	UserName   string
	Privileges []Privilege
}

// Console session and link lifetimes.
const (
	// ConsoleIdle ends a console session unused for that long.
	ConsoleIdle = 30 * time.Minute
	// ConsoleAbsolute ends a console session that long after sign-in.
	ConsoleAbsolute = 12 * time.Hour
	// PasswordLinkLife is how long a password link may be used.
	PasswordLinkLife = 24 * time.Hour
)

// ActorConsole is the actor scope of writes a person makes in the
// console: the actor id is "console:" and their user id, the actor name
// their userName.
const ActorConsole Scope = "console"

// ConsolePrincipal is the principal of a console user's requests: the
// actor of their writes, holding their console privileges.
func ConsolePrincipal(s ConsoleSession) Principal {
	return Principal{AccountID: s.AccountID, TokenID: "console:" + s.UserID, TokenName: s.UserName, Scope: ActorConsole,
		UserID: s.UserID, Privileges: s.Privileges}
}

// RevokesConsole reports whether a change of a user's console privileges
// from old to new ends their console sessions: it does when any privilege
// is taken away.
func RevokesConsole(old, new []Privilege) bool {
	for _, p := range old {
		if !slices.Contains(new, p) {
			return true
		}
	}
	return false
}

// PrivilegesNotHeldError refuses a change of console privileges that
// grants or takes away privileges the caller does not hold.
type PrivilegesNotHeldError struct {
	Missing []Privilege
}

func (e *PrivilegesNotHeldError) Error() string {
	return "nobody grants or revokes a privilege they do not hold: missing " + FormatPrivileges(e.Missing)
}

// ConsoleGrant is the outcome of SetConsolePrivileges.
type ConsoleGrant struct {
	User     User
	Old, New []Privilege
	// Link is the token of a one-time password link, made when a user
	// without a password became a console user; shown once ("" if none).
	Link string
	// LinkExpires is when the link stops working.
	LinkExpires time.Time
}

// SetConsolePrivileges sets the console privileges of the account's user
// as the context's principal asks: a command-line operator may set any; an
// admin token or a console user must hold every privilege granted or taken
// away (a *PrivilegesNotHeldError otherwise, nothing changed). A user who
// gets privileges and has no password gets a one-time password link
// (ConsoleGrant.Link). The change is audited ("user.privileges"); ending
// the user's console sessions when privileges go is the store's, in the
// same transaction. ErrNotFound if the account has no such user.
func SetConsolePrivileges(ctx context.Context, store Store, clock Clock, accountID, userID string, privs []Privilege) (ConsoleGrant, error) {
	privs = NormalizePrivileges(privs)
	u, err := store.User(ctx, accountID, userID)
	if err != nil {
		return ConsoleGrant{}, err
	}
	old, err := store.ConsolePrivileges(ctx, accountID, userID)
	if err != nil {
		return ConsoleGrant{}, err
	}
	if p, _ := PrincipalFrom(ctx); p.Scope != ActorCLI {
		var missing []Privilege
		for _, q := range AllPrivileges {
			if slices.Contains(old, q) != slices.Contains(privs, q) && !p.Has(q) {
				missing = append(missing, q)
			}
		}
		if len(missing) > 0 {
			return ConsoleGrant{}, &PrivilegesNotHeldError{Missing: missing}
		}
	}
	now := clock.Now()
	detail := u.UserName + ": " + orNone(FormatPrivileges(privs))
	if old, err = store.SetConsolePrivileges(ctx, accountID, userID, privs,
		NewAuditEntry(ctx, now, "user.privileges", "user", userID, detail)); err != nil {
		return ConsoleGrant{}, err
	}
	g := ConsoleGrant{User: u, Old: old, New: privs}
	if len(privs) > 0 && u.PasswordHash == "" {
		if g.Link, g.LinkExpires, err = IssuePasswordLink(ctx, store, clock, accountID, userID); err != nil {
			return g, err
		}
	}
	return g, nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// IssuePasswordLink makes a one-time link token, valid PasswordLinkLife,
// with which the account's user chooses a password, and returns it with
// its expiry; only its hash is stored. Audited as "user.password_link".
func IssuePasswordLink(ctx context.Context, store Store, clock Clock, accountID, userID string) (string, time.Time, error) {
	token := NewSecret()
	now := clock.Now()
	l := PasswordLink{Hash: HashToken(token), AccountID: accountID, UserID: userID, CreatedAt: now, ExpiresAt: now.Add(PasswordLinkLife)}
	if err := store.CreatePasswordLink(ctx, l, NewAuditEntry(ctx, now, "user.password_link", "user", userID, "valid until "+l.ExpiresAt.UTC().Format(time.RFC3339))); err != nil {
		return "", time.Time{}, err
	}
	return token, l.ExpiresAt, nil
}

// ErrPasswordLink refuses a password link that is unknown, used or
// expired.
var ErrPasswordLink = fmt.Errorf("%w: the link is unknown, used or expired", ErrNotFound)

// ChoosePassword uses up the link token and sets its user's password to
// passwordHash (already hashed by the caller), audited with the user as
// actor. ErrPasswordLink if the link cannot be used.
func ChoosePassword(ctx context.Context, store Store, clock Clock, token, passwordHash string) (PasswordLink, error) {
	now := clock.Now()
	l, err := store.PasswordLink(ctx, HashToken(token), now)
	if err != nil {
		return l, linkErr(err)
	}
	u, err := store.User(ctx, l.AccountID, l.UserID)
	if err != nil {
		return l, linkErr(err)
	}
	actor := WithPrincipal(ctx, ConsolePrincipal(ConsoleSession{AccountID: u.AccountID, UserID: u.ID, UserName: u.UserName}))
	l, err = store.UsePasswordLink(ctx, l.Hash, passwordHash, now,
		NewAuditEntry(actor, now, "user.password", "user", u.ID, "password chosen with a one-time link"))
	return l, linkErr(err)
}

func linkErr(err error) error {
	if errors.Is(err, ErrNotFound) {
		return ErrPasswordLink
	}
	return err
}

// NewConsoleSession makes the session of a console user who signed in
// now and returns it with its id, the cookie's value, which is never
// stored.
func NewConsoleSession(accountID, userID string, now time.Time) (ConsoleSession, string) {
	id := NewSecret()
	return ConsoleSession{Hash: HashToken(id), AccountID: accountID, UserID: userID, CreatedAt: now, LastSeen: now,
		ExpiresAt: now.Add(ConsoleAbsolute)}, id
}

// CSRFToken is the token every console form of the session with the id
// carries: derived from the id, which only the session's browser knows,
// so that another site cannot make one.
func CSRFToken(sessionID string) string {
	m := hmac.New(sha256.New, []byte(sessionID))
	m.Write([]byte("scimd console csrf"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// NewSecret returns 32 random bytes as URL-safe text, for a secret
// (a link token, a session id, a CSRF token).
func NewSecret() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}
