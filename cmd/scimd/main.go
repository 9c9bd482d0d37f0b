// Command scimd is a SCIM 2.0 provisioning server with license-seat
// management. It reads flags and environment into a config, opens the
// store, wires the adapters and serves; it is the only place that picks a
// storage backend.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "scimd:", err)
		}
		os.Exit(2)
	}
}

const usage = `scimd is a SCIM 2.0 provisioning server with license-seat management.

Usage:
  scimd <command> [flags]

Commands:
  serve           run the server (SCIM at /scim/v2, /healthz, /readyz, /metrics)
  migrate         apply pending database migrations and exit
  account create  make an account:  scimd account create [--trial] NAME
  account list    list accounts
  token create    make a token:     scimd token create --account NAME --scope scim --name NAME
  token list      list an account's tokens
  token revoke    revoke a token:   scimd token revoke --account NAME ID
  plan set        set seats:        scimd plan set --account NAME --product ID --named N --concurrent M
  plan list       show an account's seats and their use
  admin create    make the first console admin: scimd admin create --account default --user you@example.com
  admin grant     grant console privileges:  scimd admin grant --account NAME --user U --privileges read,sessions
  admin revoke    revoke console privileges: scimd admin revoke --account NAME --user U --privileges sessions
  healthcheck     exit 0 if the local server is ready (for containers)
  version         print the version

Every flag can also be set by an environment variable: --database-url is
SCIMD_DATABASE_URL, --listen is SCIMD_LISTEN, and so on. Flags win.
Run "scimd <command> --help" for a command's flags.
`

// env reads environment variables; tests pass their own.
type env func(string) string

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv env) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return serve(ctx, rest, stdout, stderr, getenv)
	case "migrate":
		return migrate(ctx, rest, stdout, stderr, getenv)
	case "account":
		return account(ctx, rest, stdout, stderr, getenv)
	case "token":
		return token(ctx, rest, stdout, stderr, getenv)
	case "admin":
		return consoleAdmin(ctx, rest, stdout, stderr, getenv)
	case "plan":
		return plan(ctx, rest, stdout, stderr, getenv)
	case "healthcheck":
		return healthcheck(ctx, rest, stdout, stderr, getenv)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "scimd", buildVersion())
		return nil
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

// newFlagSet returns a flag set whose help starts with the command's purpose.
func newFlagSet(name, purpose string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "%s\n\nUsage: scimd %s [flags]\n\nFlags (each also settable as SCIMD_<FLAG_NAME>):\n", purpose, name)
		fs.PrintDefaults()
	}
	return fs
}
