package main

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func msList(vs ...int) []time.Duration {
	out := make([]time.Duration, len(vs))
	for i, v := range vs {
		out[i] = time.Duration(v) * time.Millisecond
	}
	return out
}

func TestPercentileNearestRank(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	cases := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one sample is every percentile", msList(7), 99, 7 * time.Millisecond},
		{"p50 of 1..100", hundred, 50, 50 * time.Millisecond},
		{"p95 of 1..100", hundred, 95, 95 * time.Millisecond},
		{"p99 of 1..100", hundred, 99, 99 * time.Millisecond},
		{"p100 is the max", hundred, 100, 100 * time.Millisecond},
		{"p99 of 10 samples is the largest", msList(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10 * time.Millisecond},
		{"p50 of 4 samples is the 2nd", msList(10, 20, 30, 40), 50, 20 * time.Millisecond},
		{"p51 of 4 samples is the 3rd", msList(10, 20, 30, 40), 51, 30 * time.Millisecond},
		{"p95 of 1000 with one outlier ignores it", append(slices.Repeat(msList(1), 999), time.Second), 95, time.Millisecond},
		{"tiny p is the min", msList(3, 5, 8), 0.001, 3 * time.Millisecond},
	}
	for _, c := range cases {
		if got := percentile(c.sorted, c.p); got != c.want {
			t.Errorf("%s: percentile(%v) = %v, want %v", c.name, c.p, got, c.want)
		}
	}
}

// TestReportSortsAndCounts checks that report sorts the samples itself,
// counts failures as requests and computes the rate from successes.
func TestReportSortsAndCounts(t *testing.T) {
	a, b := newRecorder("x"), newRecorder("x")
	samples := make([]time.Duration, 200)
	for i := range samples {
		samples[i] = time.Duration(i+1) * time.Millisecond
	}
	rand.Shuffle(len(samples), func(i, j int) { samples[i], samples[j] = samples[j], samples[i] })
	for i, d := range samples {
		if i%2 == 0 {
			a.ok(d)
		} else {
			b.ok(d)
		}
	}
	a.failDetail("409", "taken")
	b.fail("409")
	b.failDetail("transport", "refused")
	a.merge(b)
	got := a.report(4 * time.Second)
	want := OpReport{Name: "x", Requests: 203, OK: 200, Errors: map[string]int{"409": 2, "transport": 1}, FirstError: "409: taken",
		RatePerSec: 50, P50Ms: 100, P95Ms: 190, P99Ms: 198, MaxMs: 200}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("report:\n got %+v\nwant %+v", got, want)
	}
}

func TestReportOutput(t *testing.T) {
	rec := newRecorder("create user")
	rec.ok(20 * time.Millisecond)
	rec.failDetail("409", `{"status":"409"}`)
	rep := Report{Scenario: "provision", Started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Seconds: 1, Concurrency: 4,
		Targets: []string{"http://127.0.0.1:8080/scim/v2"}, Ops: []OpReport{rec.report(time.Second)}}
	rep.Baseline = &BaselineReport{Op: OpReport{Name: "raw SQL insert", Requests: 1, OK: 1, RatePerSec: 4, P50Ms: 5, P99Ms: 5},
		ThroughputRatio: 0.25, P50Ratio: 4, P99Ratio: 4}
	var table bytes.Buffer
	if err := rep.writeTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"create user", "raw SQL insert", "errors by status: create user 409=1", "throughput 25.0% of raw SQL", "p50 latency 4.00x"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	var js bytes.Buffer
	if err := rep.writeJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back.Ops[0].Errors["409"] != 1 || back.Baseline.ThroughputRatio != 0.25 {
		t.Errorf("JSON does not read back: %v\n%s", err, js.String())
	}
	if rep.failed() != 1 {
		t.Errorf("failed() = %d, want 1", rep.failed())
	}
}

func TestRatio(t *testing.T) {
	if r := ratio(1, 3); r != 0.333 {
		t.Errorf("ratio(1,3) = %v", r)
	}
	if r := ratio(5, 0); r != 0 {
		t.Errorf("ratio(5,0) = %v, want 0", r)
	}
}

func TestParseStatus(t *testing.T) {
	status := []byte("Name:\tscimd\nVmHWM:\t  204800 kB\nVmRSS:\t   51200 kB\nThreads:\t9\n")
	got := parseStatus(status, "VmRSS", "VmHWM", "VmSwap")
	if !reflect.DeepEqual(got, map[string]int64{"VmRSS": 51200, "VmHWM": 204800}) {
		t.Errorf("parseStatus = %v", got)
	}
	if mb(51200) != 50 {
		t.Errorf("mb(51200) = %v, want 50", mb(51200))
	}
}
