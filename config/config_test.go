package config

import (
	"flag"
	"strings"
	"testing"
	"time"
)

func TestParseFlagsBeatEnvironmentBeatDefaults(t *testing.T) {
	c := Default()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	c.BindServe(fs)
	env := map[string]string{
		"SCIMD_DATABASE_URL":   "postgres://db/x",
		"SCIMD_LISTEN":         ":9999",
		"SCIMD_MAX_BODY_BYTES": "4096",
	}
	err := Parse(fs, []string{"--listen", ":7000"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != ":7000" {
		t.Errorf("listen = %q, want the flag's :7000", c.Listen)
	}
	if c.DatabaseURL != "postgres://db/x" {
		t.Errorf("database url = %q, want the environment's", c.DatabaseURL)
	}
	if c.MaxBodyBytes != 4096 {
		t.Errorf("max body = %d, want 4096", c.MaxBodyBytes)
	}
	if c.MaxPageSize != Default().MaxPageSize {
		t.Errorf("max page size = %d, want the default", c.MaxPageSize)
	}
}

func TestParseReportsBadEnvironment(t *testing.T) {
	c := Default()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	c.BindServe(fs)
	err := Parse(fs, nil, func(k string) string {
		if k == "SCIMD_MAX_PAGE_SIZE" {
			return "lots"
		}
		return ""
	})
	if err == nil || !strings.Contains(err.Error(), "SCIMD_MAX_PAGE_SIZE") {
		t.Fatalf("err = %v, want one naming SCIMD_MAX_PAGE_SIZE", err)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := Default()
	c.DatabaseURL = ""
	c.BaseURL = "ftp:/nowhere"
	c.MaxBodyBytes = 1
	c.LogLevel = "loud"
	c.MaxWaiters = 0
	c.MaxPatchOperations, c.MaxMultiValues = 0, -1
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate accepted a broken config")
	}
	for _, want := range []string{"database-url", "base-url", "max-body-bytes", "log-level", "max-waiters", "max-patch-operations", "max-multi-values"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	if err := Default().Validate(); err != nil {
		t.Errorf("default config invalid: %v", err)
	}
}

// TestValidateMetricsListen accepts an address of its own for /metrics
// and refuses one that is not host:port or is the main listener's.
func TestValidateMetricsListen(t *testing.T) {
	for _, c := range []struct {
		listen, metrics string
		ok              bool
	}{
		{":8080", "", true},
		{":8080", "127.0.0.1:9090", true},
		{":8080", ":9090", true},
		{":8080", "9090", false},
		{":8080", ":8080", false},
		{"127.0.0.1:0", "127.0.0.1:0", true}, // two ports the system picks
	} {
		cfg := Default()
		cfg.Listen, cfg.MetricsListen = c.listen, c.metrics
		err := cfg.Validate()
		if (err == nil) != c.ok || err != nil && !strings.Contains(err.Error(), "metrics-listen") {
			t.Errorf("listen %q, metrics-listen %q: Validate() = %v, want ok %v", c.listen, c.metrics, err, c.ok)
		}
	}
}

// TestValidatePprof accepts a loopback address of its own for the
// profiles and refuses any other, the main listener's included.
func TestValidatePprof(t *testing.T) {
	for _, c := range []struct {
		listen, pprof string
		ok            bool
	}{
		{":8080", "", true},
		{":8080", "127.0.0.1:6060", true},
		{":8080", "[::1]:6060", true},
		{":8080", "localhost:6060", true},
		{":8080", ":6060", false}, // every interface
		{":8080", "0.0.0.0:6060", false},
		{":8080", "192.0.2.1:6060", false},
		{":8080", "6060", false},
		{"127.0.0.1:8080", "127.0.0.1:8080", false},
		{"127.0.0.1:0", "127.0.0.1:0", true}, // two ports the system picks
	} {
		cfg := Default()
		cfg.Listen, cfg.Pprof = c.listen, c.pprof
		err := cfg.Validate()
		if (err == nil) != c.ok || err != nil && !strings.Contains(err.Error(), "pprof") {
			t.Errorf("listen %q, pprof %q: Validate() = %v, want ok %v", c.listen, c.pprof, err, c.ok)
		}
	}
}

// TestRetentionFlags checks the retention flags: the defaults (90 days of
// sessions, 400 of seat events and audit entries), flags and environment,
// 0 for forever, and a negative period refused.
func TestRetentionFlags(t *testing.T) {
	d := Default()
	if d.RetainSessions != 2160*time.Hour || d.RetainSeatEvents != 9600*time.Hour || d.RetainAudit != 9600*time.Hour {
		t.Errorf("default retention = %s, %s, %s; want 2160h, 9600h, 9600h", d.RetainSessions, d.RetainSeatEvents, d.RetainAudit)
	}
	c := Default()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	c.BindServe(fs)
	env := map[string]string{"SCIMD_RETAIN_AUDIT": "0", "SCIMD_RETAIN_SEAT_EVENTS": "48h"}
	if err := Parse(fs, []string{"--retain-sessions", "24h"}, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if c.RetainSessions != 24*time.Hour || c.RetainSeatEvents != 48*time.Hour || c.RetainAudit != 0 {
		t.Errorf("retention = %s, %s, %s; want 24h, 48h, 0s", c.RetainSessions, c.RetainSeatEvents, c.RetainAudit)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	c.RetainSeatEvents = -time.Hour
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "retain-seat-events") {
		t.Errorf("Validate with a negative retention: %v", err)
	}
}

// TestValidateBulkLimits refuses Bulk limits that would refuse every Bulk
// request, and reads them from the environment like any flag.
func TestValidateBulkLimits(t *testing.T) {
	c := Default()
	c.BulkMaxOperations, c.BulkMaxPayloadBytes = 0, 10
	err := c.Validate()
	for _, want := range []string{"bulk-max-operations", "bulk-max-payload-bytes"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %s", err, want)
		}
	}
	c = Default()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	c.BindServe(fs)
	env := map[string]string{"SCIMD_BULK_MAX_OPERATIONS": "50", "SCIMD_BULK_MAX_PAYLOAD_BYTES": "4096"}
	if err := Parse(fs, nil, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if c.BulkMaxOperations != 50 || c.BulkMaxPayloadBytes != 4096 {
		t.Errorf("bulk limits = %d, %d; want 50, 4096", c.BulkMaxOperations, c.BulkMaxPayloadBytes)
	}
}
