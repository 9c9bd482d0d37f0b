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

// sideServer serves, on an address of its own, what must not be served on
// --listen: the metrics with --metrics-listen, the profiles with --pprof.
type sideServer struct {
	srv  *http.Server
	done chan struct{}
}

// listenMetrics starts serving h at server.MetricsPath on addr; every other
// path answers 404. An error means the address could not be listened on.
// A nil server (addr "") serves nothing.
func listenMetrics(addr string, h http.Handler, log *slog.Logger) (*sideServer, error) {
	if addr == "" {
		return nil, nil
	}
	mux := http.NewServeMux()
	mux.Handle(server.MetricsPath, h)
	return listenSide(addr, "metrics", mux, 30*time.Second, log)
}

// listenSide starts serving mux on addr, answering within writeTimeout,
// and logs "NAME listening" with the address.
func listenSide(addr, name string, mux *http.ServeMux, writeTimeout time.Duration, log *slog.Logger) (*sideServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	m := &sideServer{
		srv: &http.Server{
			Handler:           mux,
			ReadHeaderTimeout: 10 * time.Second,
			WriteTimeout:      writeTimeout,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		},
		done: make(chan struct{}),
	}
	log.Info(name+" listening", "addr", ln.Addr().String())
	go func() {
		defer close(m.done)
		if err := m.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			log.Error(name+" listener stopped", "err", err)
		}
	}()
	return m, nil
}

// shutdown stops the server, letting scrapes in flight finish until ctx
// ends.
func (m *sideServer) shutdown(ctx context.Context) error {
	if m == nil {
		return nil
	}
	err := m.srv.Shutdown(ctx)
	<-m.done
	return err
}
