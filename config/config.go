package config

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Config is the configuration of a scimd process.
type Config struct {
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
	// DefaultPageSize is the page size when a list request names no count.
	DefaultPageSize int
	// MaxPageSize caps the count of a list request.
	MaxPageSize int
	// LogLevel is debug, info, warn or error.
	LogLevel string
	// LogFormat is json or text.
	LogFormat string
	// ShutdownTimeout bounds how long in-flight requests may take to finish
	// after SIGTERM.
	ShutdownTimeout time.Duration
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

// BindLogging declares the logging flags on fs.
func (c *Config) BindLogging(fs *flag.FlagSet) {
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "log level: debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "log format: text or json")
}

// BindServe declares the flags of the serve command on fs.
func (c *Config) BindServe(fs *flag.FlagSet) {
	c.BindDatabase(fs)
	c.BindLogging(fs)
	fs.StringVar(&c.Listen, "listen", c.Listen, "address to listen on")
	fs.StringVar(&c.BaseURL, "base-url", c.BaseURL, "public base URL of this server, e.g. https://scim.example.com (default: taken from each request)")
	fs.BoolVar(&c.Migrate, "migrate", c.Migrate, "apply pending database migrations at start")
	fs.Int64Var(&c.MaxBodyBytes, "max-body-bytes", c.MaxBodyBytes, "largest request body accepted, in bytes")
	fs.IntVar(&c.DefaultPageSize, "default-page-size", c.DefaultPageSize, "page size of a list request that names no count")
	fs.IntVar(&c.MaxPageSize, "max-page-size", c.MaxPageSize, "largest page size a list request may ask for")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "how long in-flight requests may run after SIGTERM")
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
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, fmt.Errorf("shutdown-timeout %s must be positive", c.ShutdownTimeout))
	}
	return errors.Join(errs...)
}
