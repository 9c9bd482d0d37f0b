package licensing

import (
	"testing"
	"time"
)

// TestSharedSessions proves the grouping: sessions of named licenses are
// left out; two sessions of one seat make one shared session, connected
// if either is, since the older start and with the newer heartbeat; the
// list is ordered by since, then id.
func TestSharedSessions(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	open := []Session{
		{ProductID: "p", UserID: "b", License: LicenseConcurrent, State: SessionPending, CreatedAt: at(5), LastSeen: at(6)},
		{ProductID: "p", UserID: "n", License: LicenseNamed, State: SessionConnected, CreatedAt: at(0), LastSeen: at(0)},
		{ProductID: "p", UserID: "a", License: LicenseConcurrent, State: SessionPending, CreatedAt: at(3), LastSeen: at(9)},
		{ProductID: "p", UserID: "a", License: LicenseConcurrent, State: SessionConnected, CreatedAt: at(1), LastSeen: at(4)},
		{ProductID: "p", UserID: "c", License: LicenseConcurrent, State: SessionPending, CreatedAt: at(5), LastSeen: at(5)},
	}
	got := SharedSessions(open)
	want := []SharedSession{
		{ProductID: "p", UserID: "a", State: SessionConnected, Since: at(1), LastHeartbeat: at(9), Sessions: 2},
		{ProductID: "p", UserID: "b", State: SessionPending, Since: at(5), LastHeartbeat: at(6), Sessions: 1},
		{ProductID: "p", UserID: "c", State: SessionPending, Since: at(5), LastHeartbeat: at(5), Sessions: 1},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	if id := got[0].ID(); id != "p:a" {
		t.Errorf("ID() = %q", id)
	}
}
