package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// envPrefix starts the environment variable of every flag:
// --token is SCIMLOAD_TOKEN, --baseline-sql SCIMLOAD_BASELINE_SQL.
const envPrefix = "SCIMLOAD_"

// envName returns the environment variable that sets the flag.
func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Limits every run stays within, whatever it is asked.
const (
	maxConcurrency = 1024
	maxCount       = 100_000_000
	maxDuration    = 24 * time.Hour
	defaultURL     = "http://127.0.0.1:8080/scim/v2"
	scimPath       = "/scim/v2"
)

// parseFlags parses args, then sets every flag not given on the command
// line from its environment variable. Positional arguments are refused.
func parseFlags(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q (flags only; see --help)", fs.Args())
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] {
			return
		}
		if v := getenv(envName(f.Name)); v != "" {
			if err := f.Value.Set(v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %v", envName(f.Name), v, err))
			}
		}
	})
	return errors.Join(errs...)
}

// newFlagSet returns a flag set whose help starts with the purpose.
func newFlagSet(name, purpose string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "%s\n\nUsage: scimload %s [flags]\n\nFlags (each also settable as %s<FLAG_NAME>):\n", purpose, name, envPrefix)
		fs.PrintDefaults()
	}
	return fs
}

// listFlag is a flag that may be given several times, each time with one
// value or a comma-separated list.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// common are the flags every HTTP scenario takes.
type common struct {
	urls        listFlag
	token       string
	concurrency int
	duration    time.Duration
	timeout     time.Duration
	json        bool
	cpuProfile  string
	serverPIDs  listFlag
	// pids are serverPIDs parsed by validate.
	pids []int
	// bases are the checked base URLs, set by validate.
	bases []string
	// noToken, set before bind, leaves out --token: the scenario
	// authenticates otherwise (seats: agent and admin tokens).
	noToken bool
}

func (c *common) bind(fs *flag.FlagSet, concurrency int) {
	fs.Var(&c.urls, "url", "SCIM base URL of a scimd server, loopback only; repeat or separate by commas to spread requests round robin over replicas (default "+defaultURL+")")
	if !c.noToken {
		fs.StringVar(&c.token, "token", "", "bearer token of scope scim (from scimd token create); better set as SCIMLOAD_TOKEN")
	}
	if concurrency > 0 {
		fs.IntVar(&c.concurrency, "concurrency", concurrency, "requests in flight at once")
	} else {
		c.concurrency = 1
	}
	fs.DurationVar(&c.duration, "duration", 2*time.Minute, "stop the run after this long, whatever is left to do")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Second, "give up on one request after this long (counted as a timeout error)")
	fs.BoolVar(&c.json, "json", false, "print the report as JSON instead of a table")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of scimload's own process to this file")
	fs.Var(&c.serverPIDs, "server-pid", "process id of a local scimd to sample /proc/PID/status for peak RSS during the run (repeatable)")
}

// validate checks the common flags, every problem at once, and resolves
// the targets.
func (c *common) validate(ctx context.Context, resolve resolver) error {
	var errs []error
	urls := c.urls
	if len(urls) == 0 {
		urls = listFlag{defaultURL}
	}
	c.bases = nil
	for _, u := range urls {
		base, err := checkTarget(ctx, u, resolve)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c.bases = append(c.bases, base)
	}
	if c.token == "" && !c.noToken {
		errs = append(errs, errors.New("a bearer token is needed: --token or SCIMLOAD_TOKEN (make one with scimd token create --account NAME --scope scim --name load)"))
	}
	if c.concurrency < 1 || c.concurrency > maxConcurrency {
		errs = append(errs, fmt.Errorf("concurrency %d must be between 1 and %d", c.concurrency, maxConcurrency))
	}
	if c.duration <= 0 || c.duration > maxDuration {
		errs = append(errs, fmt.Errorf("duration %s must be positive and at most %s", c.duration, maxDuration))
	}
	if c.timeout <= 0 {
		errs = append(errs, fmt.Errorf("timeout %s must be positive", c.timeout))
	}
	c.pids = nil
	for _, p := range c.serverPIDs {
		pid, err := strconv.Atoi(p)
		if err != nil || pid < 1 {
			errs = append(errs, fmt.Errorf("server-pid %q is not a process id", p))
			continue
		}
		c.pids = append(c.pids, pid)
	}
	return errors.Join(errs...)
}

// checkCount reports a count flag outside 1..maxCount.
func checkCount(name string, n int) error {
	if n < 1 || n > maxCount {
		return fmt.Errorf("%s %d must be between 1 and %d", name, n, maxCount)
	}
	return nil
}

// resolver returns the addresses of a host name (net.DefaultResolver's
// LookupIPAddr; tests pass their own).
type resolver func(ctx context.Context, host string) ([]net.IPAddr, error)

// checkTarget accepts an http(s) URL of a loopback host and returns it as
// the SCIM base URL, without trailing slash; a URL without path gets
// /scim/v2. A host name is accepted only if every address it resolves to
// is a loopback address.
func checkTarget(ctx context.Context, raw string, resolve resolver) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("url %q: %v", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("url %q must be an absolute http:// or https:// URL", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("url %q must be a plain base URL, without user, query or fragment", raw)
	}
	if err := checkLoopbackHost(ctx, u.Hostname(), resolve); err != nil {
		return "", fmt.Errorf("url %q: %w", raw, err)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = scimPath
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

// checkLoopbackHost accepts a loopback IP address, or a name all of whose
// addresses are loopback ones.
func checkLoopbackHost(ctx context.Context, host string, resolve resolver) error {
	if host == "" {
		return errors.New("no host")
	}
	if ip := net.ParseIP(host); ip != nil {
		if !ip.IsLoopback() {
			return fmt.Errorf("%s is not a loopback address: scimload only loads servers on this machine", host)
		}
		return nil
	}
	addrs, err := resolve(ctx, host)
	if err != nil {
		return fmt.Errorf("cannot resolve %s: %v", host, err)
	}
	if len(addrs) == 0 {
		return fmt.Errorf("%s resolves to no address", host)
	}
	for _, a := range addrs {
		if !a.IP.IsLoopback() {
			return fmt.Errorf("%s resolves to %s, not a loopback address: scimload only loads servers on this machine", host, a.IP)
		}
	}
	return nil
}

// loopbackOnly is a net.Dialer Control function: it refuses any
// connection whose address is not a loopback one, so that no redirect,
// proxy setting or change of DNS answer can take the load elsewhere.
func loopbackOnly(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("refusing to connect to %s: not a loopback address", address)
	}
	return nil
}

// checkLocalDatabase accepts a database URL of this machine: SQLite (a
// file), or PostgreSQL on a loopback host or a Unix socket. A PostgreSQL
// URL that names no host falls back to PGHOST, which is checked too.
func checkLocalDatabase(ctx context.Context, raw string, getenv func(string) string, resolve resolver) error {
	scheme, _, _ := strings.Cut(raw, ":")
	switch strings.ToLower(scheme) {
	case "postgres", "postgresql":
	default:
		return nil // SQLite: a file of this machine
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("database URL: %v", err)
	}
	var hosts []string
	for _, h := range strings.Split(u.Host, ",") {
		if h == "" {
			continue
		}
		if name, _, err := net.SplitHostPort(h); err == nil {
			h = name
		}
		hosts = append(hosts, strings.Trim(h, "[]"))
	}
	for _, h := range u.Query()["host"] {
		hosts = append(hosts, strings.Split(h, ",")...)
	}
	if len(hosts) == 0 {
		if env := getenv("PGHOST"); env != "" {
			hosts = strings.Split(env, ",")
		}
	}
	for _, h := range hosts {
		if strings.HasPrefix(h, "/") {
			continue // a Unix socket directory
		}
		if err := checkLoopbackHost(ctx, h, resolve); err != nil {
			return fmt.Errorf("database %s: %w", u.Redacted(), err)
		}
	}
	return nil
}
