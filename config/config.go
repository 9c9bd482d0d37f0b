package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// Config is the configuration of a scimd process.
type Config struct {
	// Catalog is the path of a JSON catalog file replacing the built-in
	// catalog of products; empty keeps the built-in one.
	Catalog string
	// DatabaseURL selects the store: postgres://... for PostgreSQL,
	// sqlite:PATH (or a bare path) for the embedded SQLite default.
	DatabaseURL string
	// Listen is the address the HTTP server listens on.
	Listen string
	// BaseURL is the public URL clients reach scimd at (for Location
	// headers and meta.location). Empty: derived from each request.
	BaseURL string
	// Migrate applies pending migrations when serve starts.
	Migrate bool
	// MaxBodyBytes is the largest request body accepted (413 beyond).
	MaxBodyBytes int64
	// MaxPatchOperations is the most operations a SCIM PATCH may carry.
	MaxPatchOperations int
	// MaxMultiValues is the most values a SCIM User's multi-valued
	// attribute (emails, phoneNumbers, ...) may hold.
	MaxMultiValues int
	// BulkMaxOperations and BulkMaxPayloadBytes bound a SCIM Bulk
	// request: its operations and its body (in place of MaxBodyBytes).
	BulkMaxOperations   int
	BulkMaxPayloadBytes int64
	// DefaultPageSize is the page size when a list request names no count.
	DefaultPageSize int
	// MaxPageSize caps the count of a list request.
	MaxPageSize int
	// LogLevel is debug, info, warn or error.
	LogLevel string
	// LogFormat is json or text.
	LogFormat string
	// SupportKeyLifetime is how long a pending session (support key
	// issued, not yet connected) holds its seat.
	SupportKeyLifetime time.Duration
	// SessionLease is how long a connected session holds its seat without
	// a heartbeat.
	SessionLease time.Duration
	// MaxWait bounds how long an agent's start request may wait for a seat.
	MaxWait time.Duration
	// MaxWaiters caps the agents waiting for a shared seat of one
	// account's product; one more is denied instead of queued.
	MaxWaiters int
	// ReapInterval is how often expired sessions are ended.
	ReapInterval time.Duration
	// AgentTokenTTL is the life of an agent token an admin makes (admin
	// API or command line), for the agent app to sign in with; 0 lets it
	// live until revoked.
	AgentTokenTTL time.Duration
	// ShutdownTimeout bounds how long in-flight requests may take to finish
	// after SIGTERM.
	ShutdownTimeout time.Duration
	// MetricsListen, if set, is the address /metrics is served on, and
	// then only there; empty serves it on Listen.
	MetricsListen string
	// Pprof, if set, is a loopback address the Go runtime profiles
	// (net/http/pprof) are served on, and only there; empty serves none.
	Pprof string
	// RetainSessions, RetainSeatEvents and RetainAudit are how long ended
	// sessions, seat events and audit entries are kept before they are
	// purged; 0 keeps them forever.
	RetainSessions, RetainSeatEvents, RetainAudit time.Duration
	// Edge holds the settings of the HTTP trust boundary.
	Edge
}

// Edge is the configuration of the HTTP trust boundary (see edge.go).
type Edge struct {
	// AllowedHosts lists, comma-separated, the Host values (name or
	// name:port) a request may carry when BaseURL is empty. Empty: the
	// host of Listen, localhost, 127.0.0.1 and ::1.
	AllowedHosts string
	// TrustedProxies lists, comma-separated, the CIDRs (or addresses) of
	// the proxies whose X-Forwarded-For, -Proto and -Host are believed.
	TrustedProxies string
	// RateLimit is the requests a second each token may make per
	// replica; 0 limits nothing.
	RateLimit float64
	// RateLimitBurst is the requests a token may make at once; 0: one
	// second's worth of RateLimit.
	RateLimitBurst int
	// WriteTimeout bounds every request (an agent waiting for a seat
	// gets MaxWait more).
	WriteTimeout time.Duration
}

// Default returns the configuration used when nothing is set.
func Default() Config {
	return Config{
		DatabaseURL:     "sqlite:scimd.db",
		Listen:          ":8080",
		Migrate:         true,
		MaxBodyBytes:    1 << 20,
		DefaultPageSize: 100,
		MaxPageSize:     1000,
		LogLevel:        "info",
		LogFormat:       "text",
		ShutdownTimeout: 20 * time.Second,
		AgentTokenTTL:   90 * 24 * time.Hour,

		SupportKeyLifetime: 10 * time.Minute,
		SessionLease:       2 * time.Minute,
		MaxWait:            60 * time.Second,
		MaxWaiters:         1000,
		ReapInterval:       5 * time.Second,

		RetainSessions:   90 * 24 * time.Hour,
		RetainSeatEvents: 400 * 24 * time.Hour,
		RetainAudit:      400 * 24 * time.Hour,

		Edge: Edge{WriteTimeout: 30 * time.Second},

		MaxPatchOperations: 1000,
		MaxMultiValues:     100,

		BulkMaxOperations:   1000,
		BulkMaxPayloadBytes: 1 << 20,
	}
}

// envPrefix starts every environment variable scimd reads.
const envPrefix = "SCIMD_"

// EnvName returns the environment variable that sets the flag name, e.g.
// database-url -> SCIMD_DATABASE_URL.
func EnvName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// BindDatabase declares the flag that sets the database URL on fs (every command
// that touches the store needs it).
func (c *Config) BindDatabase(fs *flag.FlagSet) {
	fs.StringVar(&c.DatabaseURL, "database-url", c.DatabaseURL, "database: postgres://user@host/db for PostgreSQL, sqlite:PATH for the embedded store")
}

// BindCatalog declares the flag that names the catalog file on fs.
func (c *Config) BindCatalog(fs *flag.FlagSet) {
	fs.StringVar(&c.Catalog, "catalog", c.Catalog, `JSON file listing the products, {"products":[{"id":"remote-support-v5","name":"Remote Support v5"}]} (default: the built-in catalog)`)
}

// BindLogging declares the logging flags on fs.
func (c *Config) BindLogging(fs *flag.FlagSet) {
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "log level: debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "log format: text or json")
}

// BindServe declares the flags of the serve command on fs.
func (c *Config) BindServe(fs *flag.FlagSet) {
	c.BindDatabase(fs)
	c.BindCatalog(fs)
	c.BindLogging(fs)
	fs.StringVar(&c.Listen, "listen", c.Listen, "address to listen on")
	fs.StringVar(&c.BaseURL, "base-url", c.BaseURL, "public base URL of this server, e.g. https://scim.example.com (default: taken from each request)")
	fs.BoolVar(&c.Migrate, "migrate", c.Migrate, "apply pending database migrations at start")
	fs.Int64Var(&c.MaxBodyBytes, "max-body-bytes", c.MaxBodyBytes, "largest request body accepted, in bytes")
	fs.IntVar(&c.MaxPatchOperations, "max-patch-operations", c.MaxPatchOperations, "most operations a SCIM PATCH may carry")
	fs.IntVar(&c.MaxMultiValues, "max-multi-values", c.MaxMultiValues, "most values a SCIM user's multi-valued attribute (emails, phoneNumbers, ...) may hold; group members are bounded by max-body-bytes only")
	fs.IntVar(&c.BulkMaxOperations, "bulk-max-operations", c.BulkMaxOperations, "most operations a SCIM Bulk request may carry (413 beyond)")
	fs.Int64Var(&c.BulkMaxPayloadBytes, "bulk-max-payload-bytes", c.BulkMaxPayloadBytes, "largest SCIM Bulk request body accepted, in bytes (413 beyond); each operation's data is still bounded by max-body-bytes")
	fs.IntVar(&c.DefaultPageSize, "default-page-size", c.DefaultPageSize, "page size of a list request that names no count")
	fs.IntVar(&c.MaxPageSize, "max-page-size", c.MaxPageSize, "largest page size a list request may ask for")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "how long in-flight requests may run after SIGTERM")
	fs.DurationVar(&c.AgentTokenTTL, "agent-token-ttl", c.AgentTokenTTL, "life of an agent token made through the admin API (0: until revoked)")
	fs.DurationVar(&c.SupportKeyLifetime, "support-key-lifetime", c.SupportKeyLifetime, "how long a session that is not yet connected holds its seat")
	fs.DurationVar(&c.SessionLease, "session-lease", c.SessionLease, "how long a connected session holds its seat without a heartbeat")
	fs.DurationVar(&c.MaxWait, "max-wait", c.MaxWait, "longest an agent may wait for a shared seat in one request")
	fs.IntVar(&c.MaxWaiters, "max-waiters", c.MaxWaiters, "most agents waiting for a shared seat of one account's product; one more is denied, not queued")
	fs.DurationVar(&c.ReapInterval, "reap-interval", c.ReapInterval, "how often expired sessions are ended and their seats freed")
	fs.DurationVar(&c.RetainSessions, "retain-sessions", c.RetainSessions, "how long ended sessions are kept before they are purged (0: forever)")
	fs.DurationVar(&c.RetainSeatEvents, "retain-seat-events", c.RetainSeatEvents, "how long seat events, the source of usage reports, are kept (0: forever)")
	fs.DurationVar(&c.RetainAudit, "retain-audit", c.RetainAudit, "how long audit entries are kept (0: forever)")
	fs.StringVar(&c.MetricsListen, "metrics-listen", c.MetricsListen, "address to serve the Prometheus metrics on, and then only there, e.g. 127.0.0.1:9090 (default: /metrics on --listen)")
	fs.StringVar(&c.Pprof, "pprof", c.Pprof, "loopback address to serve the Go runtime profiles (/debug/pprof/) on, e.g. 127.0.0.1:6060, for measuring; never on --listen (default: off)")
	c.bindEdge(fs)
}

// Parse sets every flag of fs that was not given on the command line from
// its environment variable (see EnvName), then parses args. Flags win over
// the environment, the environment over defaults.
func Parse(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] {
			return
		}
		name := EnvName(f.Name)
		if v := getenv(name); v != "" {
			if err := f.Value.Set(v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %v", name, v, err))
			}
		}
	})
	return errors.Join(errs...)
}

// Validate reports every problem of the configuration at once.
func (c Config) Validate() error {
	var errs []error
	if c.DatabaseURL == "" {
		errs = append(errs, errors.New("database-url must be set"))
	}
	if c.Listen == "" {
		errs = append(errs, errors.New("listen must be set"))
	}
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("base-url %q must be an absolute http(s) URL", c.BaseURL))
		}
	}
	if c.MaxBodyBytes < 1024 {
		errs = append(errs, fmt.Errorf("max-body-bytes %d must be at least 1024", c.MaxBodyBytes))
	}
	if c.MaxPatchOperations < 1 {
		errs = append(errs, fmt.Errorf("max-patch-operations %d must be at least 1", c.MaxPatchOperations))
	}
	if c.MaxMultiValues < 1 {
		errs = append(errs, fmt.Errorf("max-multi-values %d must be at least 1", c.MaxMultiValues))
	}
	if c.BulkMaxOperations < 1 {
		errs = append(errs, fmt.Errorf("bulk-max-operations %d must be at least 1", c.BulkMaxOperations))
	}
	if c.BulkMaxPayloadBytes < 1024 {
		errs = append(errs, fmt.Errorf("bulk-max-payload-bytes %d must be at least 1024", c.BulkMaxPayloadBytes))
	}
	if c.DefaultPageSize < 1 {
		errs = append(errs, fmt.Errorf("default-page-size %d must be at least 1", c.DefaultPageSize))
	}
	if c.MaxPageSize < c.DefaultPageSize {
		errs = append(errs, fmt.Errorf("max-page-size %d must be at least default-page-size %d", c.MaxPageSize, c.DefaultPageSize))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log-level %q must be debug, info, warn or error", c.LogLevel))
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("log-format %q must be text or json", c.LogFormat))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"support-key-lifetime", c.SupportKeyLifetime}, {"session-lease", c.SessionLease}, {"max-wait", c.MaxWait}, {"reap-interval", c.ReapInterval}} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("%s %s must be positive", d.name, d.v))
		}
	}
	if c.MaxWaiters < 1 {
		errs = append(errs, fmt.Errorf("max-waiters %d must be at least 1", c.MaxWaiters))
	}
	if c.AgentTokenTTL < 0 {
		errs = append(errs, fmt.Errorf("agent-token-ttl %s must not be negative", c.AgentTokenTTL))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"retain-sessions", c.RetainSessions}, {"retain-seat-events", c.RetainSeatEvents}, {"retain-audit", c.RetainAudit}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s %s must not be negative (0 keeps forever)", d.name, d.v))
		}
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, fmt.Errorf("shutdown-timeout %s must be positive", c.ShutdownTimeout))
	}
	errs = append(errs, c.Edge.validate()...)
	if c.MetricsListen != "" {
		if _, port, err := net.SplitHostPort(c.MetricsListen); err != nil {
			errs = append(errs, fmt.Errorf("metrics-listen %q must be host:port or :port", c.MetricsListen))
		} else if c.MetricsListen == c.Listen && port != "0" {
			errs = append(errs, fmt.Errorf("metrics-listen %q must differ from listen", c.MetricsListen))
		}
	}
	if c.Pprof != "" {
		errs = append(errs, validatePprof(c.Pprof, c.Listen))
	}
	return errors.Join(errs...)
}

// validatePprof accepts a loopback host:port of its own for the profiles:
// they show the process's internals, so they are never served where
// clients reach the server.
func validatePprof(addr, listen string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("pprof %q must be host:port on a loopback address", addr)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("pprof %q must be on a loopback address (127.0.0.1, ::1 or localhost)", addr)
	}
	if addr == listen && port != "0" {
		return fmt.Errorf("pprof %q must differ from listen", addr)
	}
	return nil
}
