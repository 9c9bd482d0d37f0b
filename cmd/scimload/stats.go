package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Error classes that are not HTTP statuses.
const (
	errTransport  = "transport" // no HTTP answer: connection refused, reset, ...
	errTimeout    = "timeout"   // no answer within --timeout
	errUnexpected = "unexpected-result"
	errSQL        = "sql-error" // a raw-SQL baseline statement failed
)

// recorder collects the outcome of one kind of operation. Each worker
// keeps its own and they are merged at the end, so recording takes no
// lock.
type recorder struct {
	name   string
	took   []time.Duration // of successful operations
	errors map[string]int  // by status or class
	// first describes the first failure, to tell what went wrong.
	first string
}

func newRecorder(name string) *recorder {
	return &recorder{name: name, errors: map[string]int{}}
}

func (r *recorder) ok(d time.Duration) { r.took = append(r.took, d) }

func (r *recorder) fail(class string) { r.failDetail(class, "") }

// failDetail records a failure and, for the first one, what it was.
func (r *recorder) failDetail(class, detail string) {
	r.errors[class]++
	if r.first == "" {
		r.first = class
		if detail != "" {
			r.first += ": " + detail
		}
	}
}

// merge adds o's samples and errors to r.
func (r *recorder) merge(o *recorder) {
	r.took = append(r.took, o.took...)
	if r.first == "" {
		r.first = o.first
	}
	for k, v := range o.errors {
		r.errors[k] += v
	}
}

func (r *recorder) failed() int {
	n := 0
	for _, v := range r.errors {
		n += v
	}
	return n
}

// percentile returns the nearest-rank p-th percentile (0 < p <= 100) of
// sorted: the smallest sample such that at least p% of the samples are
// less than or equal to it. It returns 0 for no samples.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// OpReport is the outcome of one kind of operation.
type OpReport struct {
	Name string `json:"name"`
	// Requests counts operations that got an answer (or failed),
	// successful or not; those cut short by the end of the run are not
	// counted.
	Requests int `json:"requests"`
	OK       int `json:"ok"`
	// Errors counts failures by HTTP status ("409") or class
	// ("transport", "timeout", "unexpected-result").
	Errors map[string]int `json:"errors"`
	// FirstError describes one failure, "" if none.
	FirstError string `json:"first_error,omitempty"`
	// RatePerSec is successful operations per second of the run.
	RatePerSec float64 `json:"rate_per_sec"`
	// Latencies of successful operations, in milliseconds.
	P50Ms float64 `json:"p50_ms"`
	P95Ms float64 `json:"p95_ms"`
	P99Ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`
}

func ms(d time.Duration) float64 { return math.Round(float64(d.Microseconds())) / 1000 }

// report summarises r over a run of the given length.
func (r *recorder) report(elapsed time.Duration) OpReport {
	sorted := slices.Clone(r.took)
	slices.Sort(sorted)
	o := OpReport{
		Name:       r.name,
		OK:         len(sorted),
		Requests:   len(sorted) + r.failed(),
		Errors:     maps.Clone(r.errors),
		FirstError: r.first,
		P50Ms:      ms(percentile(sorted, 50)),
		P95Ms:      ms(percentile(sorted, 95)),
		P99Ms:      ms(percentile(sorted, 99)),
		MaxMs:      ms(percentile(sorted, 100)),
	}
	if elapsed > 0 {
		o.RatePerSec = math.Round(float64(len(sorted))/elapsed.Seconds()*10) / 10
	}
	return o
}

// Report is what a scenario prints.
type Report struct {
	Scenario    string    `json:"scenario"`
	Started     time.Time `json:"started"`
	Seconds     float64   `json:"seconds"`
	Targets     []string  `json:"targets"`
	Concurrency int       `json:"concurrency"`
	// Stopped says why the run ended early ("--duration reached"), "" if
	// it did all it was asked.
	Stopped string     `json:"stopped,omitempty"`
	Ops     []OpReport `json:"ops"`
	// Walks are the import scenario's walks through all users.
	Walks []WalkReport `json:"walks,omitempty"`
	// Baseline is the raw-SQL run of provision or seats --baseline-sql.
	Baseline *BaselineReport `json:"baseline,omitempty"`
	// Seats is what the seats scenario checked.
	Seats *SeatsReport `json:"seats,omitempty"`
	// ServerRSS is the peak resident memory of the --server-pid processes.
	ServerRSS []RSSReport `json:"server_rss,omitempty"`
	Notes     []string    `json:"notes,omitempty"`
}

// failed counts the failed operations of the report.
func (r Report) failed() int {
	n := 0
	for _, o := range r.Ops {
		n += o.Requests - o.OK
	}
	return n
}

// verdict is the run's error once its report is out: errSeatCheck if a
// seat check failed, errFailures if some operations failed, else nil.
func (r Report) verdict() error {
	if r.Seats != nil {
		if p := r.Seats.problems(); len(p) > 0 {
			return fmt.Errorf("%w: %s", errSeatCheck, strings.Join(p, "; "))
		}
	}
	if r.failed() > 0 {
		return errFailures
	}
	return nil
}

func (r Report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// writeTable prints the report for people.
func (r Report) writeTable(w io.Writer) error {
	fmt.Fprintf(w, "scimload %s  started %s  %.1fs  concurrency %d\n", r.Scenario, r.Started.Format(time.RFC3339), r.Seconds, r.Concurrency)
	fmt.Fprintf(w, "targets: %s\n", strings.Join(r.Targets, ", "))
	if r.Stopped != "" {
		fmt.Fprintf(w, "stopped early: %s\n", r.Stopped)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "operation\trequests\terrors\trate/s\tp50 ms\tp95 ms\tp99 ms\tmax ms\t")
	for _, o := range r.Ops {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%.2f\t%.2f\t%.2f\t%.2f\t\n", o.Name, o.Requests, o.Requests-o.OK, o.RatePerSec, o.P50Ms, o.P95Ms, o.P99Ms, o.MaxMs)
	}
	if r.Baseline != nil {
		b := r.Baseline.Op
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%.2f\t%.2f\t%.2f\t%.2f\t\n", b.Name, b.Requests, b.Requests-b.OK, b.RatePerSec, b.P50Ms, b.P95Ms, b.P99Ms, b.MaxMs)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "errors by status: %s\n", errorSummary(r))
	for _, o := range r.Ops {
		if o.FirstError != "" {
			fmt.Fprintf(w, "first %s error: %s\n", o.Name, o.FirstError)
		}
	}
	if r.Baseline != nil && r.Baseline.Op.FirstError != "" {
		fmt.Fprintf(w, "first %s error: %s\n", r.Baseline.Op.Name, r.Baseline.Op.FirstError)
	}
	for _, walk := range r.Walks {
		fmt.Fprintf(w, "%s walk: %d pages, %d users seen of %d (complete: %t) in %.2fs, %.0f users/s, last page %.2f ms\n",
			walk.Mode, walk.Pages, walk.UsersSeen, walk.Total, walk.Complete, walk.Seconds, walk.UsersPerSec, walk.LastPageMs)
	}
	if b := r.Baseline; b != nil {
		fmt.Fprintf(w, "baseline: %s\n", b.What)
		fmt.Fprintf(w, "scimd/raw-SQL: throughput %.1f%% of raw SQL, p50 latency %.2fx, p99 latency %.2fx\n",
			b.ThroughputRatio*100, b.P50Ratio, b.P99Ratio)
	}
	if r.Seats != nil {
		r.Seats.writeTable(w, r.Baseline)
	}
	for _, m := range r.ServerRSS {
		fmt.Fprintf(w, "server pid %d: peak RSS %.1f MB during the run (VmHWM %.1f MB since start)\n", m.PID, m.PeakRSSMB, m.HWMMB)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	return nil
}

// errorSummary lists the failures of every operation, "none" if none.
func errorSummary(r Report) string {
	var parts []string
	ops := r.Ops
	if r.Baseline != nil {
		ops = append(slices.Clone(ops), r.Baseline.Op)
	}
	for _, o := range ops {
		for _, k := range slices.Sorted(maps.Keys(o.Errors)) {
			parts = append(parts, fmt.Sprintf("%s %s=%d", o.Name, k, o.Errors[k]))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
