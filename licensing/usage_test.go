package licensing

import (
	"errors"
	"maps"
	"slices"
	"testing"
	"time"
)

// usageAt is a time of 2026-03-02 (UTC), hh:mm.
func usageAt(hh, mm int) time.Time { return time.Date(2026, 3, 2, hh, mm, 0, 0, time.UTC) }

func seatEv(product string, kind SeatEventKind, t time.Time) SeatEvent {
	return SeatEvent{ProductID: product, Kind: kind, At: t}
}

// TestUsageReportHours checks every number of an hourly report against
// values computed by hand, including events exactly on bucket boundaries,
// events at one instant, occupancy carried in from before From, and a
// product without concurrent seats.
func TestUsageReportHours(t *testing.T) {
	q := UsageQuery{
		From: usageAt(9, 30), To: usageAt(12, 0), Bucket: time.Hour,
		Seats:    map[string]int{"a": 2, "b": 0},
		Occupied: map[string]int{"a": 1, "b": 1},
	}
	events := []SeatEvent{
		seatEv("a", SeatOccupied, usageAt(9, 0)), // before From: carried by Occupied, ignored
		seatEv("a", SeatOccupied, usageAt(9, 45)),
		seatEv("a", SeatDenied, usageAt(9, 50)),
		// On the 10:00 boundary: the next bucket's. Taken then freed at
		// one instant: never three at once.
		seatEv("a", SeatOccupied, usageAt(10, 0)),
		seatEv("a", SeatReleased, usageAt(10, 0)),
		seatEv("a", SeatEnded, usageAt(10, 30)),
		seatEv("a", SeatDenied, usageAt(10, 40)),
		seatEv("a", SeatDenied, usageAt(10, 41)),
		seatEv("a", SeatExpired, usageAt(11, 0)),
		seatEv("a", SeatOccupied, usageAt(12, 0)), // at To: outside
		seatEv("c", SeatOccupied, usageAt(10, 0)), // not reported
	}
	got := UsageReport(q, events)
	want := []UsageBucket{
		// 1 seat 09:30-09:45, 2 seats (all) 09:45-10:00.
		{ProductID: "a", Start: usageAt(9, 30), End: usageAt(10, 0), Seats: 2, PeakOccupied: 2, SeatHours: 0.75, Denials: 1, FullSeconds: 900},
		// 2 seats 10:00-10:30, 1 seat 10:30-11:00.
		{ProductID: "a", Start: usageAt(10, 0), End: usageAt(11, 0), Seats: 2, PeakOccupied: 2, SeatHours: 1.5, Denials: 2, FullSeconds: 1800},
		// The seat freed at 11:00 sharp is not held in this bucket.
		{ProductID: "a", Start: usageAt(11, 0), End: usageAt(12, 0), Seats: 2},
		// No concurrent seats: never full, however many are held.
		{ProductID: "b", Start: usageAt(9, 30), End: usageAt(10, 0), PeakOccupied: 1, SeatHours: 0.5},
		{ProductID: "b", Start: usageAt(10, 0), End: usageAt(11, 0), PeakOccupied: 1, SeatHours: 1},
		{ProductID: "b", Start: usageAt(11, 0), End: usageAt(12, 0), PeakOccupied: 1, SeatHours: 1},
	}
	checkBuckets(t, got, want)
}

// TestUsageReportDays checks that day buckets are UTC days, whatever the
// zone of the range, and that the first and last are clipped to it.
func TestUsageReportDays(t *testing.T) {
	plus2 := time.FixedZone("+02:00", 2*3600)
	q := UsageQuery{
		From:   time.Date(2026, 3, 2, 0, 0, 0, 0, plus2), // 2026-03-01T22:00Z
		To:     time.Date(2026, 3, 3, 6, 0, 0, 0, time.UTC),
		Bucket: 24 * time.Hour,
		Seats:  map[string]int{"a": 1},
	}
	if n := q.Buckets(); n != 3 {
		t.Fatalf("Buckets() = %d, want 3", n)
	}
	day1 := time.Date(2026, 3, 1, 22, 0, 0, 0, time.UTC)
	events := []SeatEvent{
		seatEv("a", SeatOccupied, day1.Add(time.Hour)),    // 23:00
		seatEv("a", SeatDenied, day1.Add(90*time.Minute)), // 23:30
		seatEv("a", SeatReleased, usageAt(1, 0)),
	}
	got := UsageReport(q, events)
	want := []UsageBucket{
		{ProductID: "a", Start: day1, End: usageAt(0, 0), Seats: 1, PeakOccupied: 1, SeatHours: 1, Denials: 1, FullSeconds: 3600},
		{ProductID: "a", Start: usageAt(0, 0), End: usageAt(0, 0).Add(24 * time.Hour), Seats: 1, PeakOccupied: 1, SeatHours: 1, FullSeconds: 3600},
		{ProductID: "a", Start: usageAt(0, 0).Add(24 * time.Hour), End: q.To, Seats: 1},
	}
	checkBuckets(t, got, want)
	for _, b := range got {
		if b.Start.Location() != time.UTC || b.End.Location() != time.UTC {
			t.Errorf("bucket %v-%v is not in UTC", b.Start, b.End)
		}
	}
}

func checkBuckets(t *testing.T, got, want []UsageBucket) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d buckets, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if !got[i].Start.Equal(want[i].Start) || !got[i].End.Equal(want[i].End) {
			t.Errorf("bucket %d: %v-%v, want %v-%v", i, got[i].Start, got[i].End, want[i].Start, want[i].End)
		}
		g, w := got[i], want[i]
		g.Start, g.End, w.Start, w.End = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		if g != w {
			t.Errorf("bucket %d (%v): %+v, want %+v", i, got[i].Start, g, w)
		}
	}
}

func TestUsageQueryBuckets(t *testing.T) {
	for _, c := range []struct {
		from, to time.Time
		bucket   time.Duration
		want     int
	}{
		{usageAt(9, 0), usageAt(12, 0), time.Hour, 3},
		{usageAt(9, 30), usageAt(12, 0), time.Hour, 3},
		{usageAt(9, 0), usageAt(12, 0).Add(time.Second), time.Hour, 4},
		{usageAt(9, 59), usageAt(10, 1), time.Hour, 2},
		{usageAt(9, 0), usageAt(9, 0), time.Hour, 0},
		{usageAt(10, 0), usageAt(9, 0), time.Hour, 0},
		{usageAt(0, 0), usageAt(0, 0).Add(93 * 24 * time.Hour), 24 * time.Hour, 93},
	} {
		if got := (UsageQuery{From: c.from, To: c.to, Bucket: c.bucket}).Buckets(); got != c.want {
			t.Errorf("Buckets(%v, %v, %v) = %d, want %d", c.from, c.to, c.bucket, got, c.want)
		}
	}
}

// TestOccupancyAt derives the seats held at a past moment from the seats
// held now and the events since.
func TestOccupancyAt(t *testing.T) {
	now := map[string]int{"a": 2, "c": 0}
	events := []SeatEvent{
		seatEv("a", SeatOccupied, usageAt(8, 0)),   // before t: already in the past state
		seatEv("a", SeatOccupied, usageAt(9, 0)),   // at t: happened since
		seatEv("a", SeatReleased, usageAt(9, 10)),  //
		seatEv("a", SeatOccupied, usageAt(9, 20)),  // net since t: +1
		seatEv("a", SeatDenied, usageAt(9, 30)),    // no change
		seatEv("b", SeatExpired, usageAt(9, 40)),   // b held one at t, none now
		seatEv("c", SeatOccupied, usageAt(9, 50)),  // inconsistent with c's 0 now:
		seatEv("c", SeatOccupied, usageAt(9, 55)),  // clamped to 0
		seatEv("a", SeatEnded, usageAt(10, 0)),     // net since t: 0
		seatEv("a", SeatOccupied, usageAt(10, 10)), // net since t: +1
	}
	got := OccupancyAt(usageAt(9, 0), now, events)
	want := map[string]int{"a": 1, "b": 1, "c": 0}
	if !maps.Equal(got, want) {
		t.Errorf("OccupancyAt = %v, want %v", got, want)
	}
	if now["a"] != 2 {
		t.Error("OccupancyAt changed its input")
	}
	for k, d := range map[SeatEventKind]int{SeatOccupied: 1, SeatReleased: -1, SeatExpired: -1, SeatEnded: -1, SeatDenied: 0} {
		if SeatDelta(k) != d {
			t.Errorf("SeatDelta(%s) = %d, want %d", k, SeatDelta(k), d)
		}
	}
}

// TestUsageReportFromOccupancy ties the two together: the report of a
// past range, started from the occupancy derived backwards, sees the
// seats held before the range began.
func TestUsageReportFromOccupancy(t *testing.T) {
	events := []SeatEvent{
		seatEv("a", SeatOccupied, usageAt(8, 0)),
		seatEv("a", SeatReleased, usageAt(9, 30)),
		seatEv("a", SeatOccupied, usageAt(10, 30)),
	}
	// Now (11:00) one seat is held: the one taken at 10:30.
	from := usageAt(9, 0)
	occ := OccupancyAt(from, map[string]int{"a": 1}, events)
	got := UsageReport(UsageQuery{From: from, To: usageAt(10, 0), Bucket: time.Hour, Seats: map[string]int{"a": 1}, Occupied: occ}, events)
	checkBuckets(t, got, []UsageBucket{
		{ProductID: "a", Start: from, End: usageAt(10, 0), Seats: 1, PeakOccupied: 1, SeatHours: 0.5, FullSeconds: 1800},
	})
}

// TestUsageBucketsInZones checks the buckets of zones: local midnights
// at daylight saving changes (a 23-hour and a 25-hour day), local clock
// hours and days of zones whose offsets are not whole hours, clipped to
// the range; and UsageZone's answers. (The conformance suite checks the
// numbers from roll-ups against UsageReport's in these zones.)
func TestUsageBucketsInZones(t *testing.T) {
	zone := func(name string) *time.Location {
		z, err := UsageZone(name)
		if err != nil {
			t.Fatal(err)
		}
		return z
	}
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v.UTC()
	}
	for _, c := range []struct {
		zone, from, to string
		bucket         time.Duration
		want           []string // bucket starts
		lastEnd        string
	}{
		{"Europe/Berlin", "2026-03-28T00:00:00+01:00", "2026-03-31T00:00:00+02:00", 24 * time.Hour,
			[]string{"2026-03-27T23:00:00Z", "2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z"}, "2026-03-30T22:00:00Z"},
		{"America/New_York", "2026-10-31T12:00:00-04:00", "2026-11-03T00:00:00-05:00", 24 * time.Hour,
			[]string{"2026-10-31T16:00:00Z", "2026-11-01T04:00:00Z", "2026-11-02T05:00:00Z"}, "2026-11-03T05:00:00Z"},
		{"Asia/Kolkata", "2026-03-02T10:00:00Z", "2026-03-02T12:00:00Z", time.Hour,
			[]string{"2026-03-02T10:00:00Z", "2026-03-02T10:30:00Z", "2026-03-02T11:30:00Z"}, "2026-03-02T12:00:00Z"},
		{"Asia/Kathmandu", "2026-03-01T00:00:00+05:45", "2026-03-03T00:00:00+05:45", 24 * time.Hour,
			[]string{"2026-02-28T18:15:00Z", "2026-03-01T18:15:00Z"}, "2026-03-02T18:15:00Z"},
	} {
		q := UsageQuery{From: utc(c.from), To: utc(c.to), Bucket: c.bucket, Zone: zone(c.zone), Seats: map[string]int{"a": 1}}
		var starts []string
		var end time.Time
		for s, e := range q.bucketBounds {
			starts = append(starts, s.Format(time.RFC3339))
			end = e
		}
		if !slices.Equal(starts, c.want) || !end.Equal(utc(c.lastEnd)) || q.Buckets() != len(c.want) {
			t.Errorf("%s buckets of %s..%s: %v ending %v, want %v ending %s", c.zone, c.from, c.to, starts, end, c.want, c.lastEnd)
		}
	}
	if _, err := UsageZone("Mars/Olympus"); !errors.Is(err, ErrInvalid) {
		t.Errorf("UsageZone of an unknown zone: %v", err)
	}
	if z, err := UsageZone(""); err != nil || z != time.UTC {
		t.Errorf("UsageZone(\"\") = %v, %v", z, err)
	}
}
