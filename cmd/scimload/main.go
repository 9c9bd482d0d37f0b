package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv, net.DefaultResolver.LookupIPAddr)
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.Is(err, errFailures), errors.Is(err, errSeatCheck):
		fmt.Fprintln(os.Stderr, "scimload:", err)
		os.Exit(1)
	default:
		fmt.Fprintln(os.Stderr, "scimload:", err)
		os.Exit(2)
	}
}

// errFailures is returned after a report in which some requests failed.
var errFailures = errors.New("some requests failed (see errors by status)")

const usage = `scimload drives running scimd servers over HTTP the way identity providers do
and reports throughput, p50/p95/p99/max latency and errors by status, as a
table or (--json) as JSON. Targets must be loopback addresses: scimload
refuses any other host. Every run stops after its count or after --duration,
whichever comes first.

Usage:
  scimload <scenario> [flags]

Scenarios:
  provision   create N users with concurrency C (optionally with more attributes
              or licensing extension values); --baseline-sql also runs the same
              inserts as raw SQL on the same PostgreSQL and prints scimd/raw-SQL
  import      page through all users by startIndex (count=100, as Okta does)
              and by RFC 9865 cursor; or fetch random deep startIndex pages
  lookup      random userName eq lookups against an account of a given size
  mixed       a blend of lookups, creates and index pages
  seed        fill an account with N users fast, straight into the database
              (setup for lookup, import and mixed; not a measurement)
  seats       agents racing for a product's concurrent seats across replicas
              through the agent API, a monitor checking through the admin API
              that occupied never exceeds the seats (OVERSELL fails the run);
              --baseline-sql also runs the same seat cycle as raw SQL on the
              same PostgreSQL and prints scimd/raw-SQL

A typical session (see docs/performance.md):
  scimload seed --database-url sqlite:bench.db --account load --users 100000
  export SCIMLOAD_TOKEN=$(scimd token create --database-url sqlite:bench.db --account load --scope scim --name load)
  scimd serve --database-url sqlite:bench.db --listen 127.0.0.1:8080 &
  scimload lookup --users 100000
  scimload import
  # seats: two replicas (scimd serve --listen 127.0.0.1:8080 and :8081) on one PostgreSQL, $DB
  scimload seats --url http://127.0.0.1:8080,http://127.0.0.1:8081 \
      --database-url "$DB" --agents 200 --seats 20 --duration 1m --baseline-sql "$DB"

Every flag is also an environment variable: --token is SCIMLOAD_TOKEN,
--baseline-sql is SCIMLOAD_BASELINE_SQL, and so on; a flag given wins.
Exit status: 0 when every request succeeded, 1 when some failed or a seat
check failed (the report says which), 2 for a usage or setup error.
`

// scenario is a subcommand: its name, purpose and flags.
type scenario struct {
	name    string
	purpose string
	bind    func(fs *flag.FlagSet)
}

func scenarios() []scenario {
	return []scenario{
		{"provision", provisionPurpose, func(fs *flag.FlagSet) { new(provisionConfig).bindAll(fs) }},
		{"import", importPurpose, func(fs *flag.FlagSet) { new(importConfig).bindAll(fs) }},
		{"lookup", lookupPurpose, func(fs *flag.FlagSet) { new(lookupConfig).bindAll(fs) }},
		{"mixed", mixedPurpose, func(fs *flag.FlagSet) { new(mixConfig).bindAll(fs) }},
		{"seats", seatsPurpose, func(fs *flag.FlagSet) { new(seatsConfig).bindAll(fs) }},
		{"seed", seedPurpose, func(fs *flag.FlagSet) { new(seedConfig).bindAll(fs) }},
	}
}

// help prints the usage and every scenario's purpose and flags.
func help(w io.Writer) {
	fmt.Fprint(w, usage)
	for _, s := range scenarios() {
		fmt.Fprintf(w, "\n%s\nscimload %s\n\n%s\n\nFlags of %s:\n", strings.Repeat("-", 78), s.name, s.purpose, s.name)
		fs := flag.NewFlagSet(s.name, flag.ContinueOnError)
		fs.SetOutput(w)
		s.bind(fs)
		fs.PrintDefaults()
	}
}

// run is the program without its process: tests call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string, resolve resolver) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no scenario given")
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		help(stdout)
		return nil
	case "provision":
		c, err := parseProvision(ctx, rest, stderr, getenv, resolve)
		if err != nil {
			return err
		}
		return runHTTP(ctx, c.common, c.run, stdout)
	case "import":
		c, err := parseImport(ctx, rest, stderr, getenv, resolve)
		if err != nil {
			return err
		}
		return runHTTP(ctx, c.common, c.run, stdout)
	case "lookup":
		c, err := parseLookup(ctx, rest, stderr, getenv, resolve)
		if err != nil {
			return err
		}
		return runHTTP(ctx, c.common, c.run, stdout)
	case "mixed":
		c, err := parseMixed(ctx, rest, stderr, getenv, resolve)
		if err != nil {
			return err
		}
		return runHTTP(ctx, c.common, c.run, stdout)
	case "seed":
		c, err := parseSeed(ctx, rest, stderr, getenv, resolve)
		if err != nil {
			return err
		}
		return c.run(ctx, stdout, stderr)
	case "seats":
		c, err := parseSeats(ctx, rest, stderr, getenv, resolve)
		if err != nil {
			return err
		}
		return runHTTP(ctx, c.common, c.run, stdout)
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown scenario %q", name)
}

// runHTTP runs an HTTP scenario with the common flags' profile and RSS
// sampling, and prints its report.
func runHTTP(ctx context.Context, c common, scenario func(context.Context, *client) (Report, error), stdout io.Writer) error {
	if c.cpuProfile != "" {
		f, err := os.Create(c.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	var sampler *rssSampler
	if len(c.pids) > 0 {
		s, err := startRSS(c.pids, 200*time.Millisecond)
		if err != nil {
			return err
		}
		sampler = s
	}
	machine := machineNote()
	rep, err := scenario(ctx, newClient(c))
	if sampler != nil {
		rep.ServerRSS = sampler.stop()
	}
	if err != nil {
		return err
	}
	rep.Notes = append([]string{machine}, rep.Notes...)
	if c.json {
		err = rep.writeJSON(stdout)
	} else {
		err = rep.writeTable(stdout)
	}
	if err != nil {
		return err
	}
	return rep.verdict()
}

// machineNote says how busy the machine was when the run started.
func machineNote() string {
	note := fmt.Sprintf("%d CPUs", runtime.NumCPU())
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(b))
		if len(f) >= 3 {
			note += fmt.Sprintf(", load average %s %s %s at start", f[0], f[1], f[2])
		}
	}
	return note
}
