package admin

import (
	"errors"
	"math"
	"net/http"
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
// range and the bucket bound them (at most licensing.MaxUsageBuckets per product).
type usageReport struct {
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	Bucket string    `json:"bucket"`
	// TimeZone is the zone whose hours and days the buckets follow, in
	// whose offset every time of the report is written.
	TimeZone string      `json:"timeZone"`
	Items    []usageItem `json:"items"`
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
	id := c.QueryParam("product")
	if id != "" {
		if _, err := h.product(id); err != nil {
			return writeProblem(c, err)
		}
	}
	// A product without a plan is reported too: no seats, all zeros but
	// its denials.
	buckets, err := licensing.AccountUsage(ctx, h.opts.Store, accountID, q, id, now)
	if err != nil {
		return writeProblem(c, err)
	}
	items := make([]usageItem, 0, len(buckets))
	for _, b := range buckets {
		items = append(items, usageItem{
			ProductID: b.ProductID, ProductName: h.opts.Catalog.Named(licensing.Product{ID: b.ProductID}).Name,
			Start: b.Start.In(q.Zone), End: b.End.In(q.Zone), PeakOccupied: b.PeakOccupied,
			SeatHours: roundTo(b.SeatHours, 1e4), Denials: b.Denials, SecondsAtFull: roundTo(b.FullSeconds, 1e3),
			ConcurrentSeats: b.Seats,
		})
	}
	report := usageReport{From: q.From.In(q.Zone), To: q.To.In(q.Zone), Bucket: bucketName, TimeZone: q.Zone.String(), Items: items}
	if from, ok := h.opts.Retention.RetainedFrom(now); ok {
		from = from.Add(time.Second - 1).Truncate(time.Second) // whole seconds, never before the cutoff
		report.RetainedFrom = &from
	}
	return c.JSON(http.StatusOK, report)
}

// usageRange reads ?from, ?to, ?bucket and ?tz (an IANA zone name,
// default UTC) into the query of a report (licensing.NewUsageQuery: by
// default the last 24 hours by the hour).
func usageRange(c echo.Context, now time.Time) (licensing.UsageQuery, string, error) {
	from, err := timeParam(c, "from")
	if err != nil {
		return licensing.UsageQuery{}, "", err
	}
	to, err := timeParam(c, "to")
	if err != nil {
		return licensing.UsageQuery{}, "", err
	}
	bucketName := c.QueryParam("bucket")
	if bucketName == "" {
		bucketName = "hour"
	}
	zone, err := licensing.UsageZone(c.QueryParam("tz"))
	if err == nil {
		var q licensing.UsageQuery
		q, err = licensing.NewUsageQuery(from, to, bucketName, zone, now)
		if err == nil {
			return q, bucketName, nil
		}
	}
	var bad *licensing.UsageRangeError
	if errors.As(err, &bad) {
		return licensing.UsageQuery{}, "", problem.Invalid(bad.Detail)
	}
	return licensing.UsageQuery{}, "", err
}

// roundTo rounds x to 1/scale.
func roundTo(x, scale float64) float64 { return math.Round(x*scale) / scale }
