package sqlstore

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimd/scimd/licensing"
)

// auditFailures counts what a StoreObserver is told of failed audit
// entries.
type auditFailures struct{ n atomic.Int64 }

func (a *auditFailures) SeatEventCommitted(licensing.SeatEvent) {}
func (a *auditFailures) AuditWriteFailed()                      { a.n.Add(1) }

// TestAbandonedWriteIsNoAuditFailure cuts the context of a user creation
// (with products, so in a transaction) after each of its statements in
// turn: a write its caller abandoned is not an audit entry the store
// failed to write, whichever statement notices the cut.
func TestAbandonedWriteIsNoAuditFailure(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		cutAfter(t, s)
		obs := &auditFailures{}
		s.Observe(obs)
		bg := context.Background()
		a := licensing.Account{ID: licensing.NewID(), Name: "abandon-" + randomHex(6), CreatedAt: time.Now()}
		if err := s.CreateAccount(bg, a); err != nil {
			t.Fatal(err)
		}
		if err := s.SetPlan(bg, licensing.Plan{AccountID: a.ID, ProductID: "p", NamedSeats: 100}); err != nil {
			t.Fatal(err)
		}
		failed := 0
		for after := int64(1); ; after++ {
			if after > 50 {
				t.Fatal("still cut after 50 statements")
			}
			now := time.Now()
			u := licensing.User{AccountID: a.ID, ID: licensing.NewID(), UserName: "u-" + randomHex(8), Active: true,
				Doc: []byte(`{}`), Created: now, LastModified: now, Version: 1, Assignments: licensing.Assignments{"p": licensing.LicenseNamed}}
			ctx, cancel := context.WithCancel(bg)
			c := &cutter{cancel: cancel, after: after}
			err := s.CreateUser(context.WithValue(ctx, cutterKey{}, c), u, licensing.AuditEntry{At: now, ActorID: "tok", ActorName: "test",
				ActorScope: licensing.ScopeAdmin, Action: "user.create", TargetType: "user", TargetID: u.ID})
			cancel()
			if err != nil {
				failed++
			}
			if c.seen.Load() < after {
				break // not cut: every statement was tried
			}
		}
		if failed == 0 {
			t.Fatal("no cut made the write fail: the test cut nothing")
		}
		if n := obs.n.Load(); n != 0 {
			t.Errorf("%d abandoned writes told as audit failures", n)
		}
	})
}
