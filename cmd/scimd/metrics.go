package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/scimd/scimd/internal/metrics"
	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/server"
	"github.com/scimd/scimd/storage/sqlstore"
)

// newMetrics returns the metrics of a serving process over the store, told
// from now on of the store's seat events and audit write failures;
// passwordLoad reports the password-hash pool (password.Pool.Load).
func newMetrics(store *sqlstore.Store, catalog licensing.Catalog, clock licensing.Clock, log *slog.Logger,
	passwordLoad func() (running, queued, capacity int)) *metrics.Metrics {
	m := metrics.New(metrics.Options{
		Version:      buildVersion(),
		Catalog:      catalog,
		Seats:        store,
		Clock:        clock,
		DB:           store.DB(),
		DBName:       store.Dialect(),
		PasswordLoad: passwordLoad,
		Logger:       log,
	})
	store.Observe(m)
	return m
}

// metricsServer serves the metrics alone on the --metrics-listen address.
type metricsServer struct {
	srv  *http.Server
	done chan struct{}
}

// listenMetrics starts serving h at server.MetricsPath on addr; every other
// path answers 404. An error means the address could not be listened on.
// A nil server (addr "") serves nothing.
func listenMetrics(addr string, h http.Handler, log *slog.Logger) (*metricsServer, error) {
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle(server.MetricsPath, h)
	m := &metricsServer{
		srv: &http.Server{
			Handler:           mux,
			ReadHeaderTimeout: 10 * time.Second,
			WriteTimeout:      30 * time.Second,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		},
		done: make(chan struct{}),
	}
	log.Info("metrics listening", "addr", ln.Addr().String())
	go func() {
		defer close(m.done)
		if err := m.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics listener stopped: /metrics is not served", "err", err)
		}
	}()
	return m, nil
}

// shutdown stops the server, letting scrapes in flight finish until ctx
// ends.
func (m *metricsServer) shutdown(ctx context.Context) error {
	if m == nil {
		return nil
	}
	err := m.srv.Shutdown(ctx)
	<-m.done
	return err
}
