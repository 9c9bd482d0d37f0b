package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/scimd/scimd/config"
)

// healthcheck asks the local server's /readyz, for container health checks
// in images that have no curl.
func healthcheck(ctx context.Context, args []string, stdout, stderr io.Writer, getenv env) error {
	cfg := config.Default()
	fs := newFlagSet("healthcheck", "Exit 0 if the scimd listening on --listen answers /readyz with 200.", stderr)
	fs.StringVar(&cfg.Listen, "listen", cfg.Listen, "address the server listens on")
	if err := config.Parse(fs, args, getenv); err != nil {
		return err
	}
	host, port, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen %q: %w", cfg.Listen, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/readyz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/readyz answered %s", resp.Status)
	}
	fmt.Fprintln(stdout, "ready")
	return nil
}
