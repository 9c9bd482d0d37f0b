package licensing

import (
	"maps"
	"slices"
	"time"
)

// This file turns seat events into usage reports: per product and per
// bucket of time (an hour, a day), the peak of concurrent seats occupied,
// the seat-hours used, the denials and the time spent with every seat
// taken. It reads nothing: callers pass the events and the numbers.
// UsageReport is the reference: AccountUsage (usage_account.go) computes
// the same numbers from hourly roll-ups (usage_rollup.go) where it can.

// SeatDelta is the change a seat event makes to the number of concurrent
// seats occupied. The store records seat events per seat, not per session
// (see Seats.StartSession and Seats.EndSession): occupied when a user's
// first open session of a product takes the seat, and released, expired
// or ended (by the reason) when the user's last open session of it ends
// and frees the seat; sessions that share a held seat record none. So each
// occupied event is +1, each released, expired or ended event -1, and a
// denial changes nothing.
func SeatDelta(k SeatEventKind) int {
	switch k {
	case SeatOccupied:
		return 1
	case SeatReleased, SeatExpired, SeatEnded:
		return -1
	}
	return 0
}

// OccupancyAt returns the concurrent seats occupied per product at t,
// derived backwards from the seats occupied now (Usage.ConcurrentOccupied
// by product) and the seat events since t: the number now minus the net
// change of the events with t <= At (events before t are ignored; pass
// those up to now). Products of the events that are absent from now had
// none occupied now. A result below zero, which only counts and events
// read at slightly different moments can give, is 0.
func OccupancyAt(t time.Time, now map[string]int, events []SeatEvent) map[string]int {
	out := maps.Clone(now)
	if out == nil {
		out = map[string]int{}
	}
	for _, e := range events {
		if !e.At.Before(t) {
			out[e.ProductID] -= SeatDelta(e.Kind)
		}
	}
	for p, n := range out {
		out[p] = max(n, 0)
	}
	return out
}

// UsageQuery says what a usage report covers.
type UsageQuery struct {
	// From and To bound the report, [From, To); To must be after From.
	From, To time.Time
	// Bucket is the length of a bucket: time.Hour or 24*time.Hour (a
	// day). Buckets are the clock hours or the calendar days of Zone (a
	// day at a change of daylight saving time lasts 23 or 25 hours), the
	// first and last clipped to the range.
	Bucket time.Duration
	// Zone is the time zone whose hours and days the buckets follow;
	// nil is UTC.
	Zone *time.Location
	// Seats maps each product to report to its concurrent seats, the
	// number "every seat taken" is judged against. Products absent are
	// not reported, and their events are ignored.
	Seats map[string]int
	// Occupied maps products to the concurrent seats occupied at From
	// (OccupancyAt); absent products had none.
	Occupied map[string]int
}

// Buckets counts the buckets of the report: the buckets that overlap
// [From, To). It is 0 for an empty range or a bucket <= 0.
func (q UsageQuery) Buckets() int {
	n := 0
	for range q.bucketBounds {
		n++
	}
	return n
}

// bucketBounds yields the start and end of each bucket of the report, in
// order, clipped to [From, To).
func (q UsageQuery) bucketBounds(yield func(start, end time.Time) bool) {
	if q.Bucket <= 0 || !q.From.Before(q.To) {
		return
	}
	zone := q.zone()
	start := q.bucketStart(q.From, zone)
	for start.Before(q.To) {
		next := q.nextBucket(start, zone)
		if !yield(latest(start, q.From).UTC(), earliest(next, q.To).UTC()) {
			return
		}
		start = next
	}
}

func (q UsageQuery) zone() *time.Location {
	if q.Zone == nil {
		return time.UTC
	}
	return q.Zone
}

// bucketStart returns the start of the bucket holding t: its local day's
// midnight for day buckets (the first instant of the day where midnight
// is skipped), else the start of its local clock hour. Hours of a zone
// whose offset is a whole number of hours are UTC hours.
func (q UsageQuery) bucketStart(t time.Time, zone *time.Location) time.Time {
	local := t.In(zone)
	if q.Bucket >= 24*time.Hour {
		y, m, d := local.Date()
		return time.Date(y, m, d, 0, 0, 0, 0, zone)
	}
	_, offset := local.Zone()
	shift := time.Duration(offset) * time.Second
	return t.Add(shift).Truncate(time.Hour).Add(-shift)
}

// nextBucket returns the start of the bucket after the one starting at
// start: the next local midnight, or the next start of a local hour.
func (q UsageQuery) nextBucket(start time.Time, zone *time.Location) time.Time {
	if q.Bucket >= 24*time.Hour {
		y, m, d := start.In(zone).Date()
		return time.Date(y, m, d+1, 0, 0, 0, 0, zone)
	}
	next := q.bucketStart(start.Add(time.Hour), zone)
	if !next.After(start) {
		next = start.Add(time.Hour)
	}
	return next
}

// UsageBucket is the use of one product's concurrent seats during one
// bucket of a usage report.
type UsageBucket struct {
	ProductID string
	// Start and End bound the bucket, [Start, End), in UTC.
	Start, End time.Time
	// Seats is the concurrent seats the bucket was judged against
	// (UsageQuery.Seats).
	Seats int
	// PeakOccupied is the most seats held at once during the bucket
	// (after all the events of an instant: a seat freed and another taken
	// at the same moment never count as two).
	PeakOccupied int
	// SeatHours is the integral of the seats occupied over the bucket, in
	// hours: one seat held for 30 minutes is 0.5.
	SeatHours float64
	// Denials counts the claims refused because every seat was taken.
	Denials int
	// FullSeconds is the time, in seconds, during which the seats
	// occupied were at least Seats; always 0 when Seats is 0 (a product
	// without concurrent seats is never "full").
	FullSeconds float64
}

// UsageReport computes the report of q from the seat events (any order;
// those outside [q.From, q.To) or of products not in q.Seats are
// ignored), ordered by product id, then time. Every product of q.Seats
// gets every bucket, empty ones included. Occupancy never goes below zero.
func UsageReport(q UsageQuery, events []SeatEvent) []UsageBucket {
	n := q.Buckets()
	if n == 0 {
		return nil
	}
	byProduct := map[string][]SeatEvent{}
	for _, e := range events {
		if _, ok := q.Seats[e.ProductID]; ok && !e.At.Before(q.From) && e.At.Before(q.To) {
			byProduct[e.ProductID] = append(byProduct[e.ProductID], e)
		}
	}
	out := make([]UsageBucket, 0, n*len(q.Seats))
	for _, p := range slices.Sorted(maps.Keys(q.Seats)) {
		evs := byProduct[p]
		slices.SortStableFunc(evs, func(a, b SeatEvent) int { return a.At.Compare(b.At) })
		seats := q.Seats[p]
		occupied := max(q.Occupied[p], 0)
		for start, end := range q.bucketBounds {
			acc := usageAcc{seats: seats}
			occupied, _, evs = walkEvents(&acc, occupied, true, evs, start, end)
			out = append(out, acc.bucket(p, start, end))
		}
	}
	return out
}

// usageSink takes what walkEvents finds: a level of occupancy held for a
// while, a denial.
type usageSink interface {
	hold(level int, d time.Duration)
	deny()
}

// walkEvents walks the events (sorted by time, none before at) that
// happen before end through the time from at to end, starting at the
// occupancy occupied: the sink is told each level held for a positive
// while (the occupancy is constant between two instants with events, and
// counts after all the events of an instant) and each denial. With clamp,
// the occupancy never goes below zero. It returns the occupancy at end,
// the lowest occupancy any single event left (before clamping; occupied
// if lower) and the events left.
func walkEvents(sink usageSink, occupied int, clamp bool, evs []SeatEvent, at, end time.Time) (int, int, []SeatEvent) {
	low := occupied
	i := 0
	for i < len(evs) && evs[i].At.Before(end) {
		t := evs[i].At
		if d := t.Sub(at); d > 0 {
			sink.hold(occupied, d)
		}
		at = t
		for ; i < len(evs) && evs[i].At.Equal(t); i++ {
			occupied += SeatDelta(evs[i].Kind)
			low = min(low, occupied)
			if clamp {
				occupied = max(occupied, 0)
			}
			if evs[i].Kind == SeatDenied {
				sink.deny()
			}
		}
	}
	if d := end.Sub(at); d > 0 {
		sink.hold(occupied, d)
	}
	return occupied, low, evs[i:]
}

// usageAcc adds up one bucket of a report. Times are summed as integers
// (nanoseconds), so that the sum does not depend on the order of the
// parts: a report from hourly roll-ups equals the one from raw events.
type usageAcc struct {
	seats, peak, denials int
	// seatSec and seatNano are the seat-time, seconds plus nanoseconds.
	seatSec, seatNano int64
	full              time.Duration
}

func (a *usageAcc) hold(level int, d time.Duration) {
	if d <= 0 {
		return
	}
	a.peak = max(a.peak, level)
	a.seatSec += int64(level) * int64(d/time.Second)
	a.seatNano += int64(level) * int64(d%time.Second)
	a.seatSec, a.seatNano = a.seatSec+a.seatNano/int64(time.Second), a.seatNano%int64(time.Second)
	if a.seats > 0 && level >= a.seats {
		a.full += d
	}
}

func (a *usageAcc) deny() { a.denials++ }

func (a *usageAcc) bucket(product string, start, end time.Time) UsageBucket {
	return UsageBucket{ProductID: product, Start: start, End: end, Seats: a.seats, PeakOccupied: a.peak, Denials: a.denials,
		SeatHours:   (float64(a.seatSec) + float64(a.seatNano)/1e9) / 3600,
		FullSeconds: a.full.Seconds()}
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
