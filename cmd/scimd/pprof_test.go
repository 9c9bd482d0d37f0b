package main

import (
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var pprofListening = regexp.MustCompile(`pprof listening" addr=(\S+)`)

// TestPprofListen checks that with --pprof the profiles are served on that
// address only, never on the main listener, and that they stop with the
// server.
func TestPprofListen(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "scimd.db")
	addr, _, stderr, stop := startServeWith(t, db, "--pprof", "127.0.0.1:0")
	m := pprofListening.FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("no pprof listener logged:\n%s", stderr.String())
	}
	paddr := m[1]
	resp, err := http.Get("http://" + paddr + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "goroutine profile") {
		t.Errorf("goroutine profile on the pprof listener: %d %.200s", resp.StatusCode, body)
	}
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/goroutine"} {
		if status := get(t, "http://"+addr+path); status != http.StatusNotFound {
			t.Errorf("%s on the main listener: %d, want 404", path, status)
		}
	}
	if status := get(t, "http://"+paddr+"/healthz"); status != http.StatusNotFound {
		t.Errorf("/healthz on the pprof listener: %d, want 404", status)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if resp, err := http.Get("http://" + paddr + "/debug/pprof/"); err == nil {
		resp.Body.Close()
		t.Errorf("the pprof listener still answers after serve stopped")
	}
}

// TestServeWithoutPprof checks that the profiles are off by default.
func TestServeWithoutPprof(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "scimd.db")
	addr, _, stderr, stop := startServeWith(t, db)
	if pprofListening.MatchString(stderr.String()) {
		t.Errorf("a pprof listener started without --pprof:\n%s", stderr.String())
	}
	if status := get(t, "http://"+addr+"/debug/pprof/"); status != http.StatusNotFound {
		t.Errorf("/debug/pprof/ on the main listener: %d, want 404", status)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
