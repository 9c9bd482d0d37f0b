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
	// Bucket is the length of a bucket (time.Hour, 24*time.Hour).
	// Buckets are aligned to multiples of it in UTC (whole hours, UTC
	// days) and the first and last are clipped to the range.
	Bucket time.Duration
	// Seats maps each product to report to its concurrent seats, the
	// number "every seat taken" is judged against. Products absent are
	// not reported, and their events are ignored.
	Seats map[string]int
	// Occupied maps products to the concurrent seats occupied at From
	// (OccupancyAt); absent products had none.
	Occupied map[string]int
}

// Buckets counts the buckets of the report: the aligned buckets that
// overlap [From, To). It is 0 for an empty range or a bucket <= 0.
func (q UsageQuery) Buckets() int {
	if q.Bucket <= 0 || !q.From.Before(q.To) {
		return 0
	}
	span := q.To.Sub(q.From.Truncate(q.Bucket))
	return int((span + q.Bucket - 1) / q.Bucket)
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
		out = append(out, productUsage(q, p, evs)...)
	}
	return out
}

// productUsage walks one product's events (sorted by time) through the
// buckets of q.
func productUsage(q UsageQuery, product string, evs []SeatEvent) []UsageBucket {
	seats := q.Seats[product]
	occupied := max(q.Occupied[product], 0)
	var out []UsageBucket
	i := 0
	for start := q.From.Truncate(q.Bucket); start.Before(q.To); start = start.Add(q.Bucket) {
		b := UsageBucket{ProductID: product, Start: latest(start, q.From).UTC(), End: earliest(start.Add(q.Bucket), q.To).UTC(), Seats: seats}
		// hold accounts for the occupancy held from `at` for d: the
		// occupancy is constant between two instants with events.
		at := b.Start
		hold := func(until time.Time) {
			d := until.Sub(at).Seconds()
			at = until
			if d <= 0 {
				return
			}
			b.PeakOccupied = max(b.PeakOccupied, occupied)
			b.SeatHours += float64(occupied) * d / 3600
			if seats > 0 && occupied >= seats {
				b.FullSeconds += d
			}
		}
		for i < len(evs) && evs[i].At.Before(b.End) {
			t := evs[i].At
			hold(t)
			for ; i < len(evs) && evs[i].At.Equal(t); i++ {
				occupied = max(occupied+SeatDelta(evs[i].Kind), 0)
				if evs[i].Kind == SeatDenied {
					b.Denials++
				}
			}
		}
		hold(b.End)
		out = append(out, b)
	}
	return out
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
