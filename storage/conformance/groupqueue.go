package conformance

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/scimd/scimd/licensing"
)

// What a place in the queue for named seats means, as the stores keep it.
//
// A user waits for a named seat of a product from the write that makes them
// entitled to an inherited named license (active, and a member, directly or
// through nested groups, of a group giving it) without finding a seat. They
// keep their place as long as the entitlement lasts without a break,
// whatever groups they join or leave meanwhile; it ends with the
// entitlement: a user who leaves their last named group, is deactivated or
// is deleted, and comes back, queues at the back. Users queued by one write
// queue among themselves by user id. A seat, once held, is kept while the
// entitlement lasts. Lowering the plan never reaches the queue: while
// anyone waits every named seat is taken, and the plan cannot go below the
// seats taken. So seats go in queue order: after any writes, for every user
// W entitled throughout them who still waits,
//
//   - everyone who got a named seat meanwhile waited ahead of W before;
//   - everyone who waits ahead of W now waited ahead of W before;
//
// and at any quiet moment the places are 1..n, one per waiting user,
// nobody waits while a seat is free, and exactly the entitled users hold a
// seat or wait (with a group's concurrent license in force meanwhile).

// queueState is what a user holds of productV5 at a quiet moment.
type queueState struct {
	named  licensing.LicenseStatus // "" if no named license
	place  int                     // when pending
	shared bool                    // a concurrent license in force
}

// queueModel is what the test knows of the users' entitlements: who is
// deleted, who is active, and the members of each group (the named groups,
// then the one giving concurrent).
type queueModel struct {
	ids     []string
	deleted map[string]bool
	active  map[string]bool
	members []map[string]bool
}

// namedGroups returns the named groups user id belongs to.
func (m queueModel) namedGroups(id string) []int {
	var in []int
	for g, ms := range m.members[:len(m.members)-1] {
		if ms[id] {
			in = append(in, g)
		}
	}
	return in
}

// entitled tells whether user id is entitled to a named license.
func (m queueModel) entitled(id string) bool {
	return !m.deleted[id] && m.active[id] && len(m.namedGroups(id)) > 0
}

// testGroupQueueOrderRace races, round after round, every write that moves
// the queue for named seats (members of several named groups added and
// removed, users deactivated, reactivated and deleted, the plan grown and
// lowered) and checks after each round, when all is quiet, the invariants
// above (see "What a place in the queue means"); then grows the plan one
// seat at a time: each time exactly the head of the queue gets the seat.
func testGroupQueueOrderRace(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	const seats, users, namedGroups, rounds = 3, 24, 3, 6
	setPlan(t, s, a.ID, productV5, seats, 20)
	m := queueModel{deleted: map[string]bool{}, active: map[string]bool{}}
	for i := range users {
		u := createUser(t, s, newUser(a.ID, fmt.Sprintf("q%02d@example.com", i)))
		m.ids = append(m.ids, u.ID)
		m.active[u.ID] = true
	}
	var groups []licensing.Group
	for i := range namedGroups {
		groups = append(groups, createGroup(t, s, licensed(a.ID, fmt.Sprintf("Named %d", i), nil, productV5, "named")))
	}
	groups = append(groups, createGroup(t, s, licensed(a.ID, "Shared", nil, productV5, "concurrent")))
	for range groups {
		m.members = append(m.members, map[string]bool{})
	}
	seed := rand.Uint64()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the rounds were drawn with seed %d", seed)
		}
	})
	rng := rand.New(rand.NewPCG(12, seed))
	before := readQueue(t, s, a.ID)
	var off []string // deactivated in the last round: reactivated in this one
	warm(t, s, a.ID, 12)
	for round := range rounds {
		// What the round does, decided before it starts.
		var live []string
		for _, id := range m.ids {
			if !m.deleted[id] {
				live = append(live, id)
			}
		}
		rng.Shuffle(len(live), func(i, j int) { live[i], live[j] = live[j], live[i] })
		// The users deactivated in the last round are reactivated, two
		// others deactivated, and one more deleted.
		toggled := slices.Clone(off)
		live = slices.DeleteFunc(live, func(id string) bool { return slices.Contains(toggled, id) })
		off = slices.Clone(live[1:3])
		victim := live[0]
		live = append(live[1:], toggled...)
		toggled = append(toggled, off...)
		targets := make([]map[string]bool, len(groups))
		for g := range targets {
			targets[g] = map[string]bool{}
			for _, id := range live {
				if rng.IntN(2) == 0 {
					targets[g][id] = true
				}
			}
		}

		var racers []func() error
		for g := range groups {
			racers = append(racers, func() error {
				return replaceGroupRetrying(s, a.ID, groups[g].ID, func(next *licensing.Group) {
					next.Members = nil
					for _, id := range slices.Sorted(maps.Keys(targets[g])) {
						next.Members = append(next.Members, licensing.Member{ID: id, Type: licensing.MemberUser})
					}
				})
			})
		}
		for _, id := range toggled {
			on := !m.active[id]
			racers = append(racers, func() error {
				return replaceUserRetrying(s, a.ID, id, func(u *licensing.User) { u.Active = on })
			})
		}
		racers = append(racers, func() error { return s.DeleteUser(ctx, a.ID, victim, now()) })
		// Grow the plan in odd rounds; try to lower it in even ones, which
		// fails while anyone waits.
		plan, _ := usageOf(t, s, a.ID, productV5)
		n := plan.NamedSeats + 1
		if round%2 == 0 {
			n = plan.NamedSeats - 1
		}
		racers = append(racers, func() error {
			err := s.SetPlan(ctx, licensing.Plan{AccountID: a.ID, ProductID: productV5, NamedSeats: n, ConcurrentSeats: 20})
			var below *licensing.PlanBelowAssignedError
			if errors.As(err, &below) {
				return nil
			}
			return err
		})
		for i, err := range raceN(len(racers), func(i int) error { return racers[i]() }) {
			wantErr(t, fmt.Sprintf("round %d: racer %d", round, i), err, nil)
		}

		after := readQueue(t, s, a.ID)
		checkQueueOrder(t, fmt.Sprintf("round %d", round), m, targets, toggled, victim, before, after)
		m.deleted[victim] = true
		for _, id := range toggled {
			m.active[id] = !m.active[id]
		}
		m.members = targets
		checkQueueState(t, fmt.Sprintf("round %d", round), m, after)
		checkSeats(t, s, a.ID, productV5)
		before = after
	}

	// The plan grows one seat at a time: each time the head of the queue,
	// and only they, gets the seat; the others move up one place.
	waiting := 0
	for _, st := range before {
		if st.named == licensing.LicensePending {
			waiting++
		}
	}
	if waiting < 3 {
		t.Fatalf("%d users wait after the rounds: the race left no queue to check", waiting)
	}
	for range waiting {
		u, _ := usageOf(t, s, a.ID, productV5)
		setPlan(t, s, a.ID, productV5, u.NamedSeats+1, 20)
		after := readQueue(t, s, a.ID)
		for id, st := range before {
			got := after[id]
			switch {
			case st.named == licensing.LicensePending && st.place == 1:
				if got.named != licensing.LicenseActive || got.shared {
					t.Errorf("plan of %d: the head of the queue holds %+v, want the named license alone", u.NamedSeats+1, got)
				}
			case st.named == licensing.LicensePending:
				if got.named != licensing.LicensePending || got.place != st.place-1 || got.shared != st.shared {
					t.Errorf("plan of %d: place %d became %+v, want place %d", u.NamedSeats+1, st.place, got, st.place-1)
				}
			case got != st:
				t.Errorf("plan of %d: a user not waiting went from %+v to %+v", u.NamedSeats+1, st, got)
			}
		}
		checkQueueState(t, fmt.Sprintf("plan of %d", u.NamedSeats+1), m, after)
		before = after
	}
	checkSeats(t, s, a.ID, productV5)
}

// readQueue reads what every user of the account holds of productV5.
func readQueue(t *testing.T, s licensing.Store, accountID string) map[string]queueState {
	t.Helper()
	page, err := s.Users(context.Background(), accountID, licensing.Query{Limit: 1000, WithoutGroups: true})
	wantErr(t, "Users", err, nil)
	out := map[string]queueState{}
	for _, u := range page.Items {
		var st queueState
		for _, l := range u.Licenses {
			switch {
			case l.ProductID != productV5:
			case l.License == licensing.LicenseNamed:
				st.named, st.place = l.Status, l.Place
			case l.License == licensing.LicenseConcurrent && l.Status == licensing.LicenseActive:
				st.shared = true
			}
		}
		out[u.ID] = st
	}
	return out
}

// checkQueueState checks the licenses of a quiet moment against the
// model: places 1..n, one per waiting user; the entitled users hold a
// named seat or wait, the others hold none; a concurrent license in force
// exactly for the members of the concurrent group without a named seat.
func checkQueueState(t *testing.T, when string, m queueModel, got map[string]queueState) {
	t.Helper()
	var places []int
	for _, id := range m.ids {
		st, ok := got[id]
		if m.deleted[id] {
			if ok {
				t.Errorf("%s: deleted user %s listed", when, id)
			}
			continue
		}
		if m.entitled(id) != (st.named != "") {
			t.Errorf("%s: user %s (active %v, in named groups %v) holds %+v", when, id, m.active[id], m.namedGroups(id), st)
		}
		shared := m.active[id] && m.members[len(m.members)-1][id] && st.named != licensing.LicenseActive
		if st.shared != shared {
			t.Errorf("%s: user %s holds %+v, want a concurrent license in force: %v", when, id, st, shared)
		}
		if st.named == licensing.LicensePending {
			places = append(places, st.place)
		}
	}
	slices.Sort(places)
	for i, p := range places {
		if p != i+1 {
			t.Errorf("%s: the places in the queue are %v, want 1..%d", when, places, len(places))
			break
		}
	}
}

// checkQueueOrder checks the queue order across a round (see "What a place
// in the queue means"): for every user W entitled throughout the round
// (active, not deleted, and kept by a named group) who still waits at its
// end, everyone who got a named seat in the round, and everyone waiting
// ahead of W at its end, waited ahead of W at its start. targets are the
// groups' members at the end of the round, toggled the users whose
// activity changed, victim the user deleted; m is the model at the start.
func checkQueueOrder(t *testing.T, when string, m queueModel, targets []map[string]bool, toggled []string, victim string,
	before, after map[string]queueState) {
	t.Helper()
	throughout := func(id string) bool {
		if !m.entitled(id) || id == victim || slices.Contains(toggled, id) {
			return false
		}
		return slices.ContainsFunc(m.namedGroups(id), func(g int) bool { return targets[g][id] })
	}
	aheadBefore := func(x, w string) bool {
		return before[x].named == licensing.LicensePending && before[x].place < before[w].place
	}
	for w, stW := range after {
		if !throughout(w) {
			continue
		}
		if before[w].named == licensing.LicenseActive && stW.named != licensing.LicenseActive {
			t.Errorf("%s: user %s, entitled throughout, lost their named seat: %+v", when, w, stW)
		}
		if stW.named != licensing.LicensePending {
			continue
		}
		if before[w].named != licensing.LicensePending {
			t.Errorf("%s: user %s, entitled throughout, went from %+v to waiting", when, w, before[w])
			continue
		}
		for x, stX := range after {
			promoted := stX.named == licensing.LicenseActive && before[x].named != licensing.LicenseActive
			if promoted && !aheadBefore(x, w) {
				t.Errorf("%s: user %s got a named seat (was %+v) while %s, entitled throughout, waits (place %d, was %d)",
					when, x, before[x], w, stW.place, before[w].place)
			}
			if stX.named == licensing.LicensePending && stX.place < stW.place && !aheadBefore(x, w) {
				t.Errorf("%s: user %s waits at place %d (was %+v), ahead of %s, entitled throughout, at place %d (was %d)",
					when, x, stX.place, before[x], w, stW.place, before[w].place)
			}
		}
	}
}

// testQueueServedBeforeNewcomers: a group write that frees named seats
// (members holding them removed) and adds members gives the seats freed
// to the users already waiting; the members it adds queue behind them.
func testQueueServedBeforeNewcomers(t *testing.T, s licensing.Store) {
	a := newAccount(t, s)
	setPlan(t, s, a.ID, productV5, 1, 0)
	first := usersByIDOrder(t, s, a.ID, "n", 3)
	g := createGroup(t, s, licensed(a.ID, "Named", userMembers(first[:2]...), productV5, "named"))
	wantLicense(t, s, a.ID, first[0], productV5, "named/active/"+g.ID)
	wantLicense(t, s, a.ID, first[1], productV5, "named/pending/"+g.ID)
	regroup(t, s, &g, func(g *licensing.Group) { g.Members = userMembers(first[1:]...) })
	wantLicense(t, s, a.ID, first[0], productV5, "")
	wantLicense(t, s, a.ID, first[1], productV5, "named/active/"+g.ID)
	wantLicense(t, s, a.ID, first[2], productV5, "named/pending/"+g.ID)
	checkSeats(t, s, a.ID, productV5)
}
