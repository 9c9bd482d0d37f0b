package conformance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/licensing"
)

// testSeatTotals checks the sums over accounts that monitoring reads:
// plans and their use added up per product, the accounts whose shared
// pool is full, and the live waiters, a product with waiters but no plan
// included. The products are the test's own, so that the other tests'
// plans in a shared database do not count.
func testSeatTotals(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	tag := strings.ReplaceAll(newID()[:13], "-", "")
	pa, pb, pc := "mon-a-"+tag, "mon-b-"+tag, "mon-c-"+tag
	a, b := newAccount(t, s), newAccount(t, s)
	setPlan(t, s, a.ID, pa, 3, 2)
	setPlan(t, s, b.ID, pa, 1, 1)
	setPlan(t, s, a.ID, pb, 0, 0)
	createUser(t, s, newAgent(a.ID, "named@example.com", pa, "named"))
	holder := createUser(t, s, newAgent(a.ID, "holder@example.com", pa, "concurrent"))
	waiter := createUser(t, s, newAgent(a.ID, "waiter@example.com", pa, "concurrent", pc, "concurrent"))
	other := createUser(t, s, newAgent(b.ID, "other@example.com", pa, "concurrent"))
	late := createUser(t, s, newAgent(b.ID, "late@example.com", pa, "concurrent"))

	t0 := now()
	startSession(t, s, a.ID, holder.ID, pa, t0) // a: 1 of 2, not full
	startSession(t, s, b.ID, other.ID, pa, t0)  // b: 1 of 1, full
	for _, w := range []struct {
		account, product, user string
		until                  time.Time
	}{
		{a.ID, pa, waiter.ID, t0.Add(time.Minute)},
		{a.ID, pc, waiter.ID, t0.Add(time.Minute)},
		{b.ID, pa, late.ID, t0.Add(time.Second)}, // gone by t0+2s
	} {
		if _, err := s.JoinQueue(ctx, w.account, w.product, w.user, t0, w.until, 0); err != nil {
			t.Fatalf("JoinQueue: %v", err)
		}
	}

	all, err := s.SeatTotals(ctx, t0.Add(2*time.Second))
	wantErr(t, "SeatTotals", err, nil)
	var got []licensing.ProductSeats
	for _, p := range all {
		if strings.HasSuffix(p.ProductID, tag) {
			got = append(got, p)
		}
	}
	want := []licensing.ProductSeats{
		{ProductID: pa, NamedSeats: 4, NamedAssigned: 1, ConcurrentSeats: 3, ConcurrentOccupied: 2, FullPools: 1, Waiting: 1},
		{ProductID: pb},
		{ProductID: pc, Waiting: 1},
	}
	if !slices.Equal(got, want) {
		t.Errorf("SeatTotals of the test's products:\n got %+v\nwant %+v", got, want)
	}
	if !slices.IsSortedFunc(all, func(x, y licensing.ProductSeats) int { return strings.Compare(x.ProductID, y.ProductID) }) {
		t.Errorf("SeatTotals not ordered by product id")
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.SeatTotals(cancelled, t0); err == nil {
		t.Errorf("SeatTotals with a context ended: no error")
	}
}

// recorder is a StoreObserver keeping what it is told.
type recorder struct {
	mu            sync.Mutex
	events        []licensing.SeatEvent
	auditFailures int
}

func (r *recorder) SeatEventCommitted(e licensing.SeatEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) AuditWriteFailed() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.auditFailures++
}

func (r *recorder) told() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return describeEvents(r.events)
}

func (r *recorder) failedAudits() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.auditFailures
}

// describeEvents names each event by kind, product and user.
func describeEvents(evs []licensing.SeatEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = fmt.Sprintf("%s %s %s", e.Kind, e.ProductID, e.UserID)
	}
	return out
}

// testSeatEventsObserved checks that the observer is told each seat event
// the store records exactly once, after it committed: a claim, a denial,
// a release, an expiry and an end by an admin, but neither the occupied
// event of a claim refused within its transaction (rolled back) nor a
// waiter's refused retry (no event), and nothing once observing stopped.
func testSeatEventsObserved(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	rec := &recorder{}
	s.Observe(rec)
	t.Cleanup(func() { s.Observe(nil) })
	a := newAccount(t, s)
	setPlan(t, s, a.ID, productV5, 0, 1)
	var us []licensing.User
	for i := range 4 {
		us = append(us, createUser(t, s, newAgent(a.ID, fmt.Sprintf("obs%d@example.com", i), productV5, "concurrent")))
	}
	ann, bob, cyd, dan := us[0], us[1], us[2], us[3]
	t0 := now()

	held := startSession(t, s, a.ID, ann.ID, productV5, t0)
	wantInUse(t, "claim of a full pool", s.StartSession(ctx, newSession(a.ID, bob.ID, productV5, t0), ""), productV5, 1, 1)
	bobTicket, err := s.JoinQueue(ctx, a.ID, productV5, bob.ID, t0, t0.Add(time.Minute), 0)
	wantErr(t, "JoinQueue", err, nil)
	wantInUse(t, "a waiter's retry", s.StartSession(ctx, newSession(a.ID, bob.ID, productV5, t0), bobTicket), productV5, 1, 1)
	_, err = s.EndSession(ctx, a.ID, ann.ID, held.ID, licensing.EndedByAgent, "", t0.Add(10*time.Second))
	wantErr(t, "EndSession", err, nil)
	cydTicket, err := s.JoinQueue(ctx, a.ID, productV5, cyd.ID, t0.Add(10*time.Second), t0.Add(20*time.Minute), 0)
	wantErr(t, "JoinQueue", err, nil)

	// Bob's ticket ran out, Cyd waits behind it: the seat looks free to
	// Bob's claim until its transaction counts Cyd ahead of him, records
	// the occupied event and is refused, rolling the event back.
	t1 := t0.Add(2 * time.Minute)
	wantInUse(t, "claim with a ticket that ran out", s.StartSession(ctx, newSession(a.ID, bob.ID, productV5, t1), bobTicket), productV5, 0, 1)
	cydSession := newSession(a.ID, cyd.ID, productV5, t1)
	wantErr(t, "StartSession of the first in line", s.StartSession(ctx, cydSession, cydTicket), nil)
	// Cyd's lease ran out: her heartbeat ends the session as expired.
	_, err = s.TouchSession(ctx, a.ID, cyd.ID, cydSession.ID, false, cydSession.ExpiresAt.Add(time.Second), cydSession.ExpiresAt.Add(time.Hour))
	wantEnded(t, "TouchSession after the lease", err, licensing.EndedByExpiry)
	t2 := cydSession.ExpiresAt.Add(time.Minute)
	startSession(t, s, a.ID, dan.ID, productV5, t2)
	_, err = s.EndSeat(ctx, a.ID, productV5, dan.ID, licensing.EndedByAdmin, "admin-token", t2.Add(time.Second))
	wantErr(t, "EndSeat", err, nil)

	want := []string{
		"occupied " + productV5 + " " + ann.ID,
		"denied " + productV5 + " " + bob.ID,
		"released " + productV5 + " " + ann.ID,
		"occupied " + productV5 + " " + cyd.ID,
		"expired " + productV5 + " " + cyd.ID,
		"occupied " + productV5 + " " + dan.ID,
		"ended " + productV5 + " " + dan.ID,
	}
	if got := rec.told(); !slices.Equal(got, want) {
		t.Errorf("observer told\n %q\nwant\n %q", got, want)
	}
	if stored := describeEvents(eventsOf(t, s, a.ID)); !slices.Equal(stored, want) {
		t.Errorf("events stored\n %q\nwant the ones told\n %q", stored, want)
	}

	if n := rec.failedAudits(); n != 0 {
		t.Errorf("observer told of %d audit failures, want none", n)
	}
	s.Observe(nil)
	startSession(t, s, a.ID, dan.ID, productV5, t2.Add(time.Minute))
	if got := rec.told(); len(got) != len(want) {
		t.Errorf("observer told %d events after it was removed", len(got)-len(want))
	}
}

// testAuditWriteFailuresObserved checks that the observer is told of each
// audit entry the store cannot write (text it cannot hold, an account
// that does not exist), whose write fails with it, and of nothing for an
// entry written or a write abandoned by its caller.
func testAuditWriteFailuresObserved(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	rec := &recorder{}
	s.Observe(rec)
	t.Cleanup(func() { s.Observe(nil) })
	a := newAccount(t, s)
	entry := func(detail string) licensing.AuditEntry {
		return licensing.AuditEntry{AccountID: a.ID, At: now(), ActorID: "t", ActorName: "test", ActorScope: licensing.ScopeAdmin,
			Action: "plan.change", TargetType: "plan", TargetID: productV5, Detail: detail}
	}
	wantFailures := func(what string, n int) {
		t.Helper()
		if got := rec.failedAudits(); got != n {
			t.Errorf("%s: observer told of %d audit failures, want %d", what, got, n)
		}
	}

	wantErr(t, "AppendAudit", s.AppendAudit(ctx, entry("fine")), nil)
	setPlan(t, s, a.ID, productV5, 1, 1)
	wantFailures("entries written", 0)

	p := licensing.Plan{AccountID: a.ID, ProductID: productDesk, NamedSeats: 2}
	wantErr(t, "SetPlan with an entry the database cannot hold", s.SetPlan(ctx, p, entry("nul\x00")), licensing.ErrInvalid)
	if _, planned := usageOf(t, s, a.ID, productDesk); planned {
		t.Errorf("the plan was set without its audit entry")
	}
	wantFailures("an entry of a plan change with a NUL", 1)

	u := newUser(a.ID, "audited@example.com")
	wantErr(t, "CreateUser with an entry the database cannot hold", s.CreateUser(ctx, u, entry("nul\x00")), licensing.ErrInvalid)
	if _, err := s.User(ctx, a.ID, u.ID); !errors.Is(err, licensing.ErrNotFound) {
		t.Errorf("the user was created without its audit entry: %v", err)
	}
	wantFailures("an entry of a user creation with a NUL", 2)

	orphan := entry("no account")
	orphan.AccountID = newID()
	wantErr(t, "AppendAudit of no account", s.AppendAudit(ctx, orphan), licensing.ErrNotFound)
	wantFailures("an entry of no account", 3)

	gone, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.AppendAudit(gone, entry("abandoned")); err == nil {
		t.Errorf("AppendAudit with its context ended: no error")
	}
	wantFailures("an entry whose caller went away", 3)
}
