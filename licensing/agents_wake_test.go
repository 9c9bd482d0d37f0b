package licensing

import (
	"fmt"
	"testing"
)

// TestWakeWaiters checks whom a seat change wakes among this process's
// waiters: those whose tickets it names, even if the change came before
// JoinQueue returned the ticket; those still joining the line when more
// seats are free than it names; without tickets, the first waiters that
// have no wake-up pending; with no line, everyone.
func TestWakeWaiters(t *testing.T) {
	a := NewAgents(nil, SystemClock{}, DefaultCatalog(), AgentConfig{}, nil)
	k := lineKey{"acct", "prod"}
	w1, w2, w3, w4 := a.enter(k), a.enter(k), a.enter(k), a.enter(k)
	other := a.enter(lineKey{"acct", "other"})
	a.joined(w1, "t1", false)
	a.joined(w2, "t2", false)
	a.joined(w3, "t3", false)
	all := []*waiter{w1, w2, w3, w4, other}
	check := func(step string, want ...bool) {
		t.Helper()
		for i, w := range all {
			if got := len(w.wake) == 1; got != want[i] {
				t.Fatalf("%s: waiter %d has a wake-up pending: %t, want %t", step, i+1, got, want[i])
			}
		}
		for _, w := range all {
			select { // they try
			case <-w.wake:
			default:
			}
		}
	}

	a.seatsChanged(SeatChange{AccountID: "acct", ProductID: "prod", Seats: 1, Tickets: []string{"t2"}})
	check("t2 named", false, true, false, false, false)
	a.seatsChanged(SeatChange{AccountID: "acct", ProductID: "prod", Seats: 2, Tickets: []string{"elsewhere", "t4"}})
	check("t4 named before w4 joined", false, false, false, false, false)
	a.joined(w4, "t4", false)
	check("w4 joined as t4", false, false, false, true, false)
	w5 := a.enter(k)
	all = append(all, w5)
	a.seatsChanged(SeatChange{AccountID: "acct", ProductID: "prod", Seats: 3, Tickets: []string{"t3"}})
	check("three seats, one waiter named", false, false, true, false, false, true)
	a.seatsChanged(SeatChange{AccountID: "acct", ProductID: "prod", Seats: 2})
	check("two seats, no ticket named", true, true, false, false, false, false)
	w1.poke()
	a.seatsChanged(SeatChange{AccountID: "acct", ProductID: "prod", Seats: 1})
	check("one seat, no ticket named, w1 still to try", true, true, false, false, false, false)
	a.joined(w1, "t1b", true) // w1's ticket expired: it joined again at the back
	a.seatsChanged(SeatChange{AccountID: "acct", ProductID: "prod", Seats: 1})
	check("one seat, no ticket named, w1 at the back", false, true, false, false, false, false)
	a.seatsChanged(SeatChange{AccountID: "acct", ProductID: "prod", Seats: 1, Tickets: []string{"t1"}})
	check("w1's old ticket named", false, false, false, false, false, false)
	a.seatsChanged(SeatChange{})
	check("any line", true, true, true, true, true, true)

	for _, w := range all[:4] {
		a.leave(k, w)
	}
	a.leave(k, w5)
	a.leave(lineKey{"acct", "other"}, other)
	if len(a.lines) != 0 || len(a.tickets) != 0 {
		t.Fatalf("left: lines %v, tickets %v", a.lines, a.tickets)
	}

	// The tickets named for nobody here are bounded.
	for i := range 3 * maxTold {
		a.seatsChanged(SeatChange{AccountID: "acct", ProductID: "prod", Seats: 1, Tickets: []string{fmt.Sprint(i)}})
	}
	if len(a.told) != maxTold || !a.told[fmt.Sprint(3*maxTold-1)] || a.told["0"] {
		t.Fatalf("%d tickets remembered, want the last %d", len(a.told), maxTold)
	}
}
