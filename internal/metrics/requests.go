package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// requestBuckets are the bounds (seconds) of the request duration
// histogram: from a cached lookup to an agent waiting for a seat up to
// the longest --max-wait.
var requestBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120}

func (m *Metrics) registerRequests() {
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Subsystem: "http", Name: "requests_total",
		Help: "HTTP requests answered, by method, route template and status.",
	}, []string{"method", "route", "status"})
	m.durations = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Subsystem: "http", Name: "request_duration_seconds",
		Help:    "Time from a request's arrival to its answer, by method and route template.",
		Buckets: requestBuckets,
	}, []string{"method", "route"})
	m.reg.MustRegister(m.requests, m.durations)
}

// ObserveRequest counts a request answered. route must come from a
// bounded set (a route template, never a raw path); a method outside the
// standard ones and a status outside 100-599 count as "other".
func (m *Metrics) ObserveRequest(method, route string, status int, took time.Duration) {
	method = methodLabel(method)
	code := other
	if status >= 100 && status <= 599 {
		code = strconv.Itoa(status)
	}
	m.requests.WithLabelValues(method, route, code).Inc()
	m.durations.WithLabelValues(method, route).Observe(took.Seconds())
}

// methodLabel keeps the standard methods and folds any other into
// "other", so that a client cannot make up label values.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return other
}
