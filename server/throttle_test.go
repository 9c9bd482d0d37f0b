package server_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimd/scimd/admin"
	"github.com/scimd/scimd/agent"
	"github.com/scimd/scimd/internal/password"
	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/server"
)

// throttleServer is a server whose agent API signs in on the clock and
// counts the password checks it runs.
type throttleServer struct {
	h      http.Handler
	clock  *testenv.Clock
	checks atomic.Int64
}

// newThrottleServer returns the server and an account of it with the
// user ann (password secret-ann).
func newThrottleServer(t *testing.T, store licensing.Store) (*throttleServer, licensing.Account) {
	t.Helper()
	ts := &throttleServer{clock: testenv.NewClock(time.Now().UTC())}
	catalog := licensing.DefaultCatalog()
	pool := password.NewPool(password.PoolOptions{})
	sc, err := scim.New(store, scim.Options{MountPath: server.SCIMPath, DefaultPageSize: 10, MaxPageSize: 10, MaxBodyBytes: testBodyLimit, Catalog: catalog})
	if err != nil {
		t.Fatal(err)
	}
	agents := licensing.NewAgents(store, ts.clock, catalog, licensing.AgentConfig{}, nil)
	ag := agent.New(agent.Options{Store: store, Clock: ts.clock, Catalog: catalog, Agents: agents,
		Verify: func(ctx context.Context, hash, pw string) (bool, error) {
			ts.checks.Add(1)
			return pool.Verify(ctx, password.LaneSignIn, hash, pw)
		}})
	ts.h = server.New(server.Options{Store: store, Clock: ts.clock, Logger: slog.New(slog.DiscardHandler), SCIM: sc, Agent: ag,
		Admin: admin.New(admin.Options{Store: store, Clock: ts.clock, Catalog: catalog})})
	acct, _ := testenv.Account(t, store)
	agentUser(t, store, acct.ID, "ann", true, licensing.Assignments{})
	return ts, acct
}

// signIn signs in from the client address and returns the status, the
// Retry-After header and the answer.
func (ts *throttleServer) signIn(t *testing.T, addr, account, userName, pw string) (int, string, map[string]any) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"account": account, "userName": userName, "password": pw})
	req := httptest.NewRequest(http.MethodPost, server.AgentPath+"/signin", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Host = "localhost" // one of the default allowed hosts
	req.RemoteAddr = "[" + addr + "]:40000"
	if !strings.Contains(addr, ":") {
		req.RemoteAddr = addr + ":40000"
	}
	rec := httptest.NewRecorder()
	ts.h.ServeHTTP(rec, req)
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("sign-in answer is not JSON: %s", rec.Body)
	}
	if rec.Code >= 500 {
		t.Fatalf("sign-in answered %d: %v", rec.Code, m)
	}
	return rec.Code, rec.Header().Get("Retry-After"), m
}

// randomNet64 returns a random IPv6 /64 (in 2001:db8::/32) as a prefix
// to which a host part is appended ("2001:db8:a:b::" + "1"): tests of one
// database share no address.
func randomNet64() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("2001:db8:%x:%x::", uint16(b[0])<<8|uint16(b[1]), uint16(b[2])<<8|uint16(b[3]))
}

// TestSignInThrottledPerUser: after 5 free failures of a userName, each
// failure blocks it for a delay doubling from 1 s; a blocked attempt
// answers 429 with Retry-After before any password check, the right
// password included, and an unknown userName is throttled alike; a
// success forgets the failures.
func TestSignInThrottledPerUser(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ts, acct := newThrottleServer(t, b.Open(t))
			net := randomNet64()
			for _, who := range []string{"ann", "ghost"} { // ghost does not exist
				for i := 1; i <= 6; i++ {
					// Each failure from another host: only the userName counts.
					if status, _, e := ts.signIn(t, fmt.Sprintf("%s%x", net, i), acct.Name, who, "wrong"); status != http.StatusUnauthorized {
						t.Fatalf("%s: failure %d: %d %v", who, i, status, e)
					}
				}
			}
			if n := ts.checks.Load(); n != 12 {
				t.Fatalf("%d password checks for 12 failures", n)
			}
			var answers []map[string]any
			for _, who := range []string{"ann", "ghost"} {
				status, retry, e := ts.signIn(t, net+"99", acct.Name, who, "secret-ann")
				if status != http.StatusTooManyRequests || retry != "1" || e["code"] != "too_many_attempts" {
					t.Fatalf("%s after 6 failures: %d, Retry-After %q, %v; want 429, 1, too_many_attempts", who, status, retry, e)
				}
				answers = append(answers, e)
			}
			if fmt.Sprint(answers[0]) != fmt.Sprint(answers[1]) {
				t.Errorf("a known and an unknown userName are told apart: %v and %v", answers[0], answers[1])
			}
			if n := ts.checks.Load(); n != 12 {
				t.Fatalf("throttled sign-ins ran %d password checks", n-12)
			}

			// The next failure, once the block ended, blocks twice as long.
			ts.clock.Advance(time.Second)
			if status, _, _ := ts.signIn(t, net+"1", acct.Name, "ann", "wrong"); status != http.StatusUnauthorized {
				t.Fatalf("failure after the block: %d", status)
			}
			if status, retry, _ := ts.signIn(t, net+"1", acct.Name, "ann", "secret-ann"); status != http.StatusTooManyRequests || retry != "2" {
				t.Fatalf("after the 7th failure: %d, Retry-After %q; want 429, 2", status, retry)
			}
			ts.clock.Advance(2 * time.Second)
			if status, _, e := ts.signIn(t, net+"1", acct.Name, "ANN", "secret-ann"); status != http.StatusOK {
				t.Fatalf("right password after the block: %d %v", status, e)
			}
			// The success forgot ann's failures: five free ones again.
			for i := 1; i <= 6; i++ {
				if status, _, _ := ts.signIn(t, net+"1", acct.Name, "ann", "wrong"); status != http.StatusUnauthorized {
					t.Fatalf("failure %d after a success: %d", i, status)
				}
			}
			if status, _, _ := ts.signIn(t, net+"1", acct.Name, "ann", "secret-ann"); status != http.StatusTooManyRequests {
				t.Fatalf("6 failures after the success: %d, want 429", status)
			}
		})
	}
}

// TestSignInThrottledPerAddress: 20 failures from one IPv6 /64, each on
// another userName, block that /64 (any host of it, any userName) but not
// another one.
func TestSignInThrottledPerAddress(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ts, acct := newThrottleServer(t, b.Open(t))
			net := randomNet64()
			for i := 1; i <= 21; i++ {
				if status, _, e := ts.signIn(t, fmt.Sprintf("%s%x", net, i), acct.Name, fmt.Sprintf("user%d", i), "guess"); status != http.StatusUnauthorized {
					t.Fatalf("failure %d: %d %v", i, status, e)
				}
			}
			checks := ts.checks.Load()
			if status, retry, _ := ts.signIn(t, net+"ffff", acct.Name, "ann", "secret-ann"); status != http.StatusTooManyRequests || retry != "1" {
				t.Fatalf("from the /64 after 21 failures: %d, Retry-After %q; want 429, 1", status, retry)
			}
			if ts.checks.Load() != checks {
				t.Fatal("a throttled address ran a password check")
			}
			if status, _, e := ts.signIn(t, randomNet64()+"1", acct.Name, "ann", "secret-ann"); status != http.StatusOK {
				t.Fatalf("from another /64: %d %v", status, e)
			}
		})
	}
}

// TestPasswordPoolBusyAnswers503: when the hash pool refuses (full lane),
// a SCIM or admin password write and a sign-in answer 503 with
// Retry-After, never 500.
func TestPasswordPoolBusyAnswers503(t *testing.T) {
	store := testenv.SQLite(t)
	catalog := licensing.DefaultCatalog()
	busyHash := func(context.Context, string) (string, error) { return "", password.ErrBusy }
	busyVerify := func(context.Context, string, string) (bool, error) { return false, password.ErrBusy }
	sc, err := scim.New(store, scim.Options{MountPath: server.SCIMPath, DefaultPageSize: 10, MaxPageSize: 10, MaxBodyBytes: testBodyLimit,
		Catalog: catalog, HashPassword: busyHash, VerifyPassword: busyVerify})
	if err != nil {
		t.Fatal(err)
	}
	agents := licensing.NewAgents(store, licensing.SystemClock{}, catalog, licensing.AgentConfig{}, nil)
	ag := agent.New(agent.Options{Store: store, Catalog: catalog, Agents: agents, Verify: busyVerify})
	ad := admin.New(admin.Options{Store: store, Catalog: catalog, HashPassword: busyHash})
	srv := httptest.NewServer(server.New(server.Options{Store: store, Logger: slog.New(slog.DiscardHandler), SCIM: sc, Agent: ag, Admin: ad}))
	defer srv.Close()
	acct, scimToken := testenv.Account(t, store)
	adminToken := testenv.Token(t, store, acct.ID, licensing.ScopeAdmin, licensing.PrivUsers)
	u := agentUser(t, store, acct.ID, "ann", true, licensing.Assignments{})
	for _, c := range []struct {
		name, method, path, token, body string
	}{
		{"scim create", http.MethodPost, "/scim/v2/Users", scimToken, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bob","password":"pw-1"}`},
		{"scim replace", http.MethodPut, "/scim/v2/Users/" + u.ID, scimToken, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ann","password":"pw-2"}`},
		{"admin patch", http.MethodPatch, "/api/v1/admin/users/" + u.ID, adminToken, `{"password":"pw-3"}`},
		{"agent sign-in", http.MethodPost, "/api/v1/agent/signin", "", `{"account":"` + acct.Name + `","userName":"ann","password":"secret-ann"}`},
	} {
		req, _ := http.NewRequest(c.method, srv.URL+c.path, strings.NewReader(c.body))
		req.Header.Set("Content-Type", "application/json")
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
			t.Errorf("%s with the pool busy: %d, Retry-After %q; want 503 with Retry-After", c.name, res.StatusCode, res.Header.Get("Retry-After"))
		}
	}
}
