package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/scimd/scimd/licensing"
)

func (m *Metrics) registerReaper() {
	m.reaperRuns = newRunCounter("runs_total", "Runs of this process's reaper of expired sessions, by result (ok or error).")
	m.reaperExpired = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: namespace, Subsystem: "reaper", Name: "expired_sessions_total",
		Help: "Sessions this process's reaper ended because their lease ran out.",
	})
	m.reaperLastSuccess = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Subsystem: "reaper", Name: "last_success_timestamp_seconds",
		Help: "When this process's reaper last finished a run without error (Unix time; 0 before the first).",
	})
	m.reg.MustRegister(m.reaperRuns, m.reaperExpired, m.reaperLastSuccess)

	m.purgeRuns = newRunCounter("purge_runs_total", "Runs of this process's purge of what retention no longer keeps, by result (ok or error).")
	m.purged = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Subsystem: "reaper", Name: "purged_total",
		Help: "Rows this process's purge deleted, by kind (sessions, seat_events, audit, sign_in_tokens, api_tokens, sign_in_throttle, console_sessions, password_links).",
	}, []string{"kind"})
	for _, k := range licensing.PurgeKinds {
		m.purged.WithLabelValues(string(k))
	}
	m.reg.MustRegister(m.purgeRuns, m.purged)
}

// newRunCounter returns a counter of the reaper's runs by result, ok and
// error both there from the start at 0.
func newRunCounter(name, help string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Subsystem: "reaper", Name: name, Help: help}, []string{"result"})
	c.WithLabelValues("ok")
	c.WithLabelValues("error")
	return c
}

// ReaperRan counts a run of the reaper that finished at the time, having
// ended expired sessions (also when it failed part way) with err.
func (m *Metrics) ReaperRan(at time.Time, expired int, err error) {
	m.reaperExpired.Add(float64(expired))
	if err != nil {
		m.reaperRuns.WithLabelValues("error").Inc()
		return
	}
	m.reaperRuns.WithLabelValues("ok").Inc()
	m.reaperLastSuccess.Set(float64(at.UnixNano()) / 1e9)
}

// PurgeRan counts a run of the purge that deleted the rows of each kind
// (also when it failed part way) with err.
func (m *Metrics) PurgeRan(purged map[licensing.PurgeKind]int, err error) {
	for k, n := range purged {
		m.purged.WithLabelValues(string(k)).Add(float64(n))
	}
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.purgeRuns.WithLabelValues(result).Inc()
}
