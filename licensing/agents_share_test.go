package licensing

import "testing"

// TestWakeSharedTicket: two start requests of one user share the user's
// ticket; a change naming it wakes both, and when one leaves the other is
// still woken by it.
func TestWakeSharedTicket(t *testing.T) {
	a := NewAgents(nil, SystemClock{}, DefaultCatalog(), AgentConfig{}, nil)
	k := lineKey{"acct", "prod"}
	w1, w2 := a.enter(k), a.enter(k)
	a.joined(w1, "t", false)
	a.joined(w2, "t", false)
	a.seatsChanged(SeatChange{AccountID: "acct", ProductID: "prod", Seats: 1, Tickets: []string{"t"}})
	if len(w1.wake) != 1 || len(w2.wake) != 1 {
		t.Fatalf("a change naming the shared ticket woke %d and %d, want both", len(w1.wake), len(w2.wake))
	}
	<-w1.wake
	<-w2.wake
	a.leave(k, w1)
	a.seatsChanged(SeatChange{AccountID: "acct", ProductID: "prod", Seats: 1, Tickets: []string{"t"}})
	if len(w2.wake) != 1 {
		t.Fatal("the request left holding the shared ticket is no longer woken by it")
	}
	a.leave(k, w2)
	if len(a.tickets) != 0 || len(a.lines) != 0 {
		t.Fatalf("left: lines %v, tickets %v", a.lines, a.tickets)
	}
}
