package console

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/scimd/scimd/licensing"
)

// usageForm is the range a person asks a usage report for, as the form
// and the CSV link carry it.
type usageForm struct {
	Product, From, To, Bucket string
	// Zone is the IANA name of the time zone the page shows and From and
	// To are in: console.js puts the browser's there; "" is UTC.
	Zone string
}

// ZoneLabel names the form's zone for the range template.
func (f usageForm) ZoneLabel() string {
	if f.Zone == "" {
		return "UTC"
	}
	return f.Zone
}

// formTime is how the form's datetime-local inputs write a time.
const formTime = "2006-01-02T15:04"

// readUsageForm reads the query of the usage page and the CSV download
// into the report's query. An empty field takes the admin API's default
// (the last 24 hours, by the hour) and stays empty in the form returned,
// so that a link made of it covers the same range later, up to its now.
// The error is one to show the person.
func (h *Handler) readUsageForm(c echo.Context) (usageForm, licensing.UsageQuery, error) {
	f := usageForm{Product: c.QueryParam("product"), From: c.QueryParam("from"), To: c.QueryParam("to"), Bucket: c.QueryParam("bucket"),
		Zone: c.QueryParam("tz")}
	if f.Bucket == "" {
		f.Bucket = "hour"
	}
	if f.Product != "" {
		if _, ok := h.opts.Catalog.Product(f.Product); !ok {
			return f, licensing.UsageQuery{}, errors.New("There is no such product in the catalog.")
		}
	}
	zone, err := licensing.UsageZone(f.Zone)
	if err != nil {
		f.Zone = ""
		return f, licensing.UsageQuery{}, err
	}
	from, err1 := parseFormTimeIn(f.From, zone)
	to, err2 := parseFormTimeIn(f.To, zone)
	if err := errors.Join(err1, err2); err != nil {
		return f, licensing.UsageQuery{}, errors.New("From and to must be times such as 2026-11-26T09:00 (" + f.ZoneLabel() + ").")
	}
	q, err := licensing.NewUsageQuery(from, to, f.Bucket, zone, h.opts.Clock.Now())
	return f, q, err
}

// parseFormTime reads a time of the form, in UTC: as a datetime-local
// input or a date input writes it, or RFC 3339. "" is the zero time.
func parseFormTime(s string) (time.Time, error) { return parseFormTimeIn(s, time.UTC) }

// parseFormTimeIn is parseFormTime with times without an offset read in
// the zone.
func parseFormTimeIn(s string, zone *time.Location) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{formTime, "2006-01-02T15:04:05", "2006-01-02", time.RFC3339} {
		if t, err := time.ParseInLocation(layout, s, zone); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("not a time")
}

// query is the form as URL parameters.
func (f usageForm) query() string {
	v := url.Values{}
	for k, s := range map[string]string{"product": f.Product, "from": f.From, "to": f.To, "bucket": f.Bucket, "tz": f.Zone} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v.Encode()
}

// report computes the account's usage over q, as the admin API's GET
// /usage does, for the form's product or all of the plan's.
func (h *Handler) report(c echo.Context, f usageForm, q licensing.UsageQuery) ([]licensing.UsageBucket, error) {
	return licensing.AccountUsage(c.Request().Context(), h.opts.Store, person(c).AccountID, q, f.Product, h.opts.Clock.Now())
}

// usageShow shows, per product, the peak of concurrent seats occupied,
// the denials and the time at 100% of the seats per hour or day over the
// chosen range: a chart drawn on the server, the same numbers as a
// table, and a link to them as CSV.
func (h *Handler) usageShow(c echo.Context) error {
	f, q, err := h.readUsageForm(c)
	page := usagePage{Form: f, Choices: h.productChoices(f.Product)}
	var bad *licensing.UsageRangeError
	switch {
	case errors.As(err, &bad):
		page.Error = bad.Detail
		return h.render(c, http.StatusBadRequest, "usage.html", "Usage", page)
	case err != nil:
		page.Error = err.Error()
		return h.render(c, http.StatusBadRequest, "usage.html", "Usage", page)
	}
	buckets, err := h.report(c, f, q)
	if err != nil {
		return h.failed(c, err)
	}
	page.CSV = Path + "/usage.csv?" + f.query()
	page.Range = q.From.In(q.Zone).Format(shownZoneTime) + " to " + q.To.In(q.Zone).Format(shownZoneTime)
	if from, ok := h.opts.Retention.RetainedFrom(h.opts.Clock.Now()); ok && q.From.Before(from) {
		page.RetainedFrom = from.In(q.Zone).Format(shownZoneTime)
	}
	page.Charts = h.usageCharts(buckets, q.Bucket, q.Zone)
	for _, ch := range page.Charts {
		if ch.Peak > 0 || ch.Denials > 0 {
			page.Used = true
		}
	}
	return h.render(c, http.StatusOK, "usage.html", "Usage", page)
}

// productChoices lists the catalog's products for the product filter.
func (h *Handler) productChoices(selected string) []licenseChoice {
	out := []licenseChoice{{Value: "", Label: "All products in the plan", Selected: selected == ""}}
	for _, p := range h.opts.Catalog.Products {
		out = append(out, licenseChoice{Value: p.ID, Label: p.Name, Selected: p.ID == selected})
	}
	return out
}

// usageCSV answers the numbers of the usage page as a CSV download.
func (h *Handler) usageCSV(c echo.Context) error {
	f, q, err := h.readUsageForm(c)
	if err != nil {
		var bad *licensing.UsageRangeError
		if errors.As(err, &bad) {
			return h.errorPage(c, http.StatusBadRequest, bad.Detail)
		}
		return h.errorPage(c, http.StatusBadRequest, err.Error())
	}
	buckets, err := h.report(c, f, q)
	if err != nil {
		return h.failed(c, err)
	}
	var b strings.Builder
	b.WriteString("productId,productName,start,end,concurrentSeats,peakOccupied,denials,secondsAtFull,seatHours\r\n")
	for _, u := range buckets {
		b.WriteString(strings.Join([]string{u.ProductID, csvField(h.opts.Catalog.Named(licensing.Product{ID: u.ProductID}).Name),
			u.Start.In(q.Zone).Format(time.RFC3339), u.End.In(q.Zone).Format(time.RFC3339), strconv.Itoa(u.Seats), strconv.Itoa(u.PeakOccupied),
			strconv.Itoa(u.Denials), strconv.FormatFloat(u.FullSeconds, 'f', 0, 64), strconv.FormatFloat(u.SeatHours, 'f', 4, 64)}, ","))
		b.WriteString("\r\n")
	}
	name := "usage-" + q.From.Format("20060102T1504Z") + "-" + q.To.Format("20060102T1504Z") + ".csv"
	c.Response().Header().Set(echo.HeaderContentDisposition, `attachment; filename="`+name+`"`)
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", []byte(b.String()))
}

// csvField quotes a field that holds a comma, a quote or a line break
// (RFC 4180), and defuses one a spreadsheet would run as a formula.
func csvField(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		s = "'" + s
	}
	if strings.ContainsAny(s, ",\"\r\n") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}
