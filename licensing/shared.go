package licensing

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// SharedSession is a concurrent seat held: the agent holding it and the
// open sessions sharing it, as the admin API and the console show them.
type SharedSession struct {
	ProductID, UserID string
	// State is connected when one of the sessions is, else pending.
	State SessionState
	// Since is the oldest session's start, LastHeartbeat the newest
	// heartbeat of them all.
	Since, LastHeartbeat time.Time
	// Sessions counts the open sessions sharing the seat.
	Sessions int
}

// ID is the shared session's id: "<productId>:<userId>".
func (s SharedSession) ID() string { return s.ProductID + ":" + s.UserID }

// SharedSessions groups the open sessions of concurrent licenses by seat
// (product, user), ordered by since, then id; sessions of named licenses
// are left out.
func SharedSessions(open []Session) []SharedSession {
	bySeat := map[string]int{}
	var out []SharedSession
	for _, s := range open {
		if s.License != LicenseConcurrent {
			continue
		}
		key := s.ProductID + ":" + s.UserID
		i, ok := bySeat[key]
		if !ok {
			i = len(out)
			bySeat[key] = i
			out = append(out, SharedSession{ProductID: s.ProductID, UserID: s.UserID, State: SessionPending,
				Since: s.CreatedAt.UTC(), LastHeartbeat: s.LastSeen.UTC()})
		}
		ss := &out[i]
		ss.Sessions++
		if s.State == SessionConnected {
			ss.State = SessionConnected
		}
		if s.CreatedAt.Before(ss.Since) {
			ss.Since = s.CreatedAt.UTC()
		}
		if s.LastSeen.After(ss.LastHeartbeat) {
			ss.LastHeartbeat = s.LastSeen.UTC()
		}
	}
	slices.SortFunc(out, func(a, b SharedSession) int {
		return cmp.Or(a.Since.Compare(b.Since), strings.Compare(a.ID(), b.ID()))
	})
	return out
}

// EndSharedSession ends the shared session of the user's product (every
// open session of the concurrent license, which frees its seat) on behalf
// of the context's principal, and records it in the audit log as
// session.end of target shared_session. The agent's next call on an ended
// session answers that it ended (ErrGone). It returns the sessions ended,
// and ErrNotFound if the user holds no concurrent seat of the product in
// the account (already free, another account's, or no such user).
func EndSharedSession(ctx context.Context, store Store, clock Clock, accountID, productID, userID string) (int, error) {
	// Only a seat held through a concurrent license is a shared session:
	// a user holds one license type per product, so their open sessions
	// of it are all of that type.
	open, err := store.UserOpenSessions(ctx, accountID, userID)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range open {
		if s.ProductID == productID && s.License == LicenseConcurrent {
			n++
		}
	}
	if n == 0 {
		return 0, ErrNotFound
	}
	detail := fmt.Sprintf("%s: %d sessions ended", productID, n)
	if n == 1 {
		detail = productID + ": 1 session ended"
	}
	p, _ := PrincipalFrom(ctx)
	now := clock.Now()
	ended, err := store.EndSeat(ctx, accountID, productID, userID, EndedByAdmin, p.TokenID, now,
		NewAuditEntry(ctx, now, "session.end", "shared_session", productID+":"+userID, detail))
	if err != nil {
		return 0, err
	}
	return len(ended), nil
}
