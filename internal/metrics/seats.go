package metrics

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/scimd/scimd/licensing"
)

// seatKinds are the values of the kind label of scimd_seat_events_total.
var seatKinds = []licensing.SeatEventKind{
	licensing.SeatOccupied, licensing.SeatDenied, licensing.SeatReleased, licensing.SeatExpired, licensing.SeatEnded,
}

func (m *Metrics) registerSeatEvents(products []string) {
	m.seatEvents = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "seat_events_total",
		Help: "Shared seat events committed by this process, by product and kind: occupied (a claim), denied (all seats in use), " +
			"released (by the agent or a deprovisioning), expired (lease ran out), ended (by an administrator).",
	}, []string{"product", "kind"})
	// Every series exists from the start, so that rates and alerts see
	// a zero rather than nothing.
	for _, p := range products {
		for _, k := range seatKinds {
			m.seatEvents.WithLabelValues(p, string(k))
		}
	}
	m.reg.MustRegister(m.seatEvents)
}

// SeatEventCommitted counts a committed seat event by product and kind
// (licensing.StoreObserver).
func (m *Metrics) SeatEventCommitted(e licensing.SeatEvent) {
	kind := other
	for _, k := range seatKinds {
		if e.Kind == k {
			kind = string(k)
		}
	}
	m.seatEvents.WithLabelValues(m.product(e.ProductID), kind).Inc()
}

var _ licensing.StoreObserver = (*Metrics)(nil)

// seatCollector reads the seat totals at each scrape. A read that fails
// or takes longer than the timeout leaves the seat gauges out and sets
// scimd_seat_stats_up to 0: the scrape itself still succeeds.
type seatCollector struct {
	seats   licensing.SeatTotals
	clock   licensing.Clock
	timeout time.Duration
	// catalog are the catalog's product ids, each given its gauges (0
	// without a plan); product maps any id to its label.
	catalog []string
	product func(id string) string
	log     *slog.Logger

	up                                    *prometheus.Desc
	named, assigned, concurrent, occupied *prometheus.Desc
	fullPools, waiting                    *prometheus.Desc
}

func newSeatCollector(seats licensing.SeatTotals, clock licensing.Clock, timeout time.Duration, catalog []string, product func(string) string, log *slog.Logger) *seatCollector {
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(namespace, "", name), help, labels, nil)
	}
	return &seatCollector{
		seats: seats, clock: clock, timeout: timeout, catalog: catalog, product: product, log: log,
		up:         desc("seat_stats_up", "1 if the seat gauges were read from the database at this scrape, 0 if the read failed or timed out."),
		named:      desc("named_seats", "Named seats bought, summed over the accounts, by product.", "product"),
		assigned:   desc("named_seats_assigned", "Named seats assigned to active users, summed over the accounts, by product.", "product"),
		concurrent: desc("concurrent_seats", "Shared (concurrent) seats bought, summed over the accounts, by product.", "product"),
		occupied:   desc("concurrent_seats_occupied", "Shared seats occupied by agents' sessions, summed over the accounts, by product.", "product"),
		fullPools:  desc("concurrent_pools_full", "Accounts whose shared seats of the product are all occupied.", "product"),
		waiting:    desc("seat_waiters", "Agents waiting in line for a shared seat, summed over the accounts, by product.", "product"),
	}
}

// Describe implements prometheus.Collector.
func (c *seatCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.up, c.named, c.assigned, c.concurrent, c.occupied, c.fullPools, c.waiting} {
		ch <- d
	}
}

// Collect implements prometheus.Collector: one read of the totals,
// grouped by the product label (products outside the catalog add up
// under "other"; those of the catalog without a plan are 0).
func (c *seatCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	totals, err := c.seats.SeatTotals(ctx, c.clock.Now())
	if err != nil {
		level := slog.LevelWarn
		if errors.Is(err, licensing.ErrUnavailable) {
			level = slog.LevelDebug // the outage monitor logs the outage
		}
		c.log.Log(ctx, level, "metrics: seat totals not read", "err", err)
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	byLabel := map[string]*licensing.ProductSeats{}
	var order []string
	for _, id := range c.catalog {
		byLabel[id] = &licensing.ProductSeats{}
		order = append(order, id)
	}
	for _, t := range totals {
		label := c.product(t.ProductID)
		sum := byLabel[label]
		if sum == nil {
			sum = &licensing.ProductSeats{}
			byLabel[label] = sum
			order = append(order, label)
		}
		sum.NamedSeats += t.NamedSeats
		sum.NamedAssigned += t.NamedAssigned
		sum.ConcurrentSeats += t.ConcurrentSeats
		sum.ConcurrentOccupied += t.ConcurrentOccupied
		sum.FullPools += t.FullPools
		sum.Waiting += t.Waiting
	}
	for _, label := range order {
		s := byLabel[label]
		for _, v := range []struct {
			d *prometheus.Desc
			n int
		}{
			{c.named, s.NamedSeats}, {c.assigned, s.NamedAssigned}, {c.concurrent, s.ConcurrentSeats},
			{c.occupied, s.ConcurrentOccupied}, {c.fullPools, s.FullPools}, {c.waiting, s.Waiting},
		} {
			ch <- prometheus.MustNewConstMetric(v.d, prometheus.GaugeValue, float64(v.n), label)
		}
	}
}
