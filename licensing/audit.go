package licensing

import (
	"context"
	"time"
)

// AuditEntry records one write made through the SCIM or admin API: who
// (the token), what (action), on what (target) and when.
type AuditEntry struct {
	// ID is the entry's public id, set by the store: random text, the
	// same every time the entry is read, telling nothing of the order of
	// entries or how many there are, in this account or another.
	ID        string
	AccountID string
	At        time.Time
	// ActorID and ActorName are the token's id and name; ActorScope says
	// which API it used (scim or admin).
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

// Record appends an audit entry for a write the context's principal made.
// Callers record after the write succeeded; a write without a principal
// (the command line) is recorded with an empty actor.
func Record(ctx context.Context, store Store, clock Clock, action, targetType, targetID, detail string) error {
	p, _ := PrincipalFrom(ctx)
	return store.AppendAudit(ctx, AuditEntry{
		AccountID: p.AccountID, At: clock.Now(),
		ActorID: p.TokenID, ActorName: p.TokenName, ActorScope: p.Scope,
		Action: action, TargetType: targetType, TargetID: targetID, Detail: detail,
	})
}
