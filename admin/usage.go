package admin

import (
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/scimd/scimd/internal/problem"
	"github.com/scimd/scimd/licensing"
)

// usageRoutes lists the endpoints of this file.
func (h *Handler) usageRoutes() []Route {
	return []Route{
		{Method: http.MethodGet, Path: "/usage", Privileges: reading(licensing.PrivSessions, licensing.PrivBilling), handler: h.usage},
	}
}

// Bounds of a usage report.
const (
	defaultUsageRange = 24 * time.Hour
	maxUsageRange     = 93 * 24 * time.Hour
	maxUsageBuckets   = 2000
)

var usageBuckets = map[string]time.Duration{"hour": time.Hour, "day": 24 * time.Hour}

// usageItem is one product's use of its concurrent seats during one
// bucket.
type usageItem struct {
	ProductID     string    `json:"productId"`
	ProductName   string    `json:"productName"`
	Start         time.Time `json:"start"`
	End           time.Time `json:"end"`
	PeakOccupied  int       `json:"peakOccupied"`
	SeatHours     float64   `json:"seatHours"`
	Denials       int       `json:"denials"`
	SecondsAtFull float64   `json:"secondsAtFull"`
	// ConcurrentSeats is the plan's number that "full" is judged against.
	ConcurrentSeats int `json:"concurrentSeats"`
}

// usageReport is the answer of GET /usage. Its items are not paged: the
// range and the bucket bound them (at most maxUsageBuckets per product).
type usageReport struct {
	From   time.Time   `json:"from"`
	To     time.Time   `json:"to"`
	Bucket string      `json:"bucket"`
	Items  []usageItem `json:"items"`
	// RetainedFrom is where retained seat events start: older ones may
	// have been purged. Absent when they are kept forever.
	RetainedFrom *time.Time `json:"retainedFrom,omitempty"`
}

// usage reports, per product and bucket, the peak of concurrent seats
// occupied, the seat-hours, the denials and the time at 100% of the
// seats, computed from the seat events (licensing.UsageReport).
//
// Plan history is not kept: "full" is judged against today's concurrent
// seats for the whole range. A range ending after now ends now (the
// future has no usage yet).
func (h *Handler) usage(c echo.Context) error {
	ctx := c.Request().Context()
	accountID := principal(c).AccountID
	now := h.opts.Clock.Now().UTC()
	q, bucketName, err := usageRange(c, now)
	if err != nil {
		return writeProblem(c, err)
	}
	plans, err := h.opts.Store.Usage(ctx, accountID)
	if err != nil {
		return writeProblem(c, err)
	}
	occupiedNow := map[string]int{}
	q.Seats = map[string]int{}
	for _, u := range plans {
		occupiedNow[u.ProductID] = u.ConcurrentOccupied
		q.Seats[u.ProductID] = u.ConcurrentSeats
	}
	if id := c.QueryParam("product"); id != "" {
		if _, err := h.product(id); err != nil {
			return writeProblem(c, err)
		}
		// A product without a plan is reported too: no seats, all zeros
		// but its denials.
		q.Seats = map[string]int{id: q.Seats[id]}
	}
	// The seats occupied at From are derived backwards from those
	// occupied now and the events since; the events of [From, To) are
	// among them.
	events, err := h.opts.Store.SeatEvents(ctx, accountID, q.From, now)
	if err != nil {
		return writeProblem(c, err)
	}
	q.Occupied = licensing.OccupancyAt(q.From, occupiedNow, events)
	buckets := licensing.UsageReport(q, events)
	items := make([]usageItem, 0, len(buckets))
	for _, b := range buckets {
		items = append(items, usageItem{
			ProductID: b.ProductID, ProductName: h.opts.Catalog.Named(licensing.Product{ID: b.ProductID}).Name,
			Start: b.Start, End: b.End, PeakOccupied: b.PeakOccupied,
			SeatHours: roundTo(b.SeatHours, 1e4), Denials: b.Denials, SecondsAtFull: roundTo(b.FullSeconds, 1e3),
			ConcurrentSeats: b.Seats,
		})
	}
	report := usageReport{From: q.From, To: q.To, Bucket: bucketName, Items: items}
	if from, ok := h.opts.Retention.RetainedFrom(now); ok {
		from = from.Add(time.Second - 1).Truncate(time.Second) // whole seconds, never before the cutoff
		report.RetainedFrom = &from
	}
	return c.JSON(http.StatusOK, report)
}

// usageRange reads ?from, ?to and ?bucket: by default the last 24 hours
// by the hour. to must be after from, and a range ending after now ends
// now; the range spans at most 93 days and 2000 buckets.
func usageRange(c echo.Context, now time.Time) (licensing.UsageQuery, string, error) {
	var q licensing.UsageQuery
	bucketName := c.QueryParam("bucket")
	if bucketName == "" {
		bucketName = "hour"
	}
	bucket, ok := usageBuckets[bucketName]
	if !ok {
		return q, "", problem.Invalid("bucket must be hour or day.")
	}
	from, err := timeParam(c, "from")
	if err != nil {
		return q, "", err
	}
	to, err := timeParam(c, "to")
	if err != nil {
		return q, "", err
	}
	switch {
	case to.IsZero() && from.IsZero():
		to, from = now, now.Add(-defaultUsageRange)
	case to.IsZero():
		to = now
	case from.IsZero():
		from = to.Add(-defaultUsageRange)
	}
	from, to = from.UTC(), to.UTC()
	if !to.After(from) {
		return q, "", problem.Invalid("to must be after from.")
	}
	if to.Sub(from) > maxUsageRange {
		return q, "", problem.Invalid("The range from..to may span at most 93 days.")
	}
	if to.After(now) {
		to = now
	}
	if !to.After(from) {
		return q, "", problem.Invalid("from must be in the past: there is no usage after now.")
	}
	q = licensing.UsageQuery{From: from, To: to, Bucket: bucket}
	if n := q.Buckets(); n > maxUsageBuckets {
		return q, "", problem.Invalid("The range holds " + strconv.Itoa(n) + " buckets of a " + bucketName + "; at most " +
			strconv.Itoa(maxUsageBuckets) + " are allowed: shorten the range or use bucket=day.")
	}
	return q, bucketName, nil
}

// roundTo rounds x to 1/scale.
func roundTo(x, scale float64) float64 { return math.Round(x*scale) / scale }
