package licensing

import (
	"context"
	"maps"
)

// ChangeUser reads the account's user, lets change modify a copy and, if
// change reports a change (a non-empty audit detail), stores it as the
// next version with the store's seat rules, recording action in the audit
// log with the context's principal as actor. It returns the user as
// changed (or as read, when nothing changed) and whether it was written.
// A write that loses its race to another write of the user (ErrStale) is
// made again from a fresh read, change applied anew, as RetryLostRace
// decides: change must depend only on the user it is given. Errors:
// ErrNotFound for no such user, change's own error, ReplaceUser's (a
// *NamedSeatsExhaustedError when the plan's named seats are all assigned,
// ErrConflict for a taken userName), and ErrUnavailable for a write that
// lost every race.
func ChangeUser(ctx context.Context, store Store, clock Clock, accountID, userID, action string, change func(u *User) (detail string, err error)) (User, bool, error) {
	for attempt := 1; ; attempt++ {
		u, err := store.User(ctx, accountID, userID)
		if err != nil {
			return User{}, false, err
		}
		u.Assignments = maps.Clone(u.Assignments)
		version := u.Version
		detail, err := change(&u)
		if err != nil || detail == "" {
			return u, false, err
		}
		now := clock.Now()
		u.Version, u.LastModified = version+1, now
		err = store.ReplaceUser(ctx, u, version, NewAuditEntry(ctx, now, action, "user", u.ID, detail))
		again, err := RetryLostRace(ctx, attempt, err)
		if again {
			continue
		}
		return u, err == nil, err
	}
}

// SetLicense sets the product's license in a (a new map if a is nil),
// LicenseNone removing it, and returns a.
func SetLicense(a Assignments, productID string, t LicenseType) Assignments {
	if a == nil {
		a = Assignments{}
	}
	if t == LicenseNone {
		delete(a, productID)
	} else {
		a[productID] = t
	}
	return a
}
