package licensing

import (
	"context"
	"fmt"
	"time"
)

// Retention: what the database keeps of the past, and for how long. A
// purger deletes what has ended longer ago than the policy says, in small
// batches, so that no table grows forever and no purge holds locks for
// long. Nothing that is still in use is ever purged: an open session, a
// token that still works.

// PurgeKind names one kind of row a Purger deletes.
type PurgeKind string

// The kinds of rows that are purged, and what "older than the cutoff"
// means for each.
const (
	// PurgeSessions are ended sessions whose EndedAt is before the cutoff.
	PurgeSessions PurgeKind = "sessions"
	// PurgeSeatEvents are seat events whose At is before the cutoff.
	PurgeSeatEvents PurgeKind = "seat_events"
	// PurgeUsageHours are the hourly summaries of seat events
	// (UsageHour) of hours that start before the cutoff, which is the
	// seat events' and, like it, a whole hour: the summaries and the
	// events go together.
	PurgeUsageHours PurgeKind = "usage_hours"
	// PurgeAudit are audit entries whose At is before the cutoff.
	PurgeAudit PurgeKind = "audit"
	// PurgeSignInTokens are the agent app's sign-in tokens (Token.SignIn)
	// revoked or expired before the cutoff.
	PurgeSignInTokens PurgeKind = "sign_in_tokens"
	// PurgeAPITokens are the other tokens (SCIM, admin, agent tokens an
	// admin made) revoked or expired before the cutoff.
	PurgeAPITokens PurgeKind = "api_tokens"
	// PurgeSignInThrottle are the failed sign-in counts (SignInThrottles)
	// whose last failure was before the cutoff and whose block, if any,
	// ended before it: keys the throttle has forgotten anyway.
	PurgeSignInThrottle PurgeKind = "sign_in_throttle"
	// PurgeConsoleSessions are console sessions last used before the
	// cutoff, or whose absolute end was before it. Purge's cutoff is
	// ConsoleIdle ago: exactly the sessions that have ended.
	PurgeConsoleSessions PurgeKind = "console_sessions"
	// PurgePasswordLinks are one-time password links used or expired
	// before the cutoff (now: a used or expired link is of no use).
	PurgePasswordLinks PurgeKind = "password_links"
)

// PurgeKinds lists every kind, in the order Purge deletes them.
var PurgeKinds = []PurgeKind{PurgeSessions, PurgeSeatEvents, PurgeUsageHours, PurgeAudit, PurgeSignInTokens, PurgeAPITokens, PurgeSignInThrottle,
	PurgeConsoleSessions, PurgePasswordLinks}

// Purger deletes old rows. It is part of the Store.
type Purger interface {
	// Purge deletes up to limit rows of the kind, of any account, that
	// ended before cutoff (see the PurgeKind constants), in one short
	// statement, and returns how many it deleted: fewer than limit means
	// none are left but those another purge is deleting. It never deletes an open session, whatever the
	// cutoff, nor a token that is neither revoked nor expired at the
	// cutoff (which must not be in the future). Several processes
	// may purge at once: rows another one is deleting are skipped, not
	// waited for. ErrInvalid for an unknown kind or a limit below 1.
	Purge(ctx context.Context, kind PurgeKind, cutoff time.Time, limit int) (int, error)
}

// APITokenGrace is how long a revoked or expired SCIM, admin or agent
// token an admin made is kept (and listed, so that admins see what ended
// recently) before it is purged. Sign-in tokens, which live hours and
// are made at every sign-in, go as soon as they end. What was done with
// either stays in the audit log.
const APITokenGrace = 30 * 24 * time.Hour

// Retention says how long ended rows are kept. A zero duration keeps
// that kind forever.
type Retention struct {
	// Sessions is how long an ended session is kept after it ended.
	Sessions time.Duration
	// SeatEvents is how long seat events, the source of usage reports,
	// are kept.
	SeatEvents time.Duration
	// Audit is how long audit entries are kept.
	Audit time.Duration
}

// Cutoff returns the time before which rows of the kind are purged at
// now, and false if the kind is kept forever.
func (r Retention) Cutoff(kind PurgeKind, now time.Time) (time.Time, bool) {
	var keep time.Duration
	switch kind {
	case PurgeSessions:
		keep = r.Sessions
	case PurgeSeatEvents, PurgeUsageHours:
		if r.SeatEvents <= 0 {
			return time.Time{}, false
		}
		// A whole hour, so that no hour keeps part of its events: a
		// report reads the same from the events and from the summaries.
		return now.Add(-r.SeatEvents).UTC().Truncate(time.Hour), true
	case PurgeAudit:
		keep = r.Audit
	case PurgeSignInTokens:
		return now, true
	case PurgeAPITokens:
		keep = APITokenGrace
	case PurgeSignInThrottle:
		keep = DefaultSignInQuiet
	case PurgeConsoleSessions:
		keep = ConsoleIdle
	case PurgePasswordLinks:
		return now, true
	}
	if keep <= 0 {
		return time.Time{}, false
	}
	return now.Add(-keep), true
}

// RetainedFrom returns the start of the seat events that are certainly
// kept at now (older ones may have been purged), and false if they are
// kept forever.
func (r Retention) RetainedFrom(now time.Time) (time.Time, bool) {
	return r.Cutoff(PurgeSeatEvents, now)
}

// Purge deletes what r no longer keeps at the clock's time, every kind in
// turn, in batches of up to batch rows (one statement each) until a batch
// comes back short, and returns how many rows of each kind it deleted. It
// stops at the first error, with the counts so far, and between batches
// when ctx ends.
func Purge(ctx context.Context, p Purger, r Retention, clock Clock, batch int) (map[PurgeKind]int, error) {
	purged := map[PurgeKind]int{}
	now := clock.Now()
	for _, kind := range PurgeKinds {
		cutoff, ok := r.Cutoff(kind, now)
		if !ok {
			continue
		}
		for {
			if err := ctx.Err(); err != nil {
				return purged, err
			}
			n, err := p.Purge(ctx, kind, cutoff, batch)
			purged[kind] += n
			if err != nil {
				return purged, fmt.Errorf("purge %s: %w", kind, err)
			}
			if n < batch {
				break
			}
		}
	}
	return purged, nil
}
