package licensing

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"time"
	// The tz database, for machines without /usr/share/zoneinfo: reports
	// follow the days of the zone a person asks for.
	_ "time/tzdata"
)

// This file reads an account's usage report from the store: the bounds
// of a report's range and the numbers the report starts from. The admin
// API and the console both call it, so that they report the same numbers
// under the same bounds.

// Bounds of a usage report.
const (
	// DefaultUsageRange is the range reported when none is given: the
	// last 24 hours.
	DefaultUsageRange = 24 * time.Hour
	// MaxUsageRange is the longest range of a report.
	MaxUsageRange = 93 * 24 * time.Hour
	// MaxUsageBuckets is the most buckets a report holds per product.
	MaxUsageBuckets = 2000
)

// UsageBucketNames are the bucket lengths a report may use, by name.
var UsageBucketNames = map[string]time.Duration{"hour": time.Hour, "day": 24 * time.Hour}

// UsageZone returns the time zone of the IANA name (such as
// Europe/Berlin; "" and "UTC" are UTC), from the tz database built into
// the binary when the system has none. A *UsageRangeError if there is no
// such zone ("Local", the server's own, is not one).
func UsageZone(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	zone, err := time.LoadLocation(name)
	if err != nil || name == "Local" {
		return nil, &UsageRangeError{"There is no time zone " + strconv.Quote(name) + ": give an IANA name such as Europe/Berlin, or UTC."}
	}
	return zone, nil
}

// UsageRangeError is a usage range that cannot be reported; Detail says
// why in words a person can act on. It matches ErrInvalid.
type UsageRangeError struct{ Detail string }

func (e *UsageRangeError) Error() string        { return e.Detail }
func (e *UsageRangeError) Is(target error) bool { return target == ErrInvalid }

// NewUsageQuery returns the query of a report over [from, to) by the
// bucket named bucketName ("hour" or "day"; "" is "hour"), by the hours
// and days of zone (nil is UTC). Zero times
// default: both to the last DefaultUsageRange, to alone to now, from
// alone to DefaultUsageRange before to. A range ending after now ends
// now, for the future has no usage yet. It returns a *UsageRangeError if
// the bucket is unknown, to is not after from, from is not in the past,
// the range spans more than MaxUsageRange or holds more than
// MaxUsageBuckets buckets. Seats and Occupied are left for AccountUsage.
func NewUsageQuery(from, to time.Time, bucketName string, zone *time.Location, now time.Time) (UsageQuery, error) {
	if bucketName == "" {
		bucketName = "hour"
	}
	bucket, ok := UsageBucketNames[bucketName]
	if !ok {
		return UsageQuery{}, &UsageRangeError{"bucket must be hour or day."}
	}
	switch {
	case to.IsZero() && from.IsZero():
		to, from = now, now.Add(-DefaultUsageRange)
	case to.IsZero():
		to = now
	case from.IsZero():
		from = to.Add(-DefaultUsageRange)
	}
	from, to = from.UTC(), to.UTC()
	if !to.After(from) {
		return UsageQuery{}, &UsageRangeError{"to must be after from."}
	}
	if to.Sub(from) > MaxUsageRange {
		return UsageQuery{}, &UsageRangeError{"The range from..to may span at most 93 days."}
	}
	if to.After(now) {
		to = now.UTC()
	}
	if !to.After(from) {
		return UsageQuery{}, &UsageRangeError{"from must be in the past: there is no usage after now."}
	}
	q := UsageQuery{From: from, To: to, Bucket: bucket, Zone: zone}
	if n := q.Buckets(); n > MaxUsageBuckets {
		return UsageQuery{}, &UsageRangeError{"The range holds " + strconv.Itoa(n) + " buckets of a " + bucketName + "; at most " +
			strconv.Itoa(MaxUsageBuckets) + " are allowed: shorten the range or use bucket=day."}
	}
	return q, nil
}

// AccountUsage computes the account's usage report over q's range and
// bucket (q from NewUsageQuery; its Seats and Occupied are set here):
// every product of the account's plans, or only productID when it is not
// "" (a product without a plan is reported too, with no seats). "Full" is
// judged against today's concurrent seats for the whole range, for plan
// history is not kept. The seats occupied at q.From are derived
// backwards from those occupied now and the seat events since
// (OccupancyAt).
//
// The numbers are UsageReport's over the seat events, but the whole UTC
// hours before the seal are read from their summaries (UsageRollups):
// only the hours the range or a bucket starts or ends within, and those
// since the seal, are read as events. It returns the store's errors.
func AccountUsage(ctx context.Context, store Store, accountID string, q UsageQuery, productID string, now time.Time) ([]UsageBucket, error) {
	plans, err := store.Usage(ctx, accountID)
	if err != nil {
		return nil, err
	}
	occupiedNow := map[string]int{}
	q.Seats = map[string]int{}
	for _, u := range plans {
		occupiedNow[u.ProductID] = u.ConcurrentOccupied
		q.Seats[u.ProductID] = u.ConcurrentSeats
	}
	if productID != "" {
		q.Seats = map[string]int{productID: q.Seats[productID]}
	}
	sealed, _, err := store.UsageSealed(ctx)
	if err != nil {
		return nil, err
	}
	first := q.From.UTC().Truncate(time.Hour)
	if !sealed.After(first) || q.Buckets() == 0 {
		return rawUsage(ctx, store, accountID, q, occupiedNow, now)
	}
	r := usageReader{q: q, sealed: sealed, raw: map[time.Time]bool{}, split: map[time.Time]bool{}}
	r.markRaw(q.From)
	r.markRaw(q.To)
	for start := range q.bucketBounds {
		r.markRaw(start)
	}
	for h := range r.split {
		if r.raw[h] {
			delete(r.split, h)
		}
	}
	events, err := store.SeatEventsIn(ctx, accountID, r.spans(now))
	if err != nil {
		return nil, err
	}
	rowsTo := earliest(sealed, q.To.UTC().Add(time.Hour-1).Truncate(time.Hour))
	hours, netAfter, err := store.UsageHours(ctx, accountID, productID, first, rowsTo, sealed, slices.Collect(maps.Keys(r.split)))
	if err != nil {
		return nil, err
	}
	// The seats occupied at From: those now less the net change since.
	since := netAfter
	if since == nil {
		since = map[string]int{}
	}
	r.hours = map[string]map[time.Time]UsageHour{}
	for _, h := range hours {
		switch {
		case r.raw[h.Hour]:
			continue
		case !h.Hour.Before(q.From):
			since[h.ProductID] += h.Net
		case !r.split[h.Hour]:
			continue
		default: // From's hour, From on a quarter: the quarters since
			qs, err := decodeQuarters(h.Quarters)
			if err != nil {
				return nil, err
			}
			for i, part := range qs {
				if !h.Hour.Add(time.Duration(i) * 15 * time.Minute).Before(q.From) {
					since[h.ProductID] += part.net
				}
			}
		}
		if r.hours[h.ProductID] == nil {
			r.hours[h.ProductID] = map[time.Time]UsageHour{}
		}
		r.hours[h.ProductID][h.Hour] = h
	}
	byProduct := map[string][]SeatEvent{}
	for _, e := range events {
		if e.At.Before(q.From) {
			continue // stores keep times to the microsecond: From's, not before it
		}
		since[e.ProductID] += SeatDelta(e.Kind)
		byProduct[e.ProductID] = append(byProduct[e.ProductID], e)
	}
	out := make([]UsageBucket, 0, q.Buckets()*len(q.Seats))
	for _, p := range slices.Sorted(maps.Keys(q.Seats)) {
		buckets, ok := r.product(p, max(occupiedNow[p]-since[p], 0), byProduct[p])
		if !ok {
			// A summary would take the seats below zero, where the
			// events are clamped: only they give the same numbers.
			return rawUsage(ctx, store, accountID, q, occupiedNow, now)
		}
		out = append(out, buckets...)
	}
	return out, nil
}

// rawUsage is AccountUsage from the seat events alone.
func rawUsage(ctx context.Context, store Store, accountID string, q UsageQuery, occupiedNow map[string]int, now time.Time) ([]UsageBucket, error) {
	events, err := store.SeatEvents(ctx, accountID, q.From, now)
	if err != nil {
		return nil, err
	}
	q.Occupied = OccupancyAt(q.From, occupiedNow, events)
	return UsageReport(q, events), nil
}

// usageReader puts a report together from hourly summaries and events.
type usageReader struct {
	q      UsageQuery
	sealed time.Time
	// raw holds the sealed hours read as events: those the range or a
	// bucket starts or ends within, but on a quarter hour.
	raw map[time.Time]bool
	// split holds the sealed hours read from their quarters: those the
	// range or buckets start or end within on quarter hours only.
	split map[time.Time]bool
	// hours are the summaries of the other sealed hours, by product and
	// hour; a sealed hour without one had no events.
	hours map[string]map[time.Time]UsageHour
}

// markRaw marks the hour holding t to be read by quarters if t starts
// one, else as events, unless t starts the hour.
func (r *usageReader) markRaw(t time.Time) {
	h := t.UTC().Truncate(time.Hour)
	switch {
	case h.Equal(t) || !h.Before(r.sealed):
	case t.Sub(h)%(15*time.Minute) == 0:
		r.split[h] = true
	default:
		r.raw[h] = true
	}
}

// spans are the times to read events of: the raw hours and everything
// since the seal, from From on.
func (r *usageReader) spans(now time.Time) []TimeSpan {
	var out []TimeSpan
	add := func(from, to time.Time) {
		from = latest(from, r.q.From)
		if !from.Before(to) {
			return
		}
		if n := len(out); n > 0 && !out[n-1].To.Before(from) {
			out[n-1].To = latest(out[n-1].To, to)
			return
		}
		out = append(out, TimeSpan{from, to})
	}
	for _, h := range slices.SortedFunc(maps.Keys(r.raw), time.Time.Compare) {
		add(h, h.Add(time.Hour))
	}
	add(r.sealed, latest(now, r.sealed))
	return out
}

// product walks one product's buckets from the occupancy at From, hour
// by hour: a raw hour or one past the seal through its events (sorted),
// a sealed one through its summary. It returns false if a summary would
// take the occupancy below zero.
func (r *usageReader) product(p string, occupied int, evs []SeatEvent) ([]UsageBucket, bool) {
	seats := r.q.Seats[p]
	hours := r.hours[p]
	var out []UsageBucket
	for start, end := range r.q.bucketBounds {
		acc := usageAcc{seats: seats}
		for t := start; t.Before(end); {
			h := t.Truncate(time.Hour)
			next := earliest(h.Add(time.Hour), end)
			switch s, ok := hours[h]; {
			case !h.Before(r.sealed) || r.raw[h]:
				occupied, _, evs = walkEvents(&acc, occupied, true, evs, t, next)
			case !ok:
				acc.hold(occupied, next.Sub(t))
			case r.split[h]:
				qs, err := decodeQuarters(s.Quarters)
				if err != nil {
					return nil, false
				}
				for i, part := range qs {
					if at := h.Add(time.Duration(i) * 15 * time.Minute); at.Before(t) || !at.Before(next) {
						continue
					}
					if occupied+part.low < 0 {
						return nil, false
					}
					for level, d := range part.held {
						acc.hold(occupied+level, d)
					}
					acc.denials += part.denials
					occupied += part.net
				}
			case occupied+s.Low < 0:
				return nil, false
			default:
				for level, d := range s.Held {
					acc.hold(occupied+level, d)
				}
				acc.denials += s.Denials
				occupied += s.Net
			}
			t = next
		}
		out = append(out, acc.bucket(p, start, end))
	}
	return out, true
}
