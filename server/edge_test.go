package server_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/server"
)

// edgeRequest is a request of the edge tests: a Host and headers of the
// test's choosing.
type edgeRequest struct {
	method, url, host, bearer, body string
	header                          map[string]string
}

// do sends the request and returns the status, headers and body. A server
// error fails the test.
func (r edgeRequest) do(t *testing.T) (int, http.Header, []byte) {
	t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	req, err := http.NewRequest(r.method, r.url, body)
	if err != nil {
		t.Fatal(err)
	}
	if r.host != "" {
		req.Host = r.host
	}
	if r.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+r.bearer)
	}
	if r.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	return sendRequest(t, req)
}

// withEdge sets the server's edge options.
func withEdge(edge server.Edge) func(*server.Options) {
	return func(o *server.Options) { o.Edge = edge }
}

// TestSecurityHeaders checks that every kind of answer says nosniff, and
// that the answers carrying a secret (agent sign-in, token creation) and
// the console's are never stored by a cache.
func TestSecurityHeaders(t *testing.T) {
	store := testenv.SQLite(t)
	h := newHarness(t, store)
	acct, scimToken := h.account(t)
	agentUser(t, store, acct.ID, "ann", true, nil)
	boss := h.adminToken(t, acct.ID, licensing.PrivTokens, licensing.PrivUsers, licensing.PrivProducts)
	for _, c := range []struct {
		name    string
		req     edgeRequest
		status  int
		noStore bool
	}{
		{"health", edgeRequest{method: "GET", url: h.base + "/healthz"}, 200, false},
		{"unknown path", edgeRequest{method: "GET", url: h.base + "/nowhere"}, 404, false},
		{"openapi", edgeRequest{method: "GET", url: h.base + server.OpenAPIPath}, 200, false},
		{"scim list", edgeRequest{method: "GET", url: h.url + "/Users", bearer: scimToken}, 200, false},
		{"scim 401", edgeRequest{method: "GET", url: h.url + "/Users"}, 401, false},
		{"admin list", edgeRequest{method: "GET", url: h.base + server.AdminPath + "/tokens", bearer: boss}, 200, false},
		{"token creation", edgeRequest{method: "POST", url: h.base + server.AdminPath + "/tokens", bearer: boss, body: `{"name":"okta","scope":"scim"}`}, 201, true},
		{"token creation refused", edgeRequest{method: "POST", url: h.base + server.AdminPath + "/tokens", bearer: boss, body: `{}`}, 400, true},
		{"sign-in", edgeRequest{method: "POST", url: h.base + server.AgentPath + "/signin", body: `{"account":"` + acct.Name + `","userName":"ann","password":"secret-ann"}`}, 200, true},
		{"sign-in refused", edgeRequest{method: "POST", url: h.base + server.AgentPath + "/signin", body: `{"account":"` + acct.Name + `","userName":"ann","password":"wrong"}`}, 401, true},
		{"console", edgeRequest{method: "GET", url: h.base + server.ConsolePath + "/login"}, 404, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, header, raw := c.req.do(t)
			if status != c.status {
				t.Fatalf("status %d, want %d: %s", status, c.status, raw)
			}
			if got := header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options %q, want nosniff", got)
			}
			if got := header.Get("Cache-Control"); (got == "no-store") != c.noStore {
				t.Errorf("Cache-Control %q, want no-store: %v", got, c.noStore)
			}
		})
	}
}

// TestForeignHost checks that without a base URL a request whose Host is
// not allowed is answered 421 in its route's format (health checks
// excepted), that an allowed Host builds the URLs, and that with a base
// URL the Host is never used.
func TestForeignHost(t *testing.T) {
	store := testenv.SQLite(t)
	h := newHarness(t, store, withEdge(server.Edge{AllowedHosts: []string{"scim.example.com", "localhost"}}))
	acct, scimToken := h.account(t)
	boss := h.adminToken(t, acct.ID, licensing.PrivUsers)
	const evil = "evil.example"

	status, header, raw := edgeRequest{method: "GET", url: h.url + "/Users", host: evil, bearer: scimToken}.do(t)
	if m := decodeObject(t, "scim 421", raw); status != http.StatusMisdirectedRequest || m["status"] != "421" ||
		!strings.HasPrefix(header.Get("Content-Type"), "application/scim+json") {
		t.Errorf("SCIM with a foreign Host: %d %s %s, want 421 as a SCIM error", status, header.Get("Content-Type"), raw)
	}
	status, header, raw = edgeRequest{method: "GET", url: h.base + server.AdminPath + "/users", host: evil, bearer: boss}.do(t)
	if m := decodeObject(t, "admin 421", raw); status != http.StatusMisdirectedRequest || m["code"] != "misdirected_request" ||
		header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("admin API with a foreign Host: %d %s %s, want a 421 problem", status, header.Get("Content-Type"), raw)
	}
	status, header, raw = edgeRequest{method: "GET", url: h.base + server.ConsolePath, host: evil}.do(t)
	if status != http.StatusMisdirectedRequest || !strings.HasPrefix(header.Get("Content-Type"), "text/plain") {
		t.Errorf("console with a foreign Host: %d %s %s, want 421 as plain text", status, header.Get("Content-Type"), raw)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if status, _, raw := (edgeRequest{method: "GET", url: h.base + path, host: evil}).do(t); status != http.StatusOK {
			t.Errorf("%s with a foreign Host: %d %s, want 200", path, status, raw)
		}
	}

	// An allowed name, on any port, builds the URLs; so does
	// localhost (and 127.0.0.1, which every other test uses).
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(h.base, "http://"))
	for _, host := range []string{"scim.example.com", "SCIM.example.com:8443", "localhost:" + port} {
		status, header, raw := edgeRequest{method: "POST", url: h.url + "/Users", host: host, bearer: scimToken,
			body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"u-` + host + `"}`}.do(t)
		want := "http://" + strings.ToLower(host) + server.SCIMPath + "/Users/"
		if status != http.StatusCreated || !strings.HasPrefix(header.Get("Location"), want) {
			t.Errorf("create with Host %s: %d Location %q, want 201 under %s: %s", host, status, header.Get("Location"), want, raw)
		}
	}

	fixed := newHarness(t, store, withEdge(server.Edge{BaseURL: "https://scim.example.com/"}))
	status, header, raw = edgeRequest{method: "POST", url: fixed.url + "/Users", host: evil, bearer: scimToken,
		body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"fixed"}`}.do(t)
	m := decodeObject(t, "create", raw)
	loc := "https://scim.example.com" + server.SCIMPath + "/Users/" + m["id"].(string)
	if status != http.StatusCreated || header.Get("Location") != loc || m["meta"].(map[string]any)["location"] != loc {
		t.Errorf("with a base URL: %d Location %q meta %v, want %s whatever the Host", status, header.Get("Location"), m["meta"], loc)
	}
	status, header, _ = edgeRequest{method: "POST", url: fixed.base + server.AdminPath + "/users", host: evil, bearer: boss, body: `{"userName":"fixed-admin"}`}.do(t)
	if status != http.StatusCreated || !strings.HasPrefix(header.Get("Location"), "https://scim.example.com"+server.AdminPath+"/users/") {
		t.Errorf("admin create with a base URL: %d Location %q", status, header.Get("Location"))
	}
}

// clientLog is a slog handler keeping the client address of each request
// line the server logs, by path.
type clientLog struct {
	mu      *sync.Mutex
	clients map[string]string
}

func newClientLog() clientLog { return clientLog{mu: &sync.Mutex{}, clients: map[string]string{}} }

func (l clientLog) Enabled(context.Context, slog.Level) bool { return true }
func (l clientLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l clientLog) WithGroup(string) slog.Handler            { return l }

func (l clientLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "request" {
		return nil
	}
	var path, client string
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "path":
			path = a.Value.String()
		case "client":
			client = a.Value.String()
		}
		return true
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	l.clients[path] = client
	return nil
}

func (l clientLog) client(path string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.clients[path]
}

// TestForwardedHeaders checks that X-Forwarded-For, -Proto and -Host are
// ignored from a peer that is not a trusted proxy and used from one that
// is: in the URLs built and in the client address logged.
func TestForwardedHeaders(t *testing.T) {
	store := testenv.SQLite(t)
	_, scimToken := testenv.Account(t, store)
	forwarded := map[string]string{"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "scim.example.com"}
	create := func(t *testing.T, h *harness, userName string, header map[string]string) (int, string) {
		t.Helper()
		status, hdr, raw := edgeRequest{method: "POST", url: h.url + "/Users", bearer: scimToken, header: header,
			body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"` + userName + `"}`}.do(t)
		if status != http.StatusCreated && status != http.StatusMisdirectedRequest {
			t.Fatalf("create %s: %d %s", userName, status, raw)
		}
		return status, hdr.Get("Location")
	}
	logTo := func(log clientLog) func(*server.Options) {
		return func(o *server.Options) { o.Logger = slog.New(log) }
	}
	allowed := []string{"127.0.0.1", "scim.example.com"}

	t.Run("untrusted", func(t *testing.T) {
		log := newClientLog()
		_, other, _ := net.ParseCIDR("10.9.0.0/16")
		h := newHarness(t, store, logTo(log), withEdge(server.Edge{AllowedHosts: allowed, TrustedProxies: []*net.IPNet{other}}))
		if _, loc := create(t, h, "untrusted", forwarded); !strings.HasPrefix(loc, h.url+"/Users/") {
			t.Errorf("Location %q: forwarded headers of an untrusted peer were used (want under %s)", loc, h.url)
		}
		if got := log.client(server.SCIMPath + "/Users"); got != "127.0.0.1" {
			t.Errorf("logged client %q, want the peer 127.0.0.1", got)
		}
	})
	t.Run("trusted", func(t *testing.T) {
		log := newClientLog()
		_, loopback, _ := net.ParseCIDR("127.0.0.0/8")
		h := newHarness(t, store, logTo(log), withEdge(server.Edge{AllowedHosts: allowed, TrustedProxies: []*net.IPNet{loopback}}))
		if _, loc := create(t, h, "trusted", forwarded); !strings.HasPrefix(loc, "https://scim.example.com"+server.SCIMPath+"/Users/") {
			t.Errorf("Location %q: the trusted proxy's forwarded scheme and host were not used", loc)
		}
		if got := log.client(server.SCIMPath + "/Users"); got != "203.0.113.9" {
			t.Errorf("logged client %q, want the forwarded 203.0.113.9", got)
		}
		// A trusted proxy still cannot bring in a Host that is not allowed.
		if status, _ := create(t, h, "foreign", map[string]string{"X-Forwarded-Host": "evil.example"}); status != http.StatusMisdirectedRequest {
			t.Errorf("forwarded foreign Host: %d, want 421", status)
		}
	})
}

// TestRequestIDs checks that a client's X-Request-Id is kept only when it
// is 1-64 characters of [A-Za-z0-9._-]; any other gets a fresh one.
func TestRequestIDs(t *testing.T) {
	h := newHarness(t, testenv.SQLite(t))
	valid := regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	for _, c := range []struct {
		sent string
		kept bool
	}{
		{"abc-123_X.y", true},
		{strings.Repeat("a", 64), true},
		{strings.Repeat("a", 65), false},
		{"has space", false},
		{"new\u2028line", false},
		{"<script>", false},
		{"a;b=c", false},
	} {
		_, header, _ := edgeRequest{method: "GET", url: h.base + "/healthz", header: map[string]string{"X-Request-Id": c.sent}}.do(t)
		got := header.Get("X-Request-Id")
		if c.kept && got != c.sent || !c.kept && (got == c.sent || !valid.MatchString(got)) {
			t.Errorf("sent X-Request-Id %q, answered %q (kept: want %v)", c.sent, got, c.kept)
		}
	}
	_, header, _ := edgeRequest{method: "GET", url: h.base + "/healthz"}.do(t)
	if !valid.MatchString(header.Get("X-Request-Id")) {
		t.Errorf("no X-Request-Id made for a request without one: %q", header.Get("X-Request-Id"))
	}
}

// TestRateLimit checks that a token over --rate-limit is answered 429
// with Retry-After in its API's format, that another token is not
// affected, and that time gives the token its requests back.
func TestRateLimit(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			store := b.Open(t)
			clock := testenv.NewClock(time.Now())
			h := newHarness(t, store, func(o *server.Options) {
				o.Clock = clock
				o.Edge = server.Edge{RateLimit: 0.5, RateLimitBurst: 2}
			})
			acct, scimToken := h.account(t)
			_, otherSCIM := h.account(t)
			boss := h.adminToken(t, acct.ID, licensing.PrivRead)
			agentUser(t, store, acct.ID, "ann", true, nil)
			agentToken, _ := signIn(t, h, acct.Name, "ann")

			apis := []struct {
				name string
				req  edgeRequest
				// check tells whether the 429 is in the API's format.
				check func(header http.Header, body map[string]any) bool
			}{
				{"scim", edgeRequest{method: "GET", url: h.url + "/Users", bearer: scimToken}, func(header http.Header, body map[string]any) bool {
					return strings.HasPrefix(header.Get("Content-Type"), "application/scim+json") && body["status"] == "429"
				}},
				{"admin", edgeRequest{method: "GET", url: h.base + server.AdminPath + "/users", bearer: boss}, func(header http.Header, body map[string]any) bool {
					return header.Get("Content-Type") == "application/problem+json" && body["code"] == "rate_limited"
				}},
				{"agent", edgeRequest{method: "GET", url: h.base + server.AgentPath + "/sessions", bearer: agentToken}, func(header http.Header, body map[string]any) bool {
					return header.Get("Content-Type") == "application/problem+json" && body["code"] == "rate_limited"
				}},
			}
			for _, api := range apis {
				for i := range 2 {
					if status, _, raw := api.req.do(t); status != http.StatusOK {
						t.Fatalf("%s: request %d of the burst: %d %s", api.name, i+1, status, raw)
					}
				}
				status, header, raw := api.req.do(t)
				if status != http.StatusTooManyRequests || header.Get("Retry-After") != "2" || !api.check(header, decodeObject(t, api.name, raw)) {
					t.Errorf("%s over the limit: %d Retry-After %q %s %s, want 429 in the API's format, Retry-After 2",
						api.name, status, header.Get("Retry-After"), header.Get("Content-Type"), raw)
				}
			}
			other := apis[0].req
			other.bearer = otherSCIM
			if status, _, raw := other.do(t); status != http.StatusOK {
				t.Errorf("another token was limited too: %d %s", status, raw)
			}
			clock.Advance(2001 * time.Millisecond) // a token is back after 2 s at 0.5 a second
			for _, api := range apis {
				if status, _, raw := api.req.do(t); status != http.StatusOK {
					t.Errorf("%s after Retry-After: %d %s", api.name, status, raw)
				}
			}
		})
	}
}

// TestOpenAPISharedResponses checks that every operation of the agent and
// admin APIs documents 421 and (if it takes a token) 429 through a shared
// response that exists.
func TestOpenAPISharedResponses(t *testing.T) {
	s, err := loadSpec()
	if err != nil {
		t.Fatal(err)
	}
	for tmpl, item := range s.paths() {
		for method, v := range item.(map[string]any) {
			op, ok := v.(map[string]any)
			if !ok || method == "parameters" {
				continue
			}
			responses := op["responses"].(map[string]any)
			security, hasSecurity := op["security"].([]any)
			want := []string{"421"}
			if !hasSecurity || len(security) > 0 {
				want = append(want, "429")
			}
			for _, code := range want {
				r, _ := responses[code].(map[string]any)
				ref, _ := r["$ref"].(string)
				if _, ok := s.resolve(ref); !ok {
					t.Errorf("%s %s: response %s is not a shared response that exists (%v)", method, tmpl, code, r)
				}
			}
		}
	}
}
