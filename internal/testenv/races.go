package testenv

import (
	"context"
	"sync/atomic"

	"github.com/scimd/scimd/licensing"
)

// LosingStore makes the next Lose writes of users and groups (ReplaceUser,
// ReplaceGroup) lose their race with licensing.ErrStale, as when other
// writes of the same object commit first; the others reach the Store.
type LosingStore struct {
	licensing.Store
	Lose atomic.Int64
}

// loses reports whether the write now calling loses its race.
func (s *LosingStore) loses() bool { return s.Lose.Add(-1) >= 0 }

// ReplaceUser loses its race or replaces the user as the Store does.
func (s *LosingStore) ReplaceUser(ctx context.Context, u licensing.User, expectVersion int64, audit ...licensing.AuditEntry) error {
	if s.loses() {
		return licensing.ErrStale
	}
	return s.Store.ReplaceUser(ctx, u, expectVersion, audit...)
}

// ReplaceGroup loses its race or replaces the group as the Store does.
func (s *LosingStore) ReplaceGroup(ctx context.Context, g licensing.Group, expectVersion int64, audit ...licensing.AuditEntry) error {
	if s.loses() {
		return licensing.ErrStale
	}
	return s.Store.ReplaceGroup(ctx, g, expectVersion, audit...)
}
