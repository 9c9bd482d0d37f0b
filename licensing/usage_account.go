package licensing

import (
	"context"
	"strconv"
	"time"
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

// UsageRangeError is a usage range that cannot be reported; Detail says
// why in words a person can act on. It matches ErrInvalid.
type UsageRangeError struct{ Detail string }

func (e *UsageRangeError) Error() string        { return e.Detail }
func (e *UsageRangeError) Is(target error) bool { return target == ErrInvalid }

// NewUsageQuery returns the query of a report over [from, to) by the
// bucket named bucketName ("hour" or "day"; "" is "hour"). Zero times
// default: both to the last DefaultUsageRange, to alone to now, from
// alone to DefaultUsageRange before to. A range ending after now ends
// now, for the future has no usage yet. It returns a *UsageRangeError if
// the bucket is unknown, to is not after from, from is not in the past,
// the range spans more than MaxUsageRange or holds more than
// MaxUsageBuckets buckets. Seats and Occupied are left for AccountUsage.
func NewUsageQuery(from, to time.Time, bucketName string, now time.Time) (UsageQuery, error) {
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
	q := UsageQuery{From: from, To: to, Bucket: bucket}
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
// (OccupancyAt). It returns the store's errors.
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
	events, err := store.SeatEvents(ctx, accountID, q.From, now)
	if err != nil {
		return nil, err
	}
	q.Occupied = OccupancyAt(q.From, occupiedNow, events)
	return UsageReport(q, events), nil
}
