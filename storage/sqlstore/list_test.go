package sqlstore

import (
	"encoding/json"
	"testing"
	"time"
)

// TestPositionsHideCounters checks that the positions of listings are as
// long whatever the row counters in them (which count the rows of every
// account), so that a sealed cursor's length does not tell them, and that
// they read back.
func TestPositionsHideCounters(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 8000, time.UTC)
	var users, audit []int
	for _, n := range []int64{1, 99999, 1 << 40, 1<<63 - 1} {
		c := cursor{Order: 7, Seq: counter(n)}
		back, err := decodeCursor(c.encode(), 7)
		if err != nil || back != c {
			t.Errorf("cursor %+v read back as %+v, %v", c, back, err)
		}
		users = append(users, len(c.encode()))
		b, _ := json.Marshal(auditCursor{At: at, ID: counter(n)})
		var a auditCursor
		if err := json.Unmarshal(b, &a); err != nil || a.ID != counter(n) || !a.At.Equal(at) {
			t.Errorf("audit position %s read back as %+v, %v", b, a, err)
		}
		audit = append(audit, len(b))
	}
	for i := range users {
		if users[i] != users[0] || audit[i] != audit[0] {
			t.Fatalf("position lengths change with the counter: listings %v, audit %v", users, audit)
		}
	}
}
