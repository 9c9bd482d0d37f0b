package outage

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Defaults of Options.
const (
	// DefaultRepeat is how often, at most, a lasting outage is logged
	// again.
	DefaultRepeat = 10 * time.Second
	// DefaultPoll is how often the database is probed while it is down.
	DefaultPoll = 500 * time.Millisecond
	// probeTimeout bounds one probe.
	probeTimeout = 2 * time.Second
)

// Options configure a Monitor; zero values take the defaults.
type Options struct {
	// Probe tells whether the database answers (nil error) now.
	Probe func(context.Context) error
	// Logger gets the monitor's lines; nil discards them.
	Logger *slog.Logger
	// Repeat is the least time between two lines about one outage.
	Repeat time.Duration
	// Poll is the time between two probes while the database is down.
	Poll time.Duration
	// Now is the clock (time.Now if nil).
	Now func() time.Time
}

// Monitor tracks one database's outages. It is safe for concurrent use.
type Monitor struct {
	opts Options
	ctx  context.Context

	mu sync.Mutex
	// down is set from the first failure until a probe succeeds.
	down bool
	// since is when the outage started; warned when the last warning
	// (about this outage or an earlier one) was written.
	since, warned time.Time
	// quiet is set while the outage was not logged: it started within
	// Repeat of the last warning (the database comes and goes).
	quiet bool
	// failures counts the failures reported since the last line, outages
	// the outages started since.
	failures, outages int
}

// New returns a Monitor that probes (while the database is down) until
// ctx ends.
func New(ctx context.Context, opts Options) *Monitor {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Repeat <= 0 {
		opts.Repeat = DefaultRepeat
	}
	if opts.Poll <= 0 {
		opts.Poll = DefaultPoll
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Monitor{opts: opts, ctx: ctx}
}

// Failed reports an operation that failed because the database is
// unavailable. The first failure of an outage is logged at once as a
// warning, unless a warning was written less than Repeat ago (a database
// that comes and goes); the following ones are counted, and summed up in
// the next line. It never blocks on the database.
func (m *Monitor) Failed(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.failures++
	if m.down {
		return
	}
	now := m.opts.Now()
	m.down, m.since, m.outages = true, now, m.outages+1
	m.quiet = !m.warned.IsZero() && now.Sub(m.warned) < m.opts.Repeat
	if !m.quiet {
		m.opts.Logger.Warn("database unavailable: requests that need it answer 503 until it is back",
			"err", err, "outages", m.outages, "failures", m.failures)
		m.warned, m.failures, m.outages = now, 0, 0
	}
	if m.opts.Probe != nil {
		go m.probe()
	}
}

// Down reports whether the database is down: it failed, and no probe has
// succeeded since.
func (m *Monitor) Down() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.down
}

// probe pings the database every Poll until it answers (then logs the
// recovery) or the Monitor's context ends, logging the lasting outage
// every Repeat meanwhile.
func (m *Monitor) probe() {
	t := time.NewTicker(m.opts.Poll)
	defer t.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(m.ctx, probeTimeout)
		err := m.opts.Probe(ctx)
		cancel()
		if m.ctx.Err() != nil {
			return
		}
		if m.checked(err) {
			return
		}
	}
}

// checked takes note of a probe's result and reports whether the outage
// is over.
func (m *Monitor) checked(err error) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.opts.Now()
	log := m.opts.Logger
	if err == nil {
		if !m.quiet {
			log.Info("database available again", "down_for", now.Sub(m.since).Round(time.Millisecond).String(), "failures", m.failures)
			m.failures = 0
		}
		m.down = false
		return true
	}
	if now.Sub(m.warned) >= m.opts.Repeat {
		log.Warn("database still unavailable", "down_for", now.Sub(m.since).Round(time.Second).String(), "failures", m.failures, "err", err)
		m.warned, m.failures, m.outages, m.quiet = now, 0, 0, false
	}
	return false
}
