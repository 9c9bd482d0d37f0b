package conformance

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/scimd/scimd/licensing"
)

// SeatInspector is what the store a backend's test hands to Run may add
// so that the seat tests can compare the counters of the plans with the
// rows behind them. SeatRows returns the occupied concurrent seats of the
// account's product: for each user holding one, the number of open
// sessions the seat counts.
type SeatInspector interface {
	SeatRows(ctx context.Context, accountID, productID string) (map[string]int, error)
}

// The products of the seat tests. Stores know products by id only.
const (
	productV5   = "remote-support-v5"
	productDesk = "service-desk"
)

// setPlan sets a plan and fails the test on error.
func setPlan(t *testing.T, s licensing.Store, accountID, productID string, named, concurrent int) {
	t.Helper()
	p := licensing.Plan{AccountID: accountID, ProductID: productID, NamedSeats: named, ConcurrentSeats: concurrent}
	if err := s.SetPlan(context.Background(), p); err != nil {
		t.Fatalf("SetPlan(%s: %d named, %d concurrent): %v", productID, named, concurrent, err)
	}
}

// newAgent returns an active user holding the products as given, version
// 1, not yet stored.
func newAgent(accountID, userName string, licenses ...string) licensing.User {
	u := newUser(accountID, userName)
	if len(licenses)%2 != 0 {
		panic("newAgent wants product, license pairs")
	}
	for i := 0; i < len(licenses); i += 2 {
		if u.Assignments == nil {
			u.Assignments = licensing.Assignments{}
		}
		u.Assignments[licenses[i]] = licensing.LicenseType(licenses[i+1])
	}
	return u
}

// newSession returns a session of the user's product started at at, with
// a lease of an hour.
func newSession(accountID, userID, productID string, at time.Time) *licensing.Session {
	return &licensing.Session{
		ID:        newID(),
		AccountID: accountID,
		ProductID: productID,
		UserID:    userID,
		Attended:  true,
		Platform:  licensing.PlatformWindows,
		CreatedAt: at,
		LastSeen:  at,
		ExpiresAt: at.Add(time.Hour),
	}
}

// startSession starts a session of the user's product at at and fails
// the test on error.
func startSession(t *testing.T, s licensing.Store, accountID, userID, productID string, at time.Time) licensing.Session {
	t.Helper()
	sess := newSession(accountID, userID, productID, at)
	if err := s.StartSession(context.Background(), sess, ""); err != nil {
		t.Fatalf("StartSession(%s of %s): %v", productID, userID, err)
	}
	return *sess
}

// usageOf returns the usage of the account's product (zero without a
// plan) and whether there is a plan.
func usageOf(t *testing.T, s licensing.Store, accountID, productID string) (licensing.Usage, bool) {
	t.Helper()
	all, err := s.Usage(context.Background(), accountID)
	wantErr(t, "Usage", err, nil)
	for _, u := range all {
		if u.ProductID == productID {
			return u, true
		}
	}
	return licensing.Usage{}, false
}

// wantUsage fails unless the product's counters are named and occupied.
func wantUsage(t *testing.T, s licensing.Store, accountID, productID string, named, occupied int) {
	t.Helper()
	u, _ := usageOf(t, s, accountID, productID)
	if u.NamedAssigned != named || u.ConcurrentOccupied != occupied {
		t.Errorf("%s usage: %d named assigned, %d concurrent occupied; want %d and %d",
			productID, u.NamedAssigned, u.ConcurrentOccupied, named, occupied)
	}
}

// checkSeats checks that the counters of the account's product agree with
// the rows they count: concurrent occupied == seat rows == users with an
// open concurrent session, each seat counting its user's open sessions,
// every open session of a user who holds the product that way, and named
// assigned == active users with a named assignment. It returns the usage.
func checkSeats(t *testing.T, s licensing.Store, accountID, productID string) licensing.Usage {
	t.Helper()
	ctx := context.Background()
	u, _ := usageOf(t, s, accountID, productID)
	open, err := s.OpenSessions(ctx, accountID, productID)
	wantErr(t, "OpenSessions", err, nil)
	page, err := s.Users(ctx, accountID, licensing.Query{Limit: 100000, WithoutGroups: true})
	wantErr(t, "Users", err, nil)
	users := usersByID(page.Items)

	holding := map[string]int{}
	for _, sess := range open {
		if sess.State == licensing.SessionEnded || sess.ProductID != productID {
			t.Errorf("OpenSessions(%s) lists %+v", productID, sess)
		}
		owner, ok := users[sess.UserID]
		switch {
		case !ok:
			t.Errorf("open session %s of a deleted user %s", sess.ID, sess.UserID)
		case !owner.Active:
			t.Errorf("open session %s of the inactive user %s", sess.ID, owner.UserName)
		case licensing.InForce(owner.Licenses, productID) != sess.License &&
			// A promotion from a concurrent license to a named one ends
			// no session.
			!(sess.License == licensing.LicenseConcurrent && licensing.InForce(owner.Licenses, productID) == licensing.LicenseNamed):
			t.Errorf("open %s session %s of %s, who holds %s as %q", sess.License, sess.ID, owner.UserName, productID,
				licensing.InForce(owner.Licenses, productID))
		}
		if sess.License == licensing.LicenseConcurrent {
			holding[sess.UserID]++
		}
	}
	if u.ConcurrentOccupied != len(holding) {
		t.Errorf("%s: %d concurrent seats counted, %d users hold open concurrent sessions", productID, u.ConcurrentOccupied, len(holding))
	}
	if in, ok := s.(SeatInspector); ok {
		rows, err := in.SeatRows(ctx, accountID, productID)
		wantErr(t, "SeatRows", err, nil)
		if !maps.Equal(rows, holding) {
			t.Errorf("%s: seat rows (user: open sessions) %v, want %v from the open sessions", productID, rows, holding)
		}
	}
	named, pending := 0, 0
	for _, usr := range page.Items {
		if usr.Active && licensing.InForce(usr.Licenses, productID) == licensing.LicenseNamed {
			named++
		}
		if slices.ContainsFunc(usr.Licenses, func(l licensing.License) bool {
			return l.ProductID == productID && l.Status == licensing.LicensePending
		}) {
			pending++
		}
		if !usr.Active && len(usr.Licenses) > 0 {
			t.Errorf("inactive user %s has licenses %+v", usr.UserName, usr.Licenses)
		}
		if d := usr.Assignments.Of(productID); usr.Active && d != licensing.LicenseNone && licensing.InForce(usr.Licenses, productID) != d {
			t.Errorf("user %s: direct %s of %s, but %q in force", usr.UserName, d, productID, licensing.InForce(usr.Licenses, productID))
		}
	}
	if pending > 0 && u.NamedAssigned < u.NamedSeats {
		t.Errorf("%s: %d users wait for a named seat while %d of %d are free", productID, pending,
			u.NamedSeats-u.NamedAssigned, u.NamedSeats)
	}
	if u.NamedAssigned != named {
		t.Errorf("%s: %d named seats counted, %d active users hold a named license in force", productID, u.NamedAssigned, named)
	}
	if u.NamedAssigned > u.NamedSeats {
		t.Errorf("%s: %d named seats counted, more than the plan's %d", productID, u.NamedAssigned, u.NamedSeats)
	}
	return u
}

// eventsOf returns the account's seat events of the last and next days.
func eventsOf(t *testing.T, s licensing.Store, accountID string) []licensing.SeatEvent {
	t.Helper()
	evs, err := s.SeatEvents(context.Background(), accountID, time.Unix(0, 0), time.Now().Add(100*365*24*time.Hour))
	wantErr(t, "SeatEvents", err, nil)
	return evs
}

// countEvents counts the events of a kind (of any kind if kind is "").
func countEvents(evs []licensing.SeatEvent, kind licensing.SeatEventKind) int {
	n := 0
	for _, e := range evs {
		if kind == "" || e.Kind == kind {
			n++
		}
	}
	return n
}

// wantEnded fails unless err says the session ended for the reason.
func wantEnded(t *testing.T, what string, err error, reason licensing.EndReason) {
	t.Helper()
	var ended *licensing.SessionEndedError
	if !errors.As(err, &ended) || !errors.Is(err, licensing.ErrGone) {
		t.Fatalf("%s: error %v, want a *SessionEndedError", what, err)
	}
	if ended.Reason != reason {
		t.Errorf("%s: session ended by %q, want %q", what, ended.Reason, reason)
	}
}

// wantInUse fails unless err is a *SharedSeatsInUseError with the numbers.
func wantInUse(t *testing.T, what string, err error, productID string, occupied, total int) {
	t.Helper()
	var inUse *licensing.SharedSeatsInUseError
	if !errors.As(err, &inUse) || !errors.Is(err, licensing.ErrSeatLimit) {
		t.Fatalf("%s: error %v, want a *SharedSeatsInUseError", what, err)
	}
	if inUse.Product.ID != productID || inUse.Occupied != occupied || inUse.Total != total {
		t.Errorf("%s: %+v, want %s with %d of %d occupied", what, *inUse, productID, occupied, total)
	}
	if err.Error() != licensing.AllSharedInUse {
		t.Errorf("%s: message %q", what, err.Error())
	}
}

// wantNamedExhausted fails unless err is a *NamedSeatsExhaustedError with
// the numbers.
func wantNamedExhausted(t *testing.T, what string, err error, productID string, assigned, total int) {
	t.Helper()
	var full *licensing.NamedSeatsExhaustedError
	if !errors.As(err, &full) || !errors.Is(err, licensing.ErrSeatLimit) {
		t.Fatalf("%s: error %v, want a *NamedSeatsExhaustedError", what, err)
	}
	if full.Product.ID != productID || full.Assigned != assigned || full.Total != total {
		t.Errorf("%s: %+v, want %s with %d of %d assigned", what, *full, productID, assigned, total)
	}
}

// replaced returns u with the change applied, its version and last
// modification moved on.
func replaced(u licensing.User, change func(u *licensing.User)) licensing.User {
	next := u
	next.Assignments = maps.Clone(u.Assignments)
	change(&next)
	next.Version = u.Version + 1
	next.LastModified = u.LastModified.Add(time.Second)
	return next
}

func testSeatPlans(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)
	all, err := s.Usage(ctx, a.ID)
	wantErr(t, "Usage without plans", err, nil)
	if len(all) != 0 {
		t.Errorf("Usage without plans = %+v", all)
	}
	setPlan(t, s, a.ID, productV5, 3, 2)
	setPlan(t, s, a.ID, productDesk, 1, 0)
	setPlan(t, s, a.ID, productV5, 4, 5) // update
	all, err = s.Usage(ctx, a.ID)
	wantErr(t, "Usage", err, nil)
	want := []licensing.Usage{
		{Plan: licensing.Plan{AccountID: a.ID, ProductID: productV5, NamedSeats: 4, ConcurrentSeats: 5}},
		{Plan: licensing.Plan{AccountID: a.ID, ProductID: productDesk, NamedSeats: 1, ConcurrentSeats: 0}},
	}
	if !slices.Equal(all, want) {
		t.Errorf("Usage = %+v, want %+v", all, want)
	}
	for _, bad := range []licensing.Plan{
		{AccountID: a.ID, ProductID: productV5, NamedSeats: -1},
		{AccountID: a.ID, ProductID: productV5, ConcurrentSeats: -1},
		{AccountID: a.ID, ProductID: ""},
	} {
		wantErr(t, fmt.Sprintf("SetPlan(%+v)", bad), s.SetPlan(ctx, bad), licensing.ErrInvalid)
	}
	wantErr(t, "SetPlan of a missing account",
		s.SetPlan(ctx, licensing.Plan{AccountID: newID(), ProductID: productV5, NamedSeats: 1}), licensing.ErrNotFound)

	// Named seats cannot go below the number assigned.
	for i := range 3 {
		createUser(t, s, newAgent(a.ID, fmt.Sprintf("named%d@example.com", i), productV5, "named"))
	}
	err = s.SetPlan(ctx, licensing.Plan{AccountID: a.ID, ProductID: productV5, NamedSeats: 1, ConcurrentSeats: 9})
	var below *licensing.PlanBelowAssignedError
	if !errors.As(err, &below) || !errors.Is(err, licensing.ErrSeatLimit) {
		t.Fatalf("SetPlan below the assigned seats: %v, want a *PlanBelowAssignedError", err)
	}
	if below.Product.ID != productV5 || below.Assigned != 3 || below.Requested != 1 {
		t.Errorf("PlanBelowAssignedError = %+v, want %s, 3 assigned, 1 requested", *below, productV5)
	}
	u, _ := usageOf(t, s, a.ID, productV5)
	if u.NamedSeats != 4 || u.ConcurrentSeats != 5 || u.NamedAssigned != 3 {
		t.Errorf("refused SetPlan changed the plan: %+v", u)
	}
	setPlan(t, s, a.ID, productV5, 3, 0) // down to exactly the number assigned
	wantUsage(t, s, a.ID, productV5, 3, 0)
	checkSeats(t, s, a.ID, productV5)

	// Plans are the account's own.
	all, err = s.Usage(ctx, b.ID)
	wantErr(t, "Usage of another account", err, nil)
	if len(all) != 0 {
		t.Errorf("Usage of another account = %+v", all)
	}
	setPlan(t, s, b.ID, productV5, 0, 1)
	u, _ = usageOf(t, s, a.ID, productV5)
	if u.NamedSeats != 3 || u.ConcurrentSeats != 0 {
		t.Errorf("another account's SetPlan changed this one: %+v", u)
	}
}

func testAssignmentsStored(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	setPlan(t, s, a.ID, productV5, 5, 5)
	u := newAgent(a.ID, "ann@example.com", productV5, "named", productDesk, "concurrent", "remote-support-v4", "none")
	u.PasswordHash = "$argon2id$v=19$hash-1"
	createUser(t, s, u)

	got, err := s.User(ctx, a.ID, u.ID)
	wantErr(t, "User", err, nil)
	wantAssignments := licensing.Assignments{productV5: licensing.LicenseNamed, productDesk: licensing.LicenseConcurrent}
	if !maps.Equal(got.Assignments, wantAssignments) {
		t.Errorf("Assignments = %v, want %v", got.Assignments, wantAssignments)
	}
	if got.PasswordHash != u.PasswordHash {
		t.Errorf("PasswordHash = %q, want %q", got.PasswordHash, u.PasswordHash)
	}
	plain := createUser(t, s, newUser(a.ID, "plain@example.com"))
	page, err := s.Users(ctx, a.ID, licensing.Query{Limit: 10, WithoutGroups: true})
	wantErr(t, "Users", err, nil)
	listed := usersByID(page.Items)
	if !maps.Equal(listed[u.ID].Assignments, wantAssignments) || listed[u.ID].PasswordHash != u.PasswordHash {
		t.Errorf("listed user = %v %q, want %v %q", listed[u.ID].Assignments, listed[u.ID].PasswordHash, wantAssignments, u.PasswordHash)
	}
	if len(listed[plain.ID].Assignments) != 0 || listed[plain.ID].PasswordHash != "" {
		t.Errorf("listed plain user = %v %q, want no assignments and no hash", listed[plain.ID].Assignments, listed[plain.ID].PasswordHash)
	}

	// An empty hash keeps the stored one; assignments are replaced whole.
	v2 := replaced(got, func(u *licensing.User) {
		u.PasswordHash = ""
		u.Assignments = licensing.Assignments{productV5: licensing.LicenseConcurrent}
	})
	wantErr(t, "ReplaceUser", s.ReplaceUser(ctx, v2, 1), nil)
	got, _ = s.User(ctx, a.ID, u.ID)
	if got.PasswordHash != u.PasswordHash || !maps.Equal(got.Assignments, licensing.Assignments{productV5: licensing.LicenseConcurrent}) {
		t.Errorf("after ReplaceUser: %v %q", got.Assignments, got.PasswordHash)
	}
	wantUsage(t, s, a.ID, productV5, 0, 0)
	v3 := replaced(got, func(u *licensing.User) { u.PasswordHash = "$argon2id$v=19$hash-2" })
	wantErr(t, "ReplaceUser with a new hash", s.ReplaceUser(ctx, v3, 2), nil)
	got, _ = s.User(ctx, a.ID, u.ID)
	if got.PasswordHash != v3.PasswordHash {
		t.Errorf("PasswordHash = %q, want %q", got.PasswordHash, v3.PasswordHash)
	}

	for _, bad := range []licensing.Assignments{
		{"": licensing.LicenseNamed},
		{productV5: "floating"},
		{"bad\x00id": licensing.LicenseNamed},
	} {
		nu := newUser(a.ID, "bad-"+newID()[:8])
		nu.Assignments = bad
		wantErr(t, fmt.Sprintf("CreateUser with assignments %q", bad), s.CreateUser(ctx, nu), licensing.ErrInvalid)
		next := replaced(got, func(u *licensing.User) { u.Assignments = bad })
		wantErr(t, fmt.Sprintf("ReplaceUser with assignments %q", bad), s.ReplaceUser(ctx, next, got.Version), licensing.ErrInvalid)
	}
	checkSeats(t, s, a.ID, productV5)
	checkSeats(t, s, a.ID, productDesk)
}

func testNamedSeats(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	setPlan(t, s, a.ID, productV5, 2, 0)
	ann := createUser(t, s, newAgent(a.ID, "ann@example.com", productV5, "named"))
	bob := createUser(t, s, newAgent(a.ID, "bob@example.com", productV5, "named"))
	wantUsage(t, s, a.ID, productV5, 2, 0)

	cid := newAgent(a.ID, "cid@example.com", productV5, "named")
	wantNamedExhausted(t, "CreateUser past the named seats", s.CreateUser(ctx, cid), productV5, 2, 2)
	_, err := s.User(ctx, a.ID, cid.ID)
	wantErr(t, "User refused for lack of seats", err, licensing.ErrNotFound)
	// The refused write is undone whole: the userName is free.
	createUser(t, s, newUser(a.ID, cid.UserName))

	// Inactive users hold no named seat; so an inactive one may be created.
	idle := newAgent(a.ID, "idle@example.com", productV5, "named")
	idle.Active = false
	createUser(t, s, idle)
	wantUsage(t, s, a.ID, productV5, 2, 0)

	// Deactivating frees one; another user takes it.
	annOff := replaced(ann, func(u *licensing.User) { u.Active = false })
	wantErr(t, "deactivate ann", s.ReplaceUser(ctx, annOff, 1), nil)
	wantUsage(t, s, a.ID, productV5, 1, 0)
	dee := createUser(t, s, newAgent(a.ID, "dee@example.com", productV5, "named"))
	wantUsage(t, s, a.ID, productV5, 2, 0)

	// Reactivating when full is refused and leaves ann inactive.
	annOn := replaced(annOff, func(u *licensing.User) { u.Active = true; u.DisplayName = "Ann again" })
	wantNamedExhausted(t, "reactivate ann when full", s.ReplaceUser(ctx, annOn, 2), productV5, 2, 2)
	got, _ := s.User(ctx, a.ID, ann.ID)
	if got.Active || got.Version != 2 || got.DisplayName != "" {
		t.Errorf("refused reactivation changed ann: active %t version %d display %q", got.Active, got.Version, got.DisplayName)
	}
	// Assigning by PUT when full is refused too, and changes nothing.
	plain, _ := s.Users(ctx, a.ID, licensing.Query{Limit: 1, Filter: licensing.Compare{
		Attr: licensing.Attr{Path: []string{"userName"}}, Op: licensing.OpEq, Value: cid.UserName}})
	if len(plain.Items) != 1 {
		t.Fatalf("user %s not found", cid.UserName)
	}
	assign := replaced(plain.Items[0], func(u *licensing.User) {
		u.Assignments = licensing.Assignments{productV5: licensing.LicenseNamed, productDesk: licensing.LicenseConcurrent}
	})
	wantNamedExhausted(t, "ReplaceUser assigning when full", s.ReplaceUser(ctx, assign, 1), productV5, 2, 2)
	got, _ = s.User(ctx, a.ID, assign.ID)
	if len(got.Assignments) != 0 || got.Version != 1 {
		t.Errorf("refused assignment changed the user: %v version %d", got.Assignments, got.Version)
	}

	// Deleting frees a seat; ann fits again.
	wantErr(t, "DeleteUser", s.DeleteUser(ctx, a.ID, bob.ID, now()), nil)
	wantUsage(t, s, a.ID, productV5, 1, 0)
	wantErr(t, "reactivate ann", s.ReplaceUser(ctx, annOn, 2), nil)
	wantUsage(t, s, a.ID, productV5, 2, 0)
	// Switching named to concurrent frees the named seat.
	deeShared := replaced(dee, func(u *licensing.User) { u.Assignments[productV5] = licensing.LicenseConcurrent })
	wantErr(t, "switch dee to concurrent", s.ReplaceUser(ctx, deeShared, 1), nil)
	wantUsage(t, s, a.ID, productV5, 1, 0)
	checkSeats(t, s, a.ID, productV5)

	// Without a plan there is no named seat.
	wantNamedExhausted(t, "named assignment without a plan",
		s.CreateUser(ctx, newAgent(a.ID, "eve@example.com", productDesk, "named")), productDesk, 0, 0)
	// A concurrent assignment needs no plan to be stored.
	createUser(t, s, newAgent(a.ID, "fay@example.com", productDesk, "concurrent"))
}

func testSessionLifecycle(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	setPlan(t, s, a.ID, productV5, 1, 2)
	setPlan(t, s, a.ID, productDesk, 0, 1)
	named := createUser(t, s, newAgent(a.ID, "named@example.com", productV5, "named"))
	shared := createUser(t, s, newAgent(a.ID, "shared@example.com", productV5, "concurrent", productDesk, "concurrent"))
	none := createUser(t, s, newUser(a.ID, "none@example.com"))
	idle := newAgent(a.ID, "idle@example.com", productV5, "concurrent")
	idle.Active = false
	createUser(t, s, idle)
	t0 := now()

	// Entitlement.
	var notEntitled *licensing.NotEntitledError
	err := s.StartSession(ctx, newSession(a.ID, none.ID, productV5, t0), "")
	if !errors.As(err, &notEntitled) || notEntitled.Inactive || notEntitled.Product.ID != productV5 || !errors.Is(err, licensing.ErrNotEntitled) {
		t.Errorf("StartSession without the product: %v, want a *NotEntitledError", err)
	}
	err = s.StartSession(ctx, newSession(a.ID, idle.ID, productV5, t0), "")
	if !errors.As(err, &notEntitled) || !notEntitled.Inactive {
		t.Errorf("StartSession of an inactive user: %v, want a *NotEntitledError{Inactive}", err)
	}
	wantErr(t, "StartSession of a missing user", s.StartSession(ctx, newSession(a.ID, newID(), productV5, t0), ""), licensing.ErrNotFound)
	wantErr(t, "StartSession without an id", s.StartSession(ctx, &licensing.Session{AccountID: a.ID, UserID: shared.ID, ProductID: productV5}, ""), licensing.ErrInvalid)

	// A named session needs no concurrent seat.
	ns := startSession(t, s, a.ID, named.ID, productV5, t0)
	if ns.License != licensing.LicenseNamed || ns.State != licensing.SessionPending {
		t.Errorf("named session: license %q state %q", ns.License, ns.State)
	}
	wantUsage(t, s, a.ID, productV5, 1, 0)

	// A concurrent one takes the user's seat.
	cs := startSession(t, s, a.ID, shared.ID, productV5, t0.Add(time.Second))
	if cs.License != licensing.LicenseConcurrent || cs.State != licensing.SessionPending {
		t.Errorf("concurrent session: license %q state %q", cs.License, cs.State)
	}
	wantUsage(t, s, a.ID, productV5, 1, 1)
	wantErr(t, "StartSession with a taken id", s.StartSession(ctx, &licensing.Session{ID: cs.ID, AccountID: a.ID,
		UserID: shared.ID, ProductID: productV5, CreatedAt: t0, LastSeen: t0, ExpiresAt: t0.Add(time.Hour)}, ""), licensing.ErrConflict)
	wantUsage(t, s, a.ID, productV5, 1, 1)

	got, err := s.Session(ctx, a.ID, cs.ID)
	wantErr(t, "Session", err, nil)
	if got.ID != cs.ID || got.UserID != shared.ID || got.ProductID != productV5 || got.License != licensing.LicenseConcurrent ||
		got.State != licensing.SessionPending || !got.Attended || got.Platform != licensing.PlatformWindows ||
		got.ConnectedAt != nil || got.EndedAt != nil {
		t.Errorf("Session = %+v", got)
	}
	wantTime(t, "session createdAt", got.CreatedAt, cs.CreatedAt)
	wantTime(t, "session expiresAt", got.ExpiresAt, cs.ExpiresAt)

	// Heartbeats and the connection.
	t1 := t0.Add(time.Minute)
	got, err = s.TouchSession(ctx, a.ID, shared.ID, cs.ID, false, t1, t1.Add(2*time.Minute))
	wantErr(t, "TouchSession", err, nil)
	if got.State != licensing.SessionPending || got.ConnectedAt != nil {
		t.Errorf("heartbeat changed the state: %+v", got)
	}
	wantTime(t, "lastSeen", got.LastSeen, t1)
	wantTime(t, "expiresAt", got.ExpiresAt, t1.Add(2*time.Minute))
	got, err = s.TouchSession(ctx, a.ID, "", cs.ID, true, t1, t1.Add(2*time.Minute))
	wantErr(t, "TouchSession connecting", err, nil)
	if got.State != licensing.SessionConnected || got.ConnectedAt == nil || !got.ConnectedAt.Equal(t1) {
		t.Errorf("connected session: %+v", got)
	}
	t2 := t1.Add(time.Minute)
	got, err = s.TouchSession(ctx, a.ID, shared.ID, cs.ID, true, t2, t2.Add(2*time.Minute))
	wantErr(t, "TouchSession connecting again", err, nil)
	if got.ConnectedAt == nil || !got.ConnectedAt.Equal(t1) {
		t.Errorf("second connection moved ConnectedAt to %v, want %v", got.ConnectedAt, t1)
	}
	_, err = s.TouchSession(ctx, a.ID, named.ID, cs.ID, false, t2, t2)
	wantErr(t, "TouchSession of another user's session", err, licensing.ErrNotFound)
	_, err = s.TouchSession(ctx, a.ID, "", newID(), false, t2, t2)
	wantErr(t, "TouchSession of a missing session", err, licensing.ErrNotFound)

	// Ending.
	_, err = s.EndSession(ctx, a.ID, named.ID, cs.ID, licensing.EndedByAgent, "", t2)
	wantErr(t, "EndSession of another user's session", err, licensing.ErrNotFound)
	ended, err := s.EndSession(ctx, a.ID, shared.ID, cs.ID, licensing.EndedByAgent, "", t2)
	wantErr(t, "EndSession", err, nil)
	if ended.State != licensing.SessionEnded || ended.EndReason != licensing.EndedByAgent || ended.EndedAt == nil || !ended.EndedAt.Equal(t2) {
		t.Errorf("ended session = %+v", ended)
	}
	wantUsage(t, s, a.ID, productV5, 1, 0)
	_, err = s.EndSession(ctx, a.ID, shared.ID, cs.ID, licensing.EndedByAgent, "", t2)
	wantEnded(t, "EndSession again", err, licensing.EndedByAgent)
	_, err = s.TouchSession(ctx, a.ID, shared.ID, cs.ID, false, t2, t2.Add(time.Minute))
	wantEnded(t, "TouchSession after the end", err, licensing.EndedByAgent)
	got, _ = s.Session(ctx, a.ID, cs.ID)
	if got.State != licensing.SessionEnded {
		t.Errorf("Session after the end: %+v", got)
	}

	// Open sessions, by product and all.
	ds := startSession(t, s, a.ID, shared.ID, productDesk, t2)
	open, err := s.OpenSessions(ctx, a.ID, "")
	wantErr(t, "OpenSessions", err, nil)
	if len(open) != 2 || open[0].ID != ns.ID || open[1].ID != ds.ID {
		t.Errorf("OpenSessions = %+v, want the named session then the desk session", open)
	}
	open, err = s.OpenSessions(ctx, a.ID, productDesk)
	wantErr(t, "OpenSessions of a product", err, nil)
	if len(open) != 1 || open[0].ID != ds.ID {
		t.Errorf("OpenSessions(%s) = %+v", productDesk, open)
	}
	for _, c := range []struct {
		account, user, want string
	}{{a.ID, shared.ID, ds.ID}, {a.ID, named.ID, ns.ID}, {newAccount(t, s).ID, shared.ID, ""}} {
		open, err = s.UserOpenSessions(ctx, c.account, c.user)
		wantErr(t, "UserOpenSessions", err, nil)
		if (c.want == "" && len(open) != 0) || (c.want != "" && (len(open) != 1 || open[0].ID != c.want)) {
			t.Errorf("UserOpenSessions(%s) = %+v, want only %q", c.user, open, c.want)
		}
	}
	// A named session ends without a seat event.
	_, err = s.EndSession(ctx, a.ID, "", ns.ID, licensing.EndedByAgent, "", t2)
	wantErr(t, "EndSession of the named session", err, nil)

	evs := eventsOf(t, s, a.ID)
	kinds := make([]licensing.SeatEventKind, len(evs))
	for i, e := range evs {
		kinds[i] = e.Kind
	}
	wantKinds := []licensing.SeatEventKind{licensing.SeatOccupied, licensing.SeatReleased, licensing.SeatOccupied}
	if !slices.Equal(kinds, wantKinds) {
		t.Fatalf("seat events %v, want %v", kinds, wantKinds)
	}
	if e := evs[0]; e.ProductID != productV5 || e.UserID != shared.ID || e.SessionID != cs.ID || !e.At.Equal(cs.CreatedAt) {
		t.Errorf("occupied event = %+v", e)
	}
	if e := evs[1]; e.SessionID != cs.ID || e.Reason != licensing.EndedByAgent || !e.At.Equal(t2) {
		t.Errorf("released event = %+v", e)
	}
	// SeatEvents reads a half-open window of time.
	win, err := s.SeatEvents(ctx, a.ID, cs.CreatedAt, t2)
	wantErr(t, "SeatEvents", err, nil)
	if len(win) != 1 || win[0].Kind != licensing.SeatOccupied {
		t.Errorf("SeatEvents in [created, ended) = %+v, want the occupied event only", win)
	}
	checkSeats(t, s, a.ID, productV5)
	checkSeats(t, s, a.ID, productDesk)
}

func testSharedSeat(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	setPlan(t, s, a.ID, productV5, 0, 1)
	ann := createUser(t, s, newAgent(a.ID, "ann@example.com", productV5, "concurrent"))
	bob := createUser(t, s, newAgent(a.ID, "bob@example.com", productV5, "concurrent"))
	t0 := now()
	first := startSession(t, s, a.ID, ann.ID, productV5, t0)
	second := startSession(t, s, a.ID, ann.ID, productV5, t0.Add(time.Second))
	wantUsage(t, s, a.ID, productV5, 0, 1)
	checkSeats(t, s, a.ID, productV5)
	wantInUse(t, "bob's claim", s.StartSession(ctx, newSession(a.ID, bob.ID, productV5, t0), ""), productV5, 1, 1)
	_, err := s.EndSession(ctx, a.ID, ann.ID, first.ID, licensing.EndedByAgent, "", t0.Add(time.Minute))
	wantErr(t, "EndSession of one of two", err, nil)
	wantUsage(t, s, a.ID, productV5, 0, 1)
	wantInUse(t, "bob's claim while ann has a session", s.StartSession(ctx, newSession(a.ID, bob.ID, productV5, t0), ""), productV5, 1, 1)
	_, err = s.EndSession(ctx, a.ID, ann.ID, second.ID, licensing.EndedByAgent, "", t0.Add(time.Minute))
	wantErr(t, "EndSession of the last", err, nil)
	wantUsage(t, s, a.ID, productV5, 0, 0)
	startSession(t, s, a.ID, bob.ID, productV5, t0.Add(2*time.Minute))
	checkSeats(t, s, a.ID, productV5)
	evs := eventsOf(t, s, a.ID)
	if countEvents(evs, licensing.SeatDenied) != 2 || countEvents(evs, licensing.SeatOccupied) != 2 || countEvents(evs, licensing.SeatReleased) != 1 {
		t.Errorf("seat events %+v, want 2 occupied, 2 denied, 1 released", evs)
	}
	for _, e := range evs {
		if e.Kind == licensing.SeatDenied && (e.UserID != bob.ID || e.ProductID != productV5) {
			t.Errorf("denied event = %+v", e)
		}
	}
}

func testEndSeat(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	setPlan(t, s, a.ID, productV5, 0, 2)
	ann := createUser(t, s, newAgent(a.ID, "ann@example.com", productV5, "concurrent", productDesk, "concurrent"))
	setPlan(t, s, a.ID, productDesk, 0, 1)
	t0 := now()
	s1 := startSession(t, s, a.ID, ann.ID, productV5, t0)
	s2 := startSession(t, s, a.ID, ann.ID, productV5, t0.Add(time.Second))
	desk := startSession(t, s, a.ID, ann.ID, productDesk, t0)
	at := t0.Add(time.Minute)
	ended, err := s.EndSeat(ctx, a.ID, productV5, ann.ID, licensing.EndedByAdmin, "token-admin", at)
	wantErr(t, "EndSeat", err, nil)
	if len(ended) != 2 || ended[0].ID != s1.ID || ended[1].ID != s2.ID {
		t.Fatalf("EndSeat ended %+v, want the two sessions by creation", ended)
	}
	for _, e := range ended {
		if e.State != licensing.SessionEnded || e.EndReason != licensing.EndedByAdmin || e.EndedBy != "token-admin" {
			t.Errorf("ended session = %+v", e)
		}
	}
	wantUsage(t, s, a.ID, productV5, 0, 0)
	wantUsage(t, s, a.ID, productDesk, 0, 1)
	_, err = s.TouchSession(ctx, a.ID, ann.ID, s1.ID, false, at, at.Add(time.Minute))
	wantEnded(t, "TouchSession after EndSeat", err, licensing.EndedByAdmin)
	got, _ := s.Session(ctx, a.ID, s2.ID)
	if got.EndedBy != "token-admin" || got.EndReason != licensing.EndedByAdmin {
		t.Errorf("session ended by the admin = %+v", got)
	}
	_, err = s.EndSeat(ctx, a.ID, productV5, ann.ID, licensing.EndedByAdmin, "token-admin", at)
	wantErr(t, "EndSeat without open sessions", err, licensing.ErrNotFound)
	got, _ = s.Session(ctx, a.ID, desk.ID)
	if got.State == licensing.SessionEnded {
		t.Errorf("EndSeat of %s ended the session of %s", productV5, productDesk)
	}
	evs := eventsOf(t, s, a.ID)
	if countEvents(evs, licensing.SeatEnded) != 1 {
		t.Fatalf("events %+v, want one ended event", evs)
	}
	for _, e := range evs {
		if e.Kind == licensing.SeatEnded && (e.Actor != "token-admin" || e.Reason != licensing.EndedByAdmin || e.UserID != ann.ID || !e.At.Equal(at)) {
			t.Errorf("ended event = %+v", e)
		}
	}
	// An admin may end one session too: the seat goes with the last one.
	s3 := startSession(t, s, a.ID, ann.ID, productV5, at)
	_, err = s.EndSession(ctx, a.ID, "", s3.ID, licensing.EndedByAdmin, "token-admin", at)
	wantErr(t, "EndSession by an admin", err, nil)
	wantUsage(t, s, a.ID, productV5, 0, 0)
	if n := countEvents(eventsOf(t, s, a.ID), licensing.SeatEnded); n != 2 {
		t.Errorf("%d ended events, want 2", n)
	}
	checkSeats(t, s, a.ID, productV5)
	checkSeats(t, s, a.ID, productDesk)
}

// testSeatsFollowUser checks that deactivating, deleting, unassigning and
// switching a user's license end the user's sessions of the product and
// free the seat in the same write.
func testSeatsFollowUser(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	setPlan(t, s, a.ID, productV5, 10, 20)
	setPlan(t, s, a.ID, productDesk, 10, 20)
	cases := []struct {
		name   string
		change func(u licensing.User) error
	}{
		{"deactivate", func(u licensing.User) error {
			return s.ReplaceUser(ctx, replaced(u, func(u *licensing.User) { u.Active = false }), u.Version)
		}},
		{"delete", func(u licensing.User) error { return s.DeleteUser(ctx, a.ID, u.ID, now()) }},
		{"none", func(u licensing.User) error {
			return s.ReplaceUser(ctx, replaced(u, func(u *licensing.User) { u.Assignments[productV5] = licensing.LicenseNone }), u.Version)
		}},
		{"absent", func(u licensing.User) error {
			return s.ReplaceUser(ctx, replaced(u, func(u *licensing.User) { delete(u.Assignments, productV5) }), u.Version)
		}},
		{"to named", func(u licensing.User) error {
			return s.ReplaceUser(ctx, replaced(u, func(u *licensing.User) { u.Assignments[productV5] = licensing.LicenseNamed }), u.Version)
		}},
	}
	for _, c := range cases {
		u := createUser(t, s, newAgent(a.ID, c.name+"@example.com", productV5, "concurrent", productDesk, "named"))
		other := createUser(t, s, newAgent(a.ID, c.name+"-other@example.com", productV5, "concurrent"))
		t0 := now()
		s1 := startSession(t, s, a.ID, u.ID, productV5, t0)
		s2 := startSession(t, s, a.ID, u.ID, productV5, t0)
		desk := startSession(t, s, a.ID, u.ID, productDesk, t0)
		kept := startSession(t, s, a.ID, other.ID, productV5, t0)
		before, _ := usageOf(t, s, a.ID, productV5)
		wantErr(t, c.name, c.change(u), nil)

		after, _ := usageOf(t, s, a.ID, productV5)
		if after.ConcurrentOccupied != before.ConcurrentOccupied-1 {
			t.Errorf("%s: %d seats occupied, want %d", c.name, after.ConcurrentOccupied, before.ConcurrentOccupied-1)
		}
		for _, id := range []string{s1.ID, s2.ID} {
			_, err := s.TouchSession(ctx, a.ID, "", id, false, t0, t0.Add(time.Hour))
			wantEnded(t, c.name+": TouchSession", err, licensing.EndedByDeprovision)
		}
		got, _ := s.Session(ctx, a.ID, kept.ID)
		if got.State == licensing.SessionEnded {
			t.Errorf("%s: another user's session ended", c.name)
		}
		got, _ = s.Session(ctx, a.ID, desk.ID)
		deskEnds := c.name == "deactivate" || c.name == "delete"
		if (got.State == licensing.SessionEnded) != deskEnds {
			t.Errorf("%s: the named session of the other product is %s", c.name, got.State)
		}
		if deskEnds && got.EndReason != licensing.EndedByDeprovision {
			t.Errorf("%s: the named session ended by %q", c.name, got.EndReason)
		}
		checkSeats(t, s, a.ID, productV5)
		checkSeats(t, s, a.ID, productDesk)
	}
	evs := eventsOf(t, s, a.ID)
	if n := countEvents(evs, licensing.SeatReleased); n != len(cases) {
		t.Errorf("%d released events, want %d", n, len(cases))
	}
	for _, e := range evs {
		if e.Kind == licensing.SeatReleased && e.Reason != licensing.EndedByDeprovision {
			t.Errorf("release event = %+v, want reason %q", e, licensing.EndedByDeprovision)
		}
	}
	// A refused write ends nothing: switching to named with no named seat
	// left keeps the concurrent session and its seat.
	full := createUser(t, s, newAgent(a.ID, "full@example.com", productDesk, "concurrent"))
	setPlan(t, s, a.ID, productDesk, countNamed(t, s, a.ID, productDesk), 20)
	sess := startSession(t, s, a.ID, full.ID, productDesk, now())
	toNamed := replaced(full, func(u *licensing.User) { u.Assignments[productDesk] = licensing.LicenseNamed })
	err := s.ReplaceUser(ctx, toNamed, full.Version)
	var exhausted *licensing.NamedSeatsExhaustedError
	if !errors.As(err, &exhausted) {
		t.Fatalf("switch to named with no seat left: %v, want a *NamedSeatsExhaustedError", err)
	}
	got, _ := s.Session(ctx, a.ID, sess.ID)
	if got.State == licensing.SessionEnded {
		t.Errorf("a refused write ended the session")
	}
	checkSeats(t, s, a.ID, productDesk)
}

// countNamed returns the named seats assigned of the product.
func countNamed(t *testing.T, s licensing.Store, accountID, productID string) int {
	t.Helper()
	u, _ := usageOf(t, s, accountID, productID)
	return u.NamedAssigned
}

// testLeases runs in a past of its own (the year 2000), so that its calls
// to ExpireSessions, which span all accounts, end no session of the tests
// running beside it, whose leases run out in the present.
func testLeases(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	setPlan(t, s, a.ID, productV5, 0, 50)
	t0 := time.Date(2000, 1, 1, 12, 0, 0, 0, time.UTC)
	var users []licensing.User
	for i := range 10 {
		users = append(users, createUser(t, s, newAgent(a.ID, fmt.Sprintf("agent%d@example.com", i), productV5, "concurrent")))
	}
	at := func(u licensing.User, lease time.Duration) licensing.Session {
		sess := newSession(a.ID, u.ID, productV5, t0)
		sess.ExpiresAt = t0.Add(lease)
		if err := s.StartSession(ctx, sess, ""); err != nil {
			t.Fatalf("StartSession: %v", err)
		}
		return *sess
	}
	short := at(users[0], time.Minute)
	shortShared := at(users[1], time.Minute)
	longShared := at(users[1], 10*time.Minute)
	long := at(users[2], 10*time.Minute)
	// A heartbeat moves the lease on.
	touched := at(users[3], time.Minute)
	if _, err := s.TouchSession(ctx, a.ID, "", touched.ID, true, t0.Add(30*time.Second), t0.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	wantUsage(t, s, a.ID, productV5, 0, 4)

	n, err := s.ExpireSessions(ctx, t0.Add(2*time.Minute), 1000)
	wantErr(t, "ExpireSessions", err, nil)
	if n < 2 {
		t.Errorf("ExpireSessions ended %d sessions, want at least this test's 2", n)
	}
	for _, c := range []struct {
		sess  licensing.Session
		ended bool
	}{{short, true}, {shortShared, true}, {longShared, false}, {long, false}, {touched, false}} {
		got, _ := s.Session(ctx, a.ID, c.sess.ID)
		if (got.State == licensing.SessionEnded) != c.ended {
			t.Errorf("session expiring at %v is %s after the reaper at +2m", c.sess.ExpiresAt, got.State)
		}
		if c.ended && (got.EndReason != licensing.EndedByExpiry || got.EndedAt == nil || !got.EndedAt.Equal(t0.Add(2*time.Minute))) {
			t.Errorf("expired session = %+v", got)
		}
	}
	_, err = s.TouchSession(ctx, a.ID, "", short.ID, false, t0.Add(3*time.Minute), t0.Add(5*time.Minute))
	wantEnded(t, "TouchSession of an expired session", err, licensing.EndedByExpiry)
	// users[1] keeps the seat through the longer session.
	wantUsage(t, s, a.ID, productV5, 0, 3)
	checkSeats(t, s, a.ID, productV5)
	evs := eventsOf(t, s, a.ID)
	if countEvents(evs, licensing.SeatExpired) != 1 {
		t.Errorf("events %+v, want one expired event", evs)
	}
	n, err = s.ExpireSessions(ctx, t0.Add(2*time.Minute), 1000)
	if err != nil || n != 0 {
		t.Errorf("ExpireSessions again: %d (%v), want 0", n, err)
	}

	// The limit bounds one call.
	for range 5 {
		at(users[4], time.Minute)
	}
	n, err = s.ExpireSessions(ctx, t0.Add(2*time.Minute), 2)
	if err != nil || n != 2 {
		t.Errorf("ExpireSessions with limit 2: %d (%v)", n, err)
	}
	wantUsage(t, s, a.ID, productV5, 0, 4)
	checkSeats(t, s, a.ID, productV5)

	// Reapers running at once end each session once.
	var all []licensing.Session
	for _, u := range users[4:] {
		for range 5 {
			all = append(all, at(u, time.Minute))
		}
	}
	total := 0
	for {
		counts := make([]int, 4)
		errs := raceN(len(counts), func(i int) error {
			var err error
			counts[i], err = s.ExpireSessions(ctx, t0.Add(2*time.Minute), 3)
			return err
		})
		round := 0
		for i, err := range errs {
			wantErr(t, "concurrent ExpireSessions", err, nil)
			round += counts[i]
		}
		total += round
		if round == 0 {
			break
		}
	}
	if total < len(all)+3 {
		t.Errorf("concurrent reapers ended %d sessions, want at least %d", total, len(all)+3)
	}
	for _, sess := range all {
		got, _ := s.Session(ctx, a.ID, sess.ID)
		if got.State != licensing.SessionEnded || got.EndReason != licensing.EndedByExpiry {
			t.Errorf("session %s left %s (%s)", sess.ID, got.State, got.EndReason)
		}
	}
	wantUsage(t, s, a.ID, productV5, 0, 3)
	checkSeats(t, s, a.ID, productV5)
	evs = eventsOf(t, s, a.ID)
	// The seats of users[0] and of users[4] to users[9] expired; those of
	// users[1] (kept by its longer session), [2] and [3] are held.
	if n := countEvents(evs, licensing.SeatExpired); n != 7 {
		t.Errorf("%d expired events, want 7 (one per seat freed)", n)
	}
	if countEvents(evs, licensing.SeatOccupied) != countEvents(evs, licensing.SeatExpired)+3 {
		t.Errorf("events %d occupied, %d expired: want 3 seats still held",
			countEvents(evs, licensing.SeatOccupied), countEvents(evs, licensing.SeatExpired))
	}
	// In the same past, before the sessions held above expire (t0+10m).
	testLateCalls(t, s, t0.Add(3*time.Minute))
}

// testLateCalls checks that a call arriving after a session's lease ran
// out, before any reaper ran, does not revive the session, whatever the
// reaper's timing: a heartbeat, a connection or an end ends it as expired
// there, at the call's time, exactly as the reaper would (the seat freed
// unless another open session of the user holds it, one expired event,
// no actor), the caller is told it expired, and the reaper then finds
// nothing more to end. It runs in testLeases' past, from t0 on, and
// calls ExpireSessions before testLeases' held sessions expire.
func testLateCalls(t *testing.T, s licensing.Store, t0 time.Time) {
	ctx := context.Background()
	a := newAccount(t, s)
	setPlan(t, s, a.ID, productV5, 0, 4)
	lease := t0.Add(time.Minute) // when the leases run out
	late := t0.Add(2 * time.Minute)
	start := func(u licensing.User, expires time.Time) licensing.Session {
		t.Helper()
		sess := newSession(a.ID, u.ID, productV5, t0)
		sess.ExpiresAt = expires
		wantErr(t, "StartSession", s.StartSession(ctx, sess, ""), nil)
		return *sess
	}
	ann := createUser(t, s, newAgent(a.ID, "late-heartbeat@example.com", productV5, "concurrent"))
	bob := createUser(t, s, newAgent(a.ID, "late-connection@example.com", productV5, "concurrent"))
	cid := createUser(t, s, newAgent(a.ID, "late-end@example.com", productV5, "concurrent"))
	dee := createUser(t, s, newAgent(a.ID, "late-one-of-two@example.com", productV5, "concurrent"))
	annS, bobS, cidS := start(ann, lease), start(bob, lease), start(cid, lease)
	deeLate, deeLive := start(dee, lease), start(dee, t0.Add(6*time.Minute))
	wantUsage(t, s, a.ID, productV5, 0, 4)

	_, err := s.TouchSession(ctx, a.ID, ann.ID, annS.ID, false, late, late.Add(2*time.Minute))
	wantEnded(t, "heartbeat after the lease", err, licensing.EndedByExpiry)
	_, err = s.TouchSession(ctx, a.ID, "", bobS.ID, true, lease, lease.Add(2*time.Minute))
	wantEnded(t, "connection as the lease runs out", err, licensing.EndedByExpiry)
	_, err = s.EndSession(ctx, a.ID, "", cidS.ID, licensing.EndedByAdmin, "token-admin", late)
	wantEnded(t, "EndSession after the lease", err, licensing.EndedByExpiry)
	_, err = s.TouchSession(ctx, a.ID, dee.ID, deeLate.ID, false, late, late.Add(2*time.Minute))
	wantEnded(t, "heartbeat after the lease of one of two sessions", err, licensing.EndedByExpiry)

	endedAt := map[string]time.Time{ann.ID: late, bob.ID: lease, cid.ID: late, dee.ID: late}
	for _, sess := range []licensing.Session{annS, bobS, cidS, deeLate} {
		got, err := s.Session(ctx, a.ID, sess.ID)
		wantErr(t, "Session", err, nil)
		if got.State != licensing.SessionEnded || got.EndReason != licensing.EndedByExpiry || got.EndedBy != "" ||
			got.ConnectedAt != nil || got.EndedAt == nil {
			t.Errorf("session ended by a late call = %+v, want ended as expired, not connected, no actor", got)
			continue
		}
		wantTime(t, "endedAt of a session ended by a late call", *got.EndedAt, endedAt[sess.UserID])
		wantTime(t, "expiresAt of a session ended by a late call", got.ExpiresAt, lease)
		wantTime(t, "lastSeen of a session ended by a late call", got.LastSeen, t0)
	}
	// Asked again, the answer stays.
	_, err = s.TouchSession(ctx, a.ID, ann.ID, annS.ID, true, late, late.Add(2*time.Minute))
	wantEnded(t, "connection after the late heartbeat", err, licensing.EndedByExpiry)
	_, err = s.EndSession(ctx, a.ID, cid.ID, cidS.ID, licensing.EndedByAgent, "", late)
	wantEnded(t, "EndSession again", err, licensing.EndedByExpiry)
	if got, _ := s.Session(ctx, a.ID, deeLive.ID); got.State == licensing.SessionEnded {
		t.Errorf("the live session of the user with two ended: %+v", got)
	}
	wantUsage(t, s, a.ID, productV5, 0, 1)
	checkSeats(t, s, a.ID, productV5)

	evs := eventsOf(t, s, a.ID)
	expired := map[string]int{}
	for _, e := range evs {
		if e.Kind != licensing.SeatExpired {
			continue
		}
		expired[e.UserID]++
		if e.Reason != licensing.EndedByExpiry || e.Actor != "" || !e.At.Equal(endedAt[e.UserID]) {
			t.Errorf("expired event = %+v, want reason %q, no actor, at %v", e, licensing.EndedByExpiry, endedAt[e.UserID])
		}
	}
	if want := map[string]int{ann.ID: 1, bob.ID: 1, cid.ID: 1}; !maps.Equal(expired, want) {
		t.Errorf("expired events by user %v, want %v (one per seat freed; the user with two keeps the seat)", expired, want)
	}
	if n := countEvents(evs, ""); n != 4+3 {
		t.Errorf("%d seat events %+v, want 4 occupied and 3 expired", n, evs)
	}

	// The reaper finds nothing more to end.
	n, err := s.ExpireSessions(ctx, late, 1000)
	if err != nil || n != 0 {
		t.Errorf("ExpireSessions after the late calls ended %d sessions (%v), want 0", n, err)
	}
	if after := eventsOf(t, s, a.ID); len(after) != len(evs) {
		t.Errorf("after ExpireSessions: %d seat events, want the %d of the late calls: %+v", len(after), len(evs), after)
	}
	wantUsage(t, s, a.ID, productV5, 0, 1)
	checkSeats(t, s, a.ID, productV5)
}

func testQueue(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	setPlan(t, s, a.ID, productV5, 0, 1)
	var us []licensing.User
	for i := range 5 {
		us = append(us, createUser(t, s, newAgent(a.ID, fmt.Sprintf("q%d@example.com", i), productV5, "concurrent")))
	}
	t0 := now()
	holder := startSession(t, s, a.ID, us[0].ID, productV5, t0)
	first, err := s.JoinQueue(ctx, a.ID, productV5, us[1].ID, t0, t0.Add(time.Minute), 0)
	wantErr(t, "JoinQueue", err, nil)
	second, err := s.JoinQueue(ctx, a.ID, productV5, us[2].ID, t0.Add(time.Second), t0.Add(time.Minute), 0)
	wantErr(t, "JoinQueue", err, nil)
	if first == "" || first == second {
		t.Fatalf("tickets %q and %q", first, second)
	}
	_, err = s.JoinQueue(ctx, a.ID, productV5, newID(), t0, t0.Add(time.Minute), 0)
	wantErr(t, "JoinQueue of a missing user", err, licensing.ErrNotFound)
	if n, err := s.Waiting(ctx, a.ID, productV5, t0.Add(2*time.Second)); err != nil || n != 2 {
		t.Errorf("Waiting = %d (%v), want 2", n, err)
	}
	t1 := t0.Add(10 * time.Second)
	_, err = s.EndSession(ctx, a.ID, us[0].ID, holder.ID, licensing.EndedByAgent, "", t1)
	wantErr(t, "EndSession", err, nil)

	// The seat is free, but it goes to the first in line. A refusal
	// records a denied event only without a ticket: a waiter's retries
	// (with its ticket) would count one waiting agent as many denials.
	denials := func() int { return countEvents(eventsOf(t, s, a.ID), licensing.SeatDenied) }
	wantDenials := func(what string, want int) {
		t.Helper()
		if n := denials(); n != want {
			t.Errorf("%s: %d denied events, want %d", what, n, want)
		}
	}
	wantDenials("before any refusal", 0)
	wantInUse(t, "claim without a ticket while others wait", s.StartSession(ctx, newSession(a.ID, us[3].ID, productV5, t1), ""), productV5, 0, 1)
	wantDenials("after a refusal without a ticket", 1)
	for range 3 {
		wantInUse(t, "claim of the second in line", s.StartSession(ctx, newSession(a.ID, us[2].ID, productV5, t1), second), productV5, 0, 1)
	}
	wantInUse(t, "claim with an unknown ticket", s.StartSession(ctx, newSession(a.ID, us[3].ID, productV5, t1), "no-such-ticket"), productV5, 0, 1)
	wantDenials("after refusals with a ticket", 1)
	sess := newSession(a.ID, us[1].ID, productV5, t1)
	wantErr(t, "claim of the first in line", s.StartSession(ctx, sess, first), nil)
	wantErr(t, "RefreshTicket of a served ticket", s.RefreshTicket(ctx, a.ID, first, t1, t1.Add(time.Minute)), licensing.ErrNotFound)
	if n, _ := s.Waiting(ctx, a.ID, productV5, t1); n != 1 {
		t.Errorf("Waiting after the first was served = %d, want 1", n)
	}
	wantUsage(t, s, a.ID, productV5, 0, 1)

	// The second one's time runs out: it blocks nobody.
	t2 := t0.Add(2 * time.Minute)
	_, err = s.EndSession(ctx, a.ID, us[1].ID, sess.ID, licensing.EndedByAgent, "", t2)
	wantErr(t, "EndSession", err, nil)
	if n, _ := s.Waiting(ctx, a.ID, productV5, t2); n != 0 {
		t.Errorf("Waiting after the line expired = %d, want 0", n)
	}
	late := startSession(t, s, a.ID, us[3].ID, productV5, t2)

	// Refresh keeps a waiter live; leaving takes it out.
	third, err := s.JoinQueue(ctx, a.ID, productV5, us[4].ID, t2, t2.Add(time.Minute), 0)
	wantErr(t, "JoinQueue", err, nil)
	wantErr(t, "RefreshTicket", s.RefreshTicket(ctx, a.ID, third, t2.Add(30*time.Second), t2.Add(5*time.Minute)), nil)
	if n, _ := s.Waiting(ctx, a.ID, productV5, t2.Add(2*time.Minute)); n != 1 {
		t.Errorf("Waiting after a refresh = %d, want 1", n)
	}
	_, err = s.EndSession(ctx, a.ID, "", late.ID, licensing.EndedByAgent, "", t2.Add(2*time.Minute))
	wantErr(t, "EndSession", err, nil)
	wantInUse(t, "claim behind a refreshed waiter", s.StartSession(ctx, newSession(a.ID, us[3].ID, productV5, t2.Add(2*time.Minute)), ""), productV5, 0, 1)
	wantDenials("after a second refusal without a ticket", 2)
	wantErr(t, "LeaveQueue", s.LeaveQueue(ctx, a.ID, third), nil)
	wantErr(t, "LeaveQueue again", s.LeaveQueue(ctx, a.ID, third), nil)
	if n, _ := s.Waiting(ctx, a.ID, productV5, t2.Add(2*time.Minute)); n != 0 {
		t.Errorf("Waiting after LeaveQueue = %d, want 0", n)
	}
	held := startSession(t, s, a.ID, us[3].ID, productV5, t2.Add(2*time.Minute))

	// A ticket whose time ran out is gone, cleared or not: it cannot be
	// refreshed, and it keeps no place in line (a waiter who joined after
	// it is ahead of it now); its owner joins again, at the back.
	t3 := t2.Add(3 * time.Minute)
	stale, err := s.JoinQueue(ctx, a.ID, productV5, us[1].ID, t3, t3.Add(10*time.Second), 0)
	wantErr(t, "JoinQueue", err, nil)
	young, err := s.JoinQueue(ctx, a.ID, productV5, us[2].ID, t3.Add(5*time.Second), t3.Add(time.Minute), 0)
	wantErr(t, "JoinQueue", err, nil)
	wantErr(t, "RefreshTicket of a live ticket", s.RefreshTicket(ctx, a.ID, stale, t3.Add(9*time.Second), t3.Add(10*time.Second)), nil)
	wantErr(t, "RefreshTicket when the time ran out", s.RefreshTicket(ctx, a.ID, stale, t3.Add(10*time.Second), t3.Add(time.Minute)), licensing.ErrNotFound)
	t4 := t3.Add(20 * time.Second)
	wantErr(t, "RefreshTicket of an expired ticket", s.RefreshTicket(ctx, a.ID, stale, t4, t4.Add(time.Minute)), licensing.ErrNotFound)
	if n, _ := s.Waiting(ctx, a.ID, productV5, t4); n != 1 {
		t.Errorf("Waiting with one live and one expired ticket = %d, want 1", n)
	}
	_, err = s.EndSession(ctx, a.ID, "", held.ID, licensing.EndedByAgent, "", t4)
	wantErr(t, "EndSession", err, nil)
	wantInUse(t, "claim with an expired ticket", s.StartSession(ctx, newSession(a.ID, us[1].ID, productV5, t4), stale), productV5, 0, 1)
	rejoined, err := s.JoinQueue(ctx, a.ID, productV5, us[1].ID, t4, t4.Add(time.Minute), 0)
	wantErr(t, "JoinQueue again", err, nil)
	wantInUse(t, "claim of the waiter who joined again", s.StartSession(ctx, newSession(a.ID, us[1].ID, productV5, t4), rejoined), productV5, 0, 1)
	wantErr(t, "claim of the waiter now first", s.StartSession(ctx, newSession(a.ID, us[2].ID, productV5, t4), young), nil)
	wantDenials("after the expired ticket's refusals", 2)
	checkSeats(t, s, a.ID, productV5)
}

// testPlanLowered checks that lowering the concurrent seats below the
// number occupied ends nobody and refuses new claims until below.
func testPlanLowered(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	setPlan(t, s, a.ID, productV5, 0, 3)
	var us []licensing.User
	var sessions []licensing.Session
	t0 := now()
	for i := range 4 {
		us = append(us, createUser(t, s, newAgent(a.ID, fmt.Sprintf("p%d@example.com", i), productV5, "concurrent")))
		if i < 3 {
			sessions = append(sessions, startSession(t, s, a.ID, us[i].ID, productV5, t0))
		}
	}
	setPlan(t, s, a.ID, productV5, 0, 1)
	open, err := s.OpenSessions(ctx, a.ID, productV5)
	if err != nil || len(open) != 3 {
		t.Fatalf("lowering the plan ended sessions: %d open (%v), want 3", len(open), err)
	}
	wantUsage(t, s, a.ID, productV5, 0, 3)
	// The user holding a seat shares it still.
	startSession(t, s, a.ID, us[0].ID, productV5, t0)
	wantUsage(t, s, a.ID, productV5, 0, 3)
	wantInUse(t, "claim above the lowered plan", s.StartSession(ctx, newSession(a.ID, us[3].ID, productV5, t0), ""), productV5, 3, 1)
	for i := 1; i < 3; i++ {
		_, err := s.EndSession(ctx, a.ID, "", sessions[i].ID, licensing.EndedByAgent, "", t0)
		wantErr(t, "EndSession", err, nil)
		wantInUse(t, "claim at the lowered plan", s.StartSession(ctx, newSession(a.ID, us[3].ID, productV5, t0), ""), productV5, 3-i, 1)
	}
	_, err = s.EndSeat(ctx, a.ID, productV5, us[0].ID, licensing.EndedByAdmin, "admin", t0)
	wantErr(t, "EndSeat", err, nil)
	startSession(t, s, a.ID, us[3].ID, productV5, t0)
	wantUsage(t, s, a.ID, productV5, 0, 1)
	checkSeats(t, s, a.ID, productV5)
}

func testSeatsCrossAccount(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)
	setPlan(t, s, a.ID, productV5, 1, 1)
	setPlan(t, s, b.ID, productV5, 5, 5)
	ann := createUser(t, s, newAgent(a.ID, "ann@example.com", productV5, "concurrent"))
	t0 := now()
	sess := startSession(t, s, a.ID, ann.ID, productV5, t0)
	ticket, err := s.JoinQueue(ctx, a.ID, productV5, ann.ID, t0, t0.Add(time.Hour), 0)
	wantErr(t, "JoinQueue", err, nil)

	_, err = s.Session(ctx, b.ID, sess.ID)
	wantErr(t, "Session from another account", err, licensing.ErrNotFound)
	open, err := s.OpenSessions(ctx, b.ID, "")
	if err != nil || len(open) != 0 {
		t.Errorf("OpenSessions of another account = %+v (%v)", open, err)
	}
	_, err = s.TouchSession(ctx, b.ID, "", sess.ID, true, t0, t0.Add(time.Hour))
	wantErr(t, "TouchSession from another account", err, licensing.ErrNotFound)
	_, err = s.EndSession(ctx, b.ID, "", sess.ID, licensing.EndedByAdmin, "x", t0)
	wantErr(t, "EndSession from another account", err, licensing.ErrNotFound)
	_, err = s.EndSeat(ctx, b.ID, productV5, ann.ID, licensing.EndedByAdmin, "x", t0)
	wantErr(t, "EndSeat from another account", err, licensing.ErrNotFound)
	wantErr(t, "StartSession for a user of another account", s.StartSession(ctx, newSession(b.ID, ann.ID, productV5, t0), ""), licensing.ErrNotFound)
	_, err = s.JoinQueue(ctx, b.ID, productV5, ann.ID, t0, t0.Add(time.Hour), 0)
	wantErr(t, "JoinQueue for a user of another account", err, licensing.ErrNotFound)
	wantErr(t, "RefreshTicket from another account", s.RefreshTicket(ctx, b.ID, ticket, t0, t0.Add(2*time.Hour)), licensing.ErrNotFound)
	wantErr(t, "LeaveQueue from another account", s.LeaveQueue(ctx, b.ID, ticket), nil)
	if n, _ := s.Waiting(ctx, a.ID, productV5, t0); n != 1 {
		t.Errorf("another account's LeaveQueue took the waiter out: %d waiting", n)
	}
	if n, _ := s.Waiting(ctx, b.ID, productV5, t0); n != 0 {
		t.Errorf("Waiting of another account = %d", n)
	}
	if evs := eventsOf(t, s, b.ID); len(evs) != 0 {
		t.Errorf("SeatEvents of another account = %+v", evs)
	}
	setPlan(t, s, b.ID, productV5, 0, 0)
	u, _ := usageOf(t, s, a.ID, productV5)
	if u.NamedSeats != 1 || u.ConcurrentSeats != 1 || u.ConcurrentOccupied != 1 {
		t.Errorf("usage after another account's changes = %+v", u)
	}
	wantUsage(t, s, b.ID, productV5, 0, 0)
	got, _ := s.Session(ctx, a.ID, sess.ID)
	if got.State != licensing.SessionPending {
		t.Errorf("session after another account's calls = %+v", got)
	}
	checkSeats(t, s, a.ID, productV5)
}

// testQueueSeveralFree checks that k free seats go to the first k waiters
// at once (not one waiter at a time), that a waiter behind them still
// waits, and that a claim without a ticket gets a seat only when more are
// free than agents wait.
func testQueueSeveralFree(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	setPlan(t, s, a.ID, productV5, 0, 3)
	var us []licensing.User
	for i := range 6 {
		us = append(us, createUser(t, s, newAgent(a.ID, fmt.Sprintf("qs%d@example.com", i), productV5, "concurrent")))
	}
	t0 := now()
	var holders []licensing.Session
	for i := range 3 {
		holders = append(holders, startSession(t, s, a.ID, us[i].ID, productV5, t0))
	}
	var tickets []string
	for i := 3; i < 6; i++ {
		tk, err := s.JoinQueue(ctx, a.ID, productV5, us[i].ID, t0.Add(time.Duration(i)*time.Millisecond), t0.Add(time.Minute), 0)
		wantErr(t, "JoinQueue", err, nil)
		tickets = append(tickets, tk)
	}
	t1 := t0.Add(time.Second)
	for _, h := range holders[:2] {
		_, err := s.EndSession(ctx, a.ID, h.UserID, h.ID, licensing.EndedByAgent, "", t1)
		wantErr(t, "EndSession", err, nil)
	}
	// Two seats free, three waiting: the third in line and a newcomer wait.
	wantInUse(t, "claim of the third in line", s.StartSession(ctx, newSession(a.ID, us[5].ID, productV5, t1), tickets[2]), productV5, 1, 3)
	wantInUse(t, "claim without a ticket", s.StartSession(ctx, newSession(a.ID, us[0].ID, productV5, t1), ""), productV5, 1, 3)
	// The second in line need not wait for the first: one seat is left for it.
	wantErr(t, "claim of the second in line", s.StartSession(ctx, newSession(a.ID, us[4].ID, productV5, t1), tickets[1]), nil)
	wantErr(t, "claim of the first in line", s.StartSession(ctx, newSession(a.ID, us[3].ID, productV5, t1), tickets[0]), nil)
	wantUsage(t, s, a.ID, productV5, 0, 3)
	wantInUse(t, "claim of the third in line, all seats taken", s.StartSession(ctx, newSession(a.ID, us[5].ID, productV5, t1), tickets[2]), productV5, 3, 3)
}
