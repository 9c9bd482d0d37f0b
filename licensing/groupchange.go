package licensing

import (
	"context"
	"maps"
	"slices"
	"strings"
)

// SetGroupLicenses replaces the licenses the account's group gives its
// members with those change returns from the licenses it gives now
// (products absent from them are none; change gets a copy, and is called
// again after a concurrent write), through
// ReplaceGroup, so that the members' licenses in force change in the
// write's transaction, recording action group.licenses in the audit log
// with the context's principal as actor. A write of the group that comes
// between the read and the write (a SCIM PATCH of its members) is written
// over, as RetryLostRace decides. Writing the licenses the group already
// gives changes and records nothing. It returns the group as read before
// the write (whose Assignments are the licenses it gave) and whether it
// wrote. Errors: ErrNotFound for no such group, ErrUnavailable when other
// writes kept winning (MaxRaceAttempts times), and ReplaceGroup's (a
// group write never fails for lack of named seats).
func SetGroupLicenses(ctx context.Context, store Store, clock Clock, accountID, groupID string, change func(was Assignments) Assignments) (Group, bool, error) {
	for attempt := 1; ; attempt++ {
		g, err := store.Group(ctx, accountID, groupID)
		if err != nil {
			return Group{}, false, err
		}
		want := change(maps.Clone(g.Assignments))
		detail := licensesChange(g.Assignments, want)
		if detail == "" {
			return g, false, nil
		}
		next := g
		next.Assignments = want
		next.Version = g.Version + 1
		next.LastModified = clock.Now()
		err = store.ReplaceGroup(ctx, next, g.Version, NewAuditEntry(ctx, next.LastModified, "group.licenses", "group", g.ID, g.DisplayName+": "+detail))
		again, err := RetryLostRace(ctx, attempt, err)
		if again {
			continue // a write came between: apply the licenses over it
		}
		return g, err == nil, err
	}
}

// licensesChange describes the change from the licenses was to want for
// the audit log ("" when they are the same).
func licensesChange(was, want Assignments) string {
	products := slices.Sorted(maps.Keys(was))
	for p := range want {
		if _, ok := was[p]; !ok {
			products = append(products, p)
		}
	}
	slices.Sort(products)
	var parts []string
	for _, p := range products {
		if a, b := was.Of(p), want.Of(p); a != b {
			parts = append(parts, p+": "+string(a)+" -> "+string(b))
		}
	}
	return strings.Join(parts, ", ")
}
