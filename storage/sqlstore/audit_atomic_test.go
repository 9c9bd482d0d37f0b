package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/scimd/scimd/licensing"
)

// cutter cancels a write's context right after its n-th statement, the
// way a client that hangs up (or a request deadline) cancels a request's
// context at any moment of the write.
type cutter struct {
	cancel context.CancelFunc
	// after is the statement after which to cancel; seen counts them.
	after int64
	seen  atomic.Int64
}

type cutterKey struct{}

// cutAfter registers, once per store, callbacks that run after every
// statement gorm executes and cancel the context of a write that carries
// a cutter once its statement count is reached.
func cutAfter(t *testing.T, s *Store) {
	t.Helper()
	cut := func(db *gorm.DB) {
		c, ok := db.Statement.Context.Value(cutterKey{}).(*cutter)
		if ok && c.seen.Add(1) == c.after {
			c.cancel()
		}
	}
	if err := s.db.Callback().Raw().After("gorm:raw").Register("test:cut", cut); err != nil {
		t.Fatal(err)
	}
	if err := s.db.Callback().Row().After("gorm:row").Register("test:cut", cut); err != nil {
		t.Fatal(err)
	}
}

// TestAuditLandsWithItsWrite cuts the context of each kind of audited
// write after each of its statements in turn, up to its commit, and
// checks that the write and its audit entry both landed or neither did.
// Each kind ends with a run that the cut does not reach, in which both
// must land.
func TestAuditLandsWithItsWrite(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		cutAfter(t, s)
		bg := context.Background()
		a := licensing.Account{ID: licensing.NewID(), Name: "atomic-" + randomHex(6), CreatedAt: time.Now()}
		if err := s.CreateAccount(bg, a); err != nil {
			t.Fatal(err)
		}
		if err := s.SetPlan(bg, licensing.Plan{AccountID: a.ID, ProductID: "p", NamedSeats: 1000, ConcurrentSeats: 1000}); err != nil {
			t.Fatal(err)
		}
		newUser := func(assign licensing.Assignments) licensing.User {
			now := time.Now()
			return licensing.User{AccountID: a.ID, ID: licensing.NewID(), UserName: "u-" + randomHex(8), Active: true,
				Doc: []byte(`{}`), Created: now, LastModified: now, Version: 1, Assignments: assign}
		}
		stored := func(u licensing.User) licensing.User {
			t.Helper()
			if err := s.CreateUser(bg, u); err != nil {
				t.Fatal(err)
			}
			return u
		}
		version := func(id string) int64 {
			u, err := s.User(bg, a.ID, id)
			if errors.Is(err, licensing.ErrNotFound) {
				return 0
			}
			if err != nil {
				t.Fatal(err)
			}
			return u.Version
		}
		kinds := []struct {
			name string
			// prepare makes what the write needs and returns the write
			// (given its context and audit entry), its target id, and
			// whether the write's effect is in the database.
			prepare func() (write func(ctx context.Context, e licensing.AuditEntry) error, target string, landed func() bool)
		}{
			{"create user without products", func() (func(context.Context, licensing.AuditEntry) error, string, func() bool) {
				u := newUser(nil)
				return func(ctx context.Context, e licensing.AuditEntry) error { return s.CreateUser(ctx, u, e) }, u.ID,
					func() bool { return version(u.ID) == 1 }
			}},
			{"create user with products", func() (func(context.Context, licensing.AuditEntry) error, string, func() bool) {
				u := newUser(licensing.Assignments{"p": licensing.LicenseNamed})
				return func(ctx context.Context, e licensing.AuditEntry) error { return s.CreateUser(ctx, u, e) }, u.ID,
					func() bool { return version(u.ID) == 1 }
			}},
			{"replace user", func() (func(context.Context, licensing.AuditEntry) error, string, func() bool) {
				u := stored(newUser(licensing.Assignments{"p": licensing.LicenseConcurrent}))
				next := u
				next.Active, next.PasswordHash, next.Version, next.Assignments = false, "new-hash", 2, licensing.Assignments{"p": licensing.LicenseNamed}
				return func(ctx context.Context, e licensing.AuditEntry) error { return s.ReplaceUser(ctx, next, 1, e) }, u.ID,
					func() bool { return version(u.ID) == 2 }
			}},
			{"delete user", func() (func(context.Context, licensing.AuditEntry) error, string, func() bool) {
				u := stored(newUser(licensing.Assignments{"p": licensing.LicenseNamed}))
				return func(ctx context.Context, e licensing.AuditEntry) error {
						return s.DeleteUser(ctx, a.ID, u.ID, time.Now(), e)
					}, u.ID,
					func() bool { return version(u.ID) == 0 }
			}},
			{"create group", func() (func(context.Context, licensing.AuditEntry) error, string, func() bool) {
				u := stored(newUser(nil))
				now := time.Now()
				g := licensing.Group{AccountID: a.ID, ID: licensing.NewID(), DisplayName: "g-" + randomHex(8), Doc: []byte(`{}`),
					Members: []licensing.Member{{ID: u.ID}}, Created: now, LastModified: now, Version: 1}
				return func(ctx context.Context, e licensing.AuditEntry) error { return s.CreateGroup(ctx, g, e) }, g.ID,
					func() bool { _, err := s.Group(bg, a.ID, g.ID); return err == nil }
			}},
			{"set plan", func() (func(context.Context, licensing.AuditEntry) error, string, func() bool) {
				seats := 2000 + int(time.Now().UnixNano()%1000)
				p := licensing.Plan{AccountID: a.ID, ProductID: "p", NamedSeats: seats, ConcurrentSeats: 1000}
				return func(ctx context.Context, e licensing.AuditEntry) error { return s.SetPlan(ctx, p, e) }, "p" + fmt.Sprint(seats),
					func() bool {
						us, err := s.Usage(bg, a.ID)
						if err != nil {
							t.Fatal(err)
						}
						return len(us) == 1 && us[0].NamedSeats == seats
					}
			}},
			{"revoke token", func() (func(context.Context, licensing.AuditEntry) error, string, func() bool) {
				tok, _, _ := licensing.NewToken(a.ID, "t", licensing.ScopeSCIM, time.Now())
				if err := s.CreateToken(bg, tok); err != nil {
					t.Fatal(err)
				}
				return func(ctx context.Context, e licensing.AuditEntry) error {
						return s.RevokeToken(ctx, a.ID, tok.ID, time.Now(), e)
					}, tok.ID,
					func() bool { got, err := s.Token(bg, tok.ID); return err == nil && got.RevokedAt != nil }
			}},
			{"end seat", func() (func(context.Context, licensing.AuditEntry) error, string, func() bool) {
				u := stored(newUser(licensing.Assignments{"p": licensing.LicenseConcurrent}))
				now := time.Now()
				sess := licensing.Session{ID: licensing.NewID(), AccountID: a.ID, ProductID: "p", UserID: u.ID, Platform: licensing.PlatformMac,
					CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(time.Hour)}
				if err := s.StartSession(bg, &sess, ""); err != nil {
					t.Fatal(err)
				}
				return func(ctx context.Context, e licensing.AuditEntry) error {
						_, err := s.EndSeat(ctx, a.ID, "p", u.ID, licensing.EndedByAdmin, "admin", time.Now(), e)
						return err
					}, u.ID, func() bool {
						open, err := s.UserOpenSessions(bg, a.ID, u.ID)
						if err != nil {
							t.Fatal(err)
						}
						return len(open) == 0
					}
			}},
		}
		for _, k := range kinds {
			for after := int64(1); ; after++ {
				if after > 50 {
					t.Fatalf("%s: still cut after 50 statements", k.name)
				}
				write, target, landed := k.prepare()
				ctx, cancel := context.WithCancel(bg)
				c := &cutter{cancel: cancel, after: after}
				ctx = context.WithValue(ctx, cutterKey{}, c)
				e := licensing.AuditEntry{At: time.Now(), ActorID: "tok", ActorName: "test", ActorScope: licensing.ScopeAdmin,
					Action: "atomic.write", TargetType: "thing", TargetID: target, Detail: k.name}
				err := write(ctx, e)
				cut := c.seen.Load() >= after
				cancel()
				page, lerr := s.AuditLog(bg, a.ID, licensing.AuditQuery{TargetID: target, Action: "atomic.write", Limit: 5})
				if lerr != nil {
					t.Fatal(lerr)
				}
				wrote, recorded := landed(), len(page.Items) == 1
				if wrote != recorded || len(page.Items) > 1 {
					t.Fatalf("%s cut after statement %d (error %v): write landed %t, %d audit entries: want both or neither",
						k.name, after, err, wrote, len(page.Items))
				}
				if err == nil && !wrote {
					t.Fatalf("%s cut after statement %d answered success, yet nothing landed", k.name, after)
				}
				if !cut {
					if err != nil || !wrote {
						t.Fatalf("%s, not cut: %v, landed %t", k.name, err, wrote)
					}
					break // the write ran to its end: every cut point was tried
				}
			}
		}
	})
}
