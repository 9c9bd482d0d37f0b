package licensing

import (
	"context"
	"time"
)

// AuditEntry records one write: who (the actor), what (action), on what
// (target) and when. Every write of the SCIM and admin APIs and of the
// command line records one, in the write's own transaction: the Store's
// write methods take the entries that record them (see Store).
type AuditEntry struct {
	// ID is the entry's public id, set by the store: random text, the
	// same every time the entry is read, telling nothing of the order of
	// entries or how many there are, in this account or another.
	ID        string
	AccountID string
	At        time.Time
	// ActorID and ActorName are the token's id and name for a write made
	// through an API (ActorScope scim or admin), or "cli" and the OS user
	// for one made with the command line (ActorScope ActorCLI).
	ActorID    string
	ActorName  string
	ActorScope Scope
	// Action is a dotted verb such as "user.create", "user.patch",
	// "group.delete", "product.grant", "plan.change", "session.end",
	// "token.create".
	Action string
	// TargetType and TargetID name the object written ("user" and its id,
	// "plan" and the product id, ...).
	TargetType string
	TargetID   string
	// Detail is a short human-readable summary (no secrets).
	Detail string
}

// ActorCLI is the actor scope of writes made with the scimd command line
// on the server's host. Their actor id is "cli" and their actor name the
// operating system user who ran the command.
const ActorCLI Scope = "cli"

// CLIPrincipal is the principal of a command-line write to the account,
// run by the operating system user osUser: the actor its audit entries
// record.
func CLIPrincipal(accountID, osUser string) Principal {
	if osUser == "" {
		osUser = "unknown"
	}
	return Principal{AccountID: accountID, TokenID: "cli", TokenName: osUser, Scope: ActorCLI}
}

// AuditQuery selects audit entries, newest first.
type AuditQuery struct {
	// Action, ActorID, TargetType and TargetID, when not "", must match
	// exactly.
	Action     string
	ActorID    string
	TargetType string
	TargetID   string
	// From <= At < To, for the bounds that are not zero.
	From, To time.Time
	// Limit is the most entries to return (at least 1).
	Limit int
	// After continues from a previous Page.Next.
	After string
}

// NewAuditEntry returns the audit entry of a write that the context's
// principal is about to make at the time at, to be passed to the store's
// write method so that both land together. A context without a principal
// records an empty actor: every write is recorded, even one whose caller
// forgot to say who made it.
func NewAuditEntry(ctx context.Context, at time.Time, action, targetType, targetID, detail string) AuditEntry {
	p, _ := PrincipalFrom(ctx)
	return AuditEntry{
		AccountID: p.AccountID, At: at,
		ActorID: p.TokenID, ActorName: p.TokenName, ActorScope: p.Scope,
		Action: action, TargetType: targetType, TargetID: targetID, Detail: detail,
	}
}
