package main

import (
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"testing"
)

// TestServeEdgeFlags checks that scimd serve wires the trust boundary's
// flags: --allowed-hosts (a foreign Host is answered 421, health checks
// excepted), --trusted-proxies (a forwarded Host builds the URLs),
// --rate-limit and --rate-limit-burst (429 with Retry-After), and
// --write-timeout (a request past it cannot reach the database).
func TestServeEdgeFlags(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "scimd.db")
	addr, stdout, _, stop := startServeWith(t, db, "--allowed-hosts", "scim.example.com", "--trusted-proxies", "127.0.0.1",
		"--rate-limit", "0.01", "--rate-limit-burst", "2")
	token := regexp.MustCompile(`Bearer token:\s+(scimd_\S+)`).FindStringSubmatch(stdout.String())
	if token == nil {
		t.Fatalf("no token printed:\n%s", stdout.String())
	}
	call := func(path, host string, header ...string) (int, http.Header) {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
		req.Host = host
		req.Header.Set("Authorization", "Bearer "+token[1])
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, resp.Header
	}
	if status, _ := call("/scim/v2/Users", addr); status != http.StatusMisdirectedRequest {
		t.Errorf("a Host outside --allowed-hosts: %d, want 421", status)
	}
	if status, _ := call("/readyz", "evil.example"); status != http.StatusOK {
		t.Errorf("/readyz with a foreign Host: %d, want 200", status)
	}
	if status, h := call("/scim/v2/Users", addr, "X-Forwarded-Host", "scim.example.com"); status != http.StatusOK || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("an allowed Host from a trusted proxy: %d %v, want 200 with nosniff", status, h)
	}
	if status, _ := call("/scim/v2/Users", "scim.example.com"); status != http.StatusOK {
		t.Errorf("second request of the burst: %d, want 200", status)
	}
	if status, h := call("/scim/v2/Users", "scim.example.com"); status != http.StatusTooManyRequests || h.Get("Retry-After") != "100" {
		t.Errorf("over --rate-limit: %d Retry-After %q, want 429 and 100", status, h.Get("Retry-After"))
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	// A request whose deadline has passed before it reaches the database
	// cannot ping it.
	addr, _, _, stop = startServeWith(t, db, "--write-timeout", "1ns")
	if status, _ := call("/readyz", addr); status != http.StatusServiceUnavailable {
		t.Errorf("/readyz past --write-timeout: %d, want 503", status)
	}
	if status, _ := call("/healthz", addr); status != http.StatusOK {
		t.Errorf("/healthz: %d, want 200", status)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
