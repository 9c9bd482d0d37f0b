package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/elimity-com/scim/schema"

	"github.com/scimd/scimd/admin"
	"github.com/scimd/scimd/agent"
	"github.com/scimd/scimd/config"
	"github.com/scimd/scimd/console"
	"github.com/scimd/scimd/internal/outage"
	"github.com/scimd/scimd/internal/password"
	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/server"
	"github.com/scimd/scimd/storage/sqlstore"
)

func serve(ctx context.Context, args []string, stdout, stderr io.Writer, getenv env) error {
	cfg := config.Default()
	fs := newFlagSet("serve", "Run the scimd server: SCIM 2.0 at /scim/v2, the admin console at /console, health at /healthz and /readyz, Prometheus metrics at /metrics.", stderr)
	cfg.BindServe(fs)
	if err := config.Parse(fs, args, getenv); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	log := newLogger(cfg, stderr)
	catalog, err := loadCatalog(cfg.Catalog)
	if err != nil {
		return err
	}
	clock := licensing.SystemClock{}

	// Entra ID sends booleans as strings ("False"); elimity accepts them
	// only with this process-wide switch, the one global scimd sets.
	schema.SetAllowStringValues(true)

	store, err := sqlstore.Open(cfg.DatabaseURL, log)
	if err != nil {
		return err
	}
	defer store.Close()
	// An unreachable database is logged once when it goes, at most every
	// 10 s while it stays away, and once when it is back.
	store.OnUnavailable(outage.New(ctx, outage.Options{Probe: store.Ping, Logger: log}).Failed)
	if cfg.Migrate {
		n, err := store.Migrate(ctx)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		if n > 0 {
			log.Info("applied database migrations", "count", n)
		}
	}

	warnAboutDatabase(ctx, store, log)

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	if err := firstStart(asOperator(ctx, "", getenv), store, cfg, catalog, ln.Addr(), stdout); err != nil {
		ln.Close()
		return err
	}
	// One pool runs every password hash of the process: sign-ins and
	// password writes wait in lanes of their own.
	passwords := password.NewPool(password.PoolOptions{})
	m := newMetrics(store, catalog, clock, log, passwords.Load)
	metricsSrv, err := listenMetrics(cfg.MetricsListen, m.Handler(), log)
	if err != nil {
		ln.Close()
		return fmt.Errorf("metrics-listen: %w", err)
	}
	defer metricsSrv.shutdown(context.Background())
	pprofSrv, err := listenPprof(cfg.Pprof, log)
	if err != nil {
		ln.Close()
		return fmt.Errorf("pprof: %w", err)
	}
	defer func() { // a profile under way is cut short
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		pprofSrv.shutdown(sctx)
	}()

	// Every replica seals cursors with the database's key.
	cursors, err := licensing.LoadCursors(ctx, store)
	if err != nil {
		ln.Close()
		return err
	}

	scimBase := ""
	if cfg.BaseURL != "" {
		scimBase = strings.TrimSuffix(cfg.BaseURL, "/") + server.SCIMPath
	}
	scimServer, err := scim.New(store, scim.Options{
		BaseURL:         scimBase,
		MountPath:       server.SCIMPath,
		DefaultPageSize: cfg.DefaultPageSize,
		MaxPageSize:     cfg.MaxPageSize,
		MaxBodyBytes:    cfg.MaxBodyBytes,
		Clock:           clock,
		Catalog:         catalog,
		HashPassword:    passwords.Hash,
		VerifyPassword:  passwords.Verifier(password.LaneWrite),
		Cursors:         cursors,

		MaxPatchOperations: cfg.MaxPatchOperations,
		MaxMultiValues:     cfg.MaxMultiValues,

		MaxBulkOperations:   cfg.BulkMaxOperations,
		MaxBulkPayloadBytes: cfg.BulkMaxPayloadBytes,
	})
	if err != nil {
		ln.Close()
		return err
	}
	agents := licensing.NewAgents(store, clock, catalog, licensing.AgentConfig{
		KeyLifetime: cfg.SupportKeyLifetime,
		Lease:       cfg.SessionLease,
		MaxWait:     cfg.MaxWait,
		MaxWaiters:  cfg.MaxWaiters,
	}, nil)
	// Waiting agents learn of a seat freed (in any replica) at once,
	// not at their next poll. The watch outlives ctx until the requests
	// in flight are finished.
	watchCtx, stopWatch := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWatch()
	if err := agents.Watch(watchCtx); err != nil {
		log.Warn("seat notifications off: waiting agents poll", "error", err)
	}
	agentAPI := agent.New(agent.Options{Store: store, Clock: clock, Catalog: catalog, Agents: agents, Verify: passwords.Verifier(password.LaneSignIn)})
	adminAPI := admin.New(admin.Options{Store: store, Clock: clock, Catalog: catalog, HashPassword: passwords.Hash, AgentTokenTTL: cfg.AgentTokenTTL, Cursors: cursors,
		Retention: retention(cfg)})
	consoleUI := console.New(console.Options{Store: store, Clock: clock, Catalog: catalog, Verify: passwords.Verifier(password.LaneSignIn), HashPassword: passwords.Hash, Logger: log, Cursors: cursors, SCIMPath: server.SCIMPath,
		Retention: retention(cfg)})
	serverOpts := server.Options{Store: store, Clock: clock, Logger: log, SCIM: scimServer, Agent: agentAPI, Admin: adminAPI, OpenAPI: admin.OpenAPIDocument, Requests: m,
		Edge: edgeOptions(cfg), Console: consoleUI}
	if metricsSrv == nil {
		serverOpts.Metrics = m.Handler()
	}
	handler := server.New(serverOpts)
	go reap(ctx, store, clock, cfg.ReapInterval, log, m.ReaperRan)
	go purge(ctx, store, retention(cfg), clock, purgeInterval, log, m.PurgeRan)
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		// Each route sets its own write deadline (--write-timeout, plus
		// --max-wait for an agent waiting for a seat); this one only
		// bounds what answers before the routes (malformed requests).
		WriteTimeout: cfg.WriteTimeout + cfg.MaxWait + 10*time.Second,
		IdleTimeout:  120 * time.Second,
		ErrorLog:     slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("scimd listening", "addr", ln.Addr().String(), "database", sqlstore.Redact(cfg.DatabaseURL), "version", buildVersion())

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing requests in flight", "timeout", cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := metricsSrv.shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown of the metrics listener: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// firstStart makes the default account, with the trial plan of the
// catalog, and its SCIM token on an empty database and prints them, once.
func firstStart(ctx context.Context, store licensing.Store, cfg config.Config, catalog licensing.Catalog, addr net.Addr, stdout io.Writer) error {
	account, bearer, err := licensing.Bootstrap(ctx, store, licensing.SystemClock{}, catalog)
	if err != nil {
		return fmt.Errorf("first start: %w", err)
	}
	if bearer == "" {
		return nil
	}
	base := strings.TrimSuffix(cfg.BaseURL, "/")
	if base == "" {
		port := "8080"
		if a, ok := addr.(*net.TCPAddr); ok {
			port = fmt.Sprint(a.Port)
		}
		base = "http://localhost:" + port
	}
	fmt.Fprintf(stdout, `
First start: created account %q.
  SCIM base URL: %s%s
  Bearer token:  %s
  Trial plan:    %s
This token is shown only now; store it in your identity provider.
Make more with: scimd token create --account %s --scope scim --name okta
Change the plan with: scimd plan set --account %s --product %s --named 10 --concurrent 5

Admin console: %s/console
  Make its first admin (prints a one-time link to choose a password):
  scimd admin create --account %s --user you@example.com

`, account.Name, base, server.SCIMPath, bearer, trialNote(catalog), account.Name, account.Name, catalog.Products[0].ID, base, account.Name)
	return nil
}

// logRunError logs the failure (if any) of a background run: at debug
// when the database is unavailable, an outage the outage monitor logs
// already, else as an error.
func logRunError(log *slog.Logger, msg string, err error) {
	switch {
	case err == nil:
	case errors.Is(err, licensing.ErrUnavailable):
		log.Debug(msg, "err", err)
	default:
		log.Error(msg, "err", err)
	}
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// reap ends expired sessions every interval until ctx ends, telling ran of
// each run. Every replica runs it; the store makes sure each session is
// ended once.
func reap(ctx context.Context, store licensing.Store, clock licensing.Clock, interval time.Duration, log *slog.Logger,
	ran func(at time.Time, expired int, err error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := licensing.Reap(ctx, store, clock, 500)
		if ctx.Err() == nil { // logged before ran is told, so a run told of is logged
			logRunError(log, "reaping expired sessions", err)
			ran(clock.Now(), n, err)
		}
		if n > 0 {
			log.Info("ended expired sessions", "count", n)
		}
	}
}
