package main

import (
	"log/slog"
	"net/http"
	"net/http/pprof"
	"time"
)

// listenPprof starts serving the Go runtime's profiles at /debug/pprof/ on
// addr (a loopback address, as config checks), to find where a server's
// time goes under load. A nil server (addr "") serves nothing: profiles are
// off by default and never served on --listen.
func listenPprof(addr string, log *slog.Logger) (*sideServer, error) {
	if addr == "" {
		return nil, nil
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	// A CPU profile or trace answers after the seconds it was asked for.
	return listenSide(addr, "pprof", mux, 10*time.Minute, log)
}
