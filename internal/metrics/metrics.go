package metrics

import (
	"database/sql"
	"log/slog"
	"net/http"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/scimd/scimd/licensing"
)

// namespace starts the name of every metric scimd defines.
const namespace = "scimd"

// other is the label value of anything outside a label's known values (a
// product not in the catalog, an unknown method).
const other = "other"

// DefaultSeatsTimeout bounds the database read of one scrape.
const DefaultSeatsTimeout = 2 * time.Second

// Options say what the metrics are made of. Every field but Catalog is
// optional: a missing source leaves its metrics out.
type Options struct {
	// Version is scimd's version, for scimd_build_info.
	Version string
	// Catalog names the products, the only values of the product label
	// (anything else counts as "other"). Empty: licensing.DefaultCatalog().
	Catalog licensing.Catalog
	// Seats is read at every scrape for the seat gauges, within
	// SeatsTimeout (default DefaultSeatsTimeout); Clock tells the time the
	// live waiters are counted at (default the system clock).
	Seats        licensing.SeatTotals
	SeatsTimeout time.Duration
	Clock        licensing.Clock
	// DB is the store's connection pool and DBName (its dialect) the value
	// of the db_name label of its statistics.
	DB     *sql.DB
	DBName string
	// PasswordLoad reports the password-hash slots
	// (internal/password.Load).
	PasswordLoad func() (running, queued, capacity int)
	// Logger logs the failures of a scrape. Nil: discarded.
	Logger *slog.Logger
}

// Metrics are scimd's metrics in a registry of their own. Its methods are
// safe for concurrent use.
type Metrics struct {
	reg      *prometheus.Registry
	log      *slog.Logger
	products map[string]bool

	requests   *prometheus.CounterVec
	durations  *prometheus.HistogramVec
	seatEvents *prometheus.CounterVec

	reaperRuns        *prometheus.CounterVec
	reaperExpired     prometheus.Counter
	reaperLastSuccess prometheus.Gauge
	purgeRuns         *prometheus.CounterVec
	purged            *prometheus.CounterVec

	auditFailures prometheus.Counter
}

// New returns the metrics of opts, registered in a new registry.
func New(opts Options) *Metrics {
	if len(opts.Catalog.Products) == 0 {
		opts.Catalog = licensing.DefaultCatalog()
	}
	if opts.Clock == nil {
		opts.Clock = licensing.SystemClock{}
	}
	if opts.SeatsTimeout <= 0 {
		opts.SeatsTimeout = DefaultSeatsTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	m := &Metrics{reg: prometheus.NewRegistry(), log: opts.Logger, products: map[string]bool{}}
	var ids []string
	for _, p := range opts.Catalog.Products {
		m.products[p.ID] = true
		ids = append(ids, p.ID)
	}
	m.registerRequests()
	m.registerSeatEvents(ids)
	m.registerReaper()
	m.auditFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: namespace, Name: "audit_write_failures_total",
		Help: "Audit entries the store could not write; the write each one records failed with it.",
	})
	m.reg.MustRegister(m.auditFailures)

	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: namespace, Name: "build_info",
		Help:        "Always 1; its labels say which scimd and Go built this process.",
		ConstLabels: prometheus.Labels{"version": opts.Version, "go_version": runtime.Version()},
	}, func() float64 { return 1 }))
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if opts.DB != nil {
		m.reg.MustRegister(collectors.NewDBStatsCollector(opts.DB, opts.DBName))
	}
	if opts.PasswordLoad != nil {
		m.registerPasswordLoad(opts.PasswordLoad)
	}
	if opts.Seats != nil {
		m.reg.MustRegister(newSeatCollector(opts.Seats, opts.Clock, opts.SeatsTimeout, ids, m.product, m.log))
	}
	return m
}

// Handler serves the metrics in Prometheus' text format (or what the
// scraper negotiates). A collector that fails leaves its metrics out
// rather than failing the scrape; the failure is logged.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(m.log.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      m.reg,
	})
}

// product returns the label value of a product id: the id if the catalog
// has it, else "other".
func (m *Metrics) product(id string) string {
	if m.products[id] {
		return id
	}
	return other
}

// AuditWriteFailed counts an audit entry the store could not write
// (licensing.StoreObserver).
func (m *Metrics) AuditWriteFailed() { m.auditFailures.Inc() }

// registerPasswordLoad adds the gauges of the password-hash slots.
func (m *Metrics) registerPasswordLoad(load func() (running, queued, capacity int)) {
	for _, g := range []struct {
		name, help string
		read       func() int
	}{
		{"password_hash_slots", "How many password hashes (argon2id) may run at once.", func() int { _, _, c := load(); return c }},
		{"password_hashes_running", "Password hashes being computed now.", func() int { r, _, _ := load(); return r }},
		{"password_hashes_waiting", "Password hashes (sign-ins, password writes) waiting for a free slot.", func() int { _, q, _ := load(); return q }},
	} {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: namespace, Name: g.name, Help: g.help},
			func() float64 { return float64(g.read()) }))
	}
}
