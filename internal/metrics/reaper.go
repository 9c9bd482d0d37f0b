package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func (m *Metrics) registerReaper() {
	m.reaperRuns = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Subsystem: "reaper", Name: "runs_total",
		Help: "Runs of this process's reaper of expired sessions, by result (ok or error).",
	}, []string{"result"})
	m.reaperRuns.WithLabelValues("ok")
	m.reaperRuns.WithLabelValues("error")
	m.reaperExpired = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: namespace, Subsystem: "reaper", Name: "expired_sessions_total",
		Help: "Sessions this process's reaper ended because their lease ran out.",
	})
	m.reaperLastSuccess = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Subsystem: "reaper", Name: "last_success_timestamp_seconds",
		Help: "When this process's reaper last finished a run without error (Unix time; 0 before the first).",
	})
	m.reg.MustRegister(m.reaperRuns, m.reaperExpired, m.reaperLastSuccess)
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
