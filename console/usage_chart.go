package console

import (
	"strconv"
	"time"

	"github.com/scimd/scimd/licensing"
)

// shownTime is how pages write a time.
const shownTime = "2006-01-02 15:04 UTC"

// shownZoneTime is how the usage page writes a time of its zone, with
// the zone's offset.
const shownZoneTime = "2006-01-02 15:04 (UTC-07:00)"

// usagePage is what usage.html shows.
type usagePage struct {
	Form    usageForm
	Choices []licenseChoice
	Error   string
	// Charts are the products' reports, by product id.
	Charts []usageChart
	// Used tells that some seat was occupied or denied in the range.
	Used bool
	// Range is the range reported, in words.
	Range string
	// CSV is the URL of the same numbers as CSV.
	CSV string
	// RetainedFrom is shown when the range starts before the seat events
	// that are certainly kept.
	RetainedFrom string
}

// Geometry of a usage chart's SVG, in viewBox units: each bucket is a
// slot of chartSlot wide and the chart chartHeight high.
const (
	chartSlot   = 10
	chartHeight = 100
)

// usageChart is one product's report: a bar per bucket for the peak
// occupancy, a line at the plan's seats, and the same numbers as rows.
type usageChart struct {
	ProductID, Name string
	Seats           int
	// Top is the value at the top of the chart (at least 1).
	Top int
	// Width is the viewBox's width; SeatsY the y of the seats line.
	Width  int
	SeatsY float64
	Bars   []usageBar
	// Peak, Denials and AtFull sum up the range.
	Peak, Denials int
	AtFull        string
	First, Last   string
}

// usageBar is a bucket of a usage chart.
type usageBar struct {
	X, Y, H float64
	// Full marks a bucket with time at 100%; Denials one with denials.
	Full    bool
	Denials int
	Start   string
	End     string
	Peak    int
	AtFull  string
	Hours   string
}

// usageCharts turns the report's buckets (ordered by product, then time)
// into one chart per product.
func (h *Handler) usageCharts(buckets []licensing.UsageBucket, bucket time.Duration, zone *time.Location) []usageChart {
	layout := "2006-01-02 15:04"
	if bucket >= 24*time.Hour {
		layout = "2006-01-02"
	}
	var out []usageChart
	for i := 0; i < len(buckets); {
		j := i
		for j < len(buckets) && buckets[j].ProductID == buckets[i].ProductID {
			j++
		}
		out = append(out, productChart(h.opts.Catalog.Named(licensing.Product{ID: buckets[i].ProductID}).Name, buckets[i:j], layout, zone))
		i = j
	}
	return out
}

func productChart(name string, bs []licensing.UsageBucket, layout string, zone *time.Location) usageChart {
	ch := usageChart{ProductID: bs[0].ProductID, Name: name, Seats: bs[0].Seats, Width: len(bs) * chartSlot}
	ch.First, ch.Last = bs[0].Start.In(zone).Format(layout), bs[len(bs)-1].End.In(zone).Format(layout)
	ch.Top = max(ch.Seats, 1)
	var full float64
	for _, b := range bs {
		ch.Top = max(ch.Top, b.PeakOccupied)
		ch.Peak = max(ch.Peak, b.PeakOccupied)
		ch.Denials += b.Denials
		full += b.FullSeconds
	}
	ch.AtFull = duration(full)
	scale := float64(chartHeight-4) / float64(ch.Top)
	ch.SeatsY = chartHeight - float64(ch.Seats)*scale
	for i, b := range bs {
		hgt := float64(b.PeakOccupied) * scale
		ch.Bars = append(ch.Bars, usageBar{
			X: float64(i*chartSlot) + 1, Y: chartHeight - hgt, H: hgt,
			Full: b.FullSeconds > 0, Denials: b.Denials, Peak: b.PeakOccupied,
			Start: b.Start.In(zone).Format(layout), End: b.End.In(zone).Format(layout),
			AtFull: duration(b.FullSeconds), Hours: strconv.FormatFloat(b.SeatHours, 'f', 2, 64),
		})
	}
	return ch
}

// duration writes seconds as a person reads them: "0", "45s", "12m", "3h 5m".
func duration(seconds float64) string {
	d := time.Duration(seconds * float64(time.Second)).Round(time.Second)
	switch {
	case d <= 0:
		return "0"
	case d < time.Minute:
		return strconv.Itoa(int(d.Seconds())) + "s"
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + "m"
	}
	h, m := int(d.Hours()), int(d.Minutes())%60
	if m == 0 {
		return strconv.Itoa(h) + "h"
	}
	return strconv.Itoa(h) + "h " + strconv.Itoa(m) + "m"
}
