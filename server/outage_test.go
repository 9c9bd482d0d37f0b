package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/outage"
	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/server"
	"github.com/scimd/scimd/storage/sqlstore"
)

// TestDatabaseOutage cuts the database under load and checks what issue
// 10 asks of an outage: every answer during the cut is the request's
// expected one or a 503 with Retry-After in the API's own format, none is
// a 500; both replicas serve again without a restart; the log holds a
// bounded number of lines and no error; the seat counters equal the open
// sessions; and the seat listener is back (a wake-up sent after the
// recovery arrives). On PostgreSQL a TCP proxy between the replicas and
// the database is cut; on SQLite a writer of another process holds the
// file past the busy timeout.
func TestDatabaseOutage(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			if b.Name == "sqlite" {
				testSQLiteBusy(t)
				return
			}
			testPostgresCut(t, b)
		})
	}
}

// replica is one scimd process of the outage test: its store, server,
// outage monitor and log.
type replica struct {
	store *sqlstore.Store
	h     *harness
	mon   *outage.Monitor
	logs  *testenv.Logs
}

// startReplica opens a store on url and serves it, logging into a Logs
// with the outage monitor of scimd serve (probing often: the test waits
// for it).
func startReplica(t *testing.T, url string) *replica {
	t.Helper()
	logs := testenv.NewLogs()
	store, err := sqlstore.Open(url, logs.Logger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if _, err := store.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	mon := outage.New(t.Context(), outage.Options{Probe: store.Ping, Logger: logs.Logger(), Poll: 50 * time.Millisecond})
	store.OnUnavailable(mon.Failed)
	h := newHarness(t, store, func(o *server.Options) { o.Logger = logs.Logger() })
	return &replica{store: store, h: h, mon: mon, logs: logs}
}

// outageClient sends the test's requests and checks every answer: a
// status the call expects, or a 503 with Retry-After in the API's error
// format (when allowed); never any other status.
type outageClient struct {
	t      *testing.T
	client *http.Client
	// allow503 is set while the database may be unavailable.
	allow503 atomic.Bool
	mu       sync.Mutex
	statuses map[int]int
}

func newOutageClient(t *testing.T) *outageClient {
	return &outageClient{t: t, client: &http.Client{Timeout: 30 * time.Second}, statuses: map[int]int{}}
}

// do sends the request and returns the status and the decoded JSON
// answer; ok lists the statuses the call expects besides 503.
func (c *outageClient) do(method, url, bearer, body string, ok ...int) (int, map[string]any) {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		c.t.Error(err)
		return 0, nil
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		c.t.Errorf("%s %s: %v", method, url, err)
		return 0, nil
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	c.mu.Lock()
	c.statuses[resp.StatusCode]++
	c.mu.Unlock()
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	scim := strings.Contains(url, "/scim/v2/")
	switch {
	case resp.StatusCode == http.StatusServiceUnavailable && c.allow503.Load():
		wantType, field, want := "application/problem+json", "code", any("unavailable")
		if scim {
			wantType, field, want = "application/scim+json", "status", any("503")
		}
		if resp.Header.Get("Retry-After") == "" || !strings.HasPrefix(resp.Header.Get("Content-Type"), wantType) || m[field] != want {
			c.t.Errorf("%s %s: 503 without Retry-After or not as %s: %v %s", method, url, wantType, resp.Header, raw)
		}
	case !slices.Contains(ok, resp.StatusCode):
		c.t.Errorf("%s %s: status %d, want one of %v (or 503 during the outage): %s", method, url, resp.StatusCode, ok, raw)
	}
	return resp.StatusCode, m
}

// count returns how many answers had the status.
func (c *outageClient) count(status int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.statuses[status]
}

func testPostgresCut(t *testing.T, b testenv.Backend) {
	proxy, url := testenv.ProxyURL(t, b.URL(t))
	replicas := []*replica{startReplica(t, url), startReplica(t, url)}
	store := replicas[0].store
	ctx := t.Context()

	acct, scimToken := testenv.Account(t, store)
	adminToken := testenv.Token(t, store, acct.ID, licensing.ScopeAdmin, licensing.PrivRead, licensing.PrivSessions)
	const rs4 = "remote-support-v4"
	for _, p := range []licensing.Plan{
		{AccountID: acct.ID, ProductID: rs5, ConcurrentSeats: 3},
		{AccountID: acct.ID, ProductID: rs4, ConcurrentSeats: 1},
	} {
		if err := store.SetPlan(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	// Six agents share the three seats of rs5; two share the one of rs4
	// for the wake-up after the recovery.
	agentTokens := make([]string, 8)
	for i := range agentTokens {
		product := rs5
		if i >= 6 {
			product = rs4
		}
		now := time.Now().UTC()
		u := licensing.User{AccountID: acct.ID, ID: licensing.NewID(), UserName: fmt.Sprintf("agent%d", i), Active: true, Doc: []byte(`{}`),
			Created: now, LastModified: now, Version: 1, Assignments: licensing.Assignments{product: licensing.LicenseConcurrent}}
		if err := store.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		_, bearer, err := licensing.IssueAgentToken(ctx, store, licensing.SystemClock{}, acct.ID, u.ID, "agent", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		agentTokens[i] = bearer
	}
	// The seat changes replica 0 hears, from before the cut on.
	changes, err := store.WatchSeats(ctx)
	if err != nil {
		t.Fatal(err)
	}

	c := newOutageClient(t)
	c.allow503.Store(true)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	loop := func(work func(i int)) {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				work(i)
			}
		})
	}
	for ri, r := range replicas {
		loop(func(i int) {
			name := fmt.Sprintf("u%d-%d@example.com", ri, i)
			c.do("POST", r.h.url+"/Users", scimToken, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"`+name+`"}`, http.StatusCreated)
			c.do("GET", r.h.url+"/Users?filter="+queryEscape(`userName eq "`+name+`"`), scimToken, "", http.StatusOK)
		})
		loop(func(int) {
			c.do("GET", r.h.base+"/api/v1/admin/users?count=5", adminToken, "", http.StatusOK)
			c.do("GET", r.h.base+"/api/v1/admin/sessions", adminToken, "", http.StatusOK)
		})
	}
	for i, token := range agentTokens[:6] {
		r := replicas[i%2]
		loop(func(int) {
			status, body := c.do("POST", r.h.base+"/api/v1/agent/sessions", token, `{"product":"`+rs5+`","platform":"windows"}`, http.StatusCreated, http.StatusConflict)
			if status != http.StatusCreated {
				return
			}
			id, _ := body["id"].(string)
			// Ended through the other replica; a 503 leaves it open.
			other := replicas[(i+1)%2]
			c.do("DELETE", other.h.base+"/api/v1/agent/sessions/"+id, token, "", http.StatusOK)
		})
	}

	time.Sleep(300 * time.Millisecond) // load before the cut
	proxy.Cut()
	time.Sleep(200 * time.Millisecond)
	for i, r := range replicas {
		resp, err := http.Get(r.h.base + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("replica %d: /readyz answered %d during the cut, want 503", i, resp.StatusCode)
		}
	}
	time.Sleep(1300 * time.Millisecond)
	proxy.Restore(t)
	restored := time.Now()
	for _, r := range replicas {
		waitReady(t, r)
	}
	time.Sleep(300 * time.Millisecond) // load after the recovery
	close(stop)
	wg.Wait()
	if c.count(http.StatusServiceUnavailable) == 0 {
		t.Error("no request answered 503: the cut did not reach the load")
	}
	if c.count(http.StatusInternalServerError) != 0 {
		t.Errorf("%d requests answered 500", c.count(http.StatusInternalServerError))
	}

	// Full service: no 503 any more, on every API of both replicas.
	c.allow503.Store(false)
	for _, r := range replicas {
		c.do("GET", r.h.url+"/Users?count=2", scimToken, "", http.StatusOK)
		c.do("GET", r.h.base+"/api/v1/admin/sessions", adminToken, "", http.StatusOK)
		c.do("GET", r.h.base+"/api/v1/agent/sessions", agentTokens[0], "", http.StatusOK)
	}

	// The seat counters equal the open sessions.
	usage, err := store.Usage(ctx, acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	open, err := store.OpenSessions(ctx, acct.ID, rs5)
	if err != nil {
		t.Fatal(err)
	}
	holders := map[string]bool{}
	for _, s := range open {
		holders[s.UserID] = true
	}
	for _, u := range usage {
		if u.ProductID == rs5 && u.ConcurrentOccupied != len(holders) {
			t.Errorf("rs5: %d seats counted occupied, %d users hold open sessions", u.ConcurrentOccupied, len(holders))
		}
	}

	// No write half applied: every user the load created through SCIM
	// has its audit entry, written in the same transaction.
	_, list := c.do("GET", replicas[0].h.url+"/Users?count=1", scimToken, "", http.StatusOK)
	total, _ := list["totalResults"].(float64)
	audit, err := store.AuditLog(ctx, acct.ID, licensing.AuditQuery{Action: "user.create", Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	if created := int(total) - len(agentTokens); created != len(audit.Items) || created == 0 {
		t.Errorf("%d users created through SCIM, %d user.create audit entries", created, len(audit.Items))
	}

	// The listener is back: it told of the reconnection (a change of
	// any line), and a seat freed through replica 1 while an agent waits
	// on replica 0 reaches replica 0 as a change of its line.
	for reconnected, timeout := false, time.After(10*time.Second); !reconnected; {
		select {
		case ch := <-changes:
			reconnected = ch.AccountID == ""
		case <-timeout:
			t.Fatal("the seat listener did not tell of its reconnection")
		}
	}
	t.Logf("listener back %v after the proxy", time.Since(restored))
	status, first := c.do("POST", replicas[1].h.base+"/api/v1/agent/sessions", agentTokens[6], `{"product":"`+rs4+`","platform":"windows"}`, http.StatusCreated)
	if status != http.StatusCreated {
		t.Fatalf("the first rs4 agent got no seat: %d", status)
	}
	waited := make(chan int, 1)
	go func() {
		status, _ := c.do("POST", replicas[0].h.base+"/api/v1/agent/sessions", agentTokens[7], `{"product":"`+rs4+`","platform":"windows","wait":20}`, http.StatusCreated)
		waited <- status
	}()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		n, err := store.Waiting(ctx, acct.ID, rs4, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the second rs4 agent never waited")
		}
	}
	c.do("DELETE", replicas[1].h.base+"/api/v1/agent/sessions/"+first["id"].(string), agentTokens[6], "", http.StatusOK)
	freed := time.Now()
	heard := false
	for timeout := time.After(10 * time.Second); !heard; {
		select {
		case ch := <-changes:
			heard = ch.AccountID == acct.ID && ch.ProductID == rs4
		case <-timeout:
			t.Fatal("replica 0 never heard of the seat freed through replica 1")
		}
	}
	t.Logf("seat change heard %v after it was made", time.Since(freed))
	if status := <-waited; status != http.StatusCreated {
		t.Errorf("the waiting agent: %d, want 201", status)
	}

	// Bounded logs: besides the request lines, a handful per replica
	// (the monitor's warning and recovery, the listeners' loss and
	// return), however many requests failed; none at ERROR.
	for i, r := range replicas {
		lines := r.logs.Lines(slog.LevelInfo, "request", "database opened")
		if len(lines) > 12 {
			t.Errorf("replica %d logged %d lines in a 1.5 s outage, want a handful:\n%v", i, len(lines), lines)
		}
		if errs := r.logs.Lines(slog.LevelError); len(errs) > 0 {
			t.Errorf("replica %d logged errors: %v", i, errs)
		}
		if hasLine(lines, "readiness check failed") {
			t.Errorf("replica %d: a failed readiness check during the outage was logged above debug", i)
		}
		if !hasLine(lines, "database unavailable: requests that need it answer 503 until it is back") || !hasLine(lines, "database available again") {
			t.Errorf("replica %d: the outage's start or end is not logged: %v", i, lines)
		}
		t.Logf("replica %d: %d lines besides requests: %v", i, len(lines), lines)
	}
	t.Logf("answers: %v", c.statuses)
}

// waitReady waits until the replica's /readyz answers 200 and its outage
// monitor saw the database back.
func waitReady(t *testing.T, r *replica) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get(r.h.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && !r.mon.Down() {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the replica did not come back")
		}
	}
}

func hasLine(lines []testenv.LogLine, msg string) bool {
	for _, l := range lines {
		if l.Message == msg {
			return true
		}
	}
	return false
}

func queryEscape(s string) string { return url.QueryEscape(s) }

// testSQLiteBusy holds the database file's write lock from another
// connection past the store's busy timeout: writes answer 503 with
// Retry-After, nothing is written, nothing is logged at ERROR, and the
// writes succeed once the lock is gone.
func testSQLiteBusy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "scimd.db")
	r := startReplica(t, "sqlite:"+path+"?_pragma=busy_timeout(50)")
	acct, scimToken := testenv.Account(t, r.store)
	adminToken := testenv.Token(t, r.store, acct.ID, licensing.ScopeAdmin, licensing.PrivRead, licensing.PrivUsers)

	unlock := testenv.LockSQLite(t, path)
	c := newOutageClient(t)
	c.allow503.Store(true)
	scimUser := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ann@example.com"}`
	for range 20 {
		c.do("POST", r.h.url+"/Users", scimToken, scimUser, http.StatusServiceUnavailable)
		c.do("POST", r.h.base+"/api/v1/admin/users", adminToken, `{"userName":"bob@example.com"}`, http.StatusServiceUnavailable)
	}
	if n := c.count(http.StatusServiceUnavailable); n != 40 {
		t.Errorf("%d of 40 writes answered 503", n)
	}
	unlock()
	c.allow503.Store(false)
	c.do("POST", r.h.url+"/Users", scimToken, scimUser, http.StatusCreated)
	c.do("POST", r.h.base+"/api/v1/admin/users", adminToken, `{"userName":"bob@example.com"}`, http.StatusCreated)
	if errs := r.logs.Lines(slog.LevelError); len(errs) > 0 {
		t.Errorf("logged errors: %v", errs)
	}
	if warns := r.logs.Lines(slog.LevelWarn); len(warns) != 1 {
		t.Errorf("40 failed writes logged %d warnings, want the outage's one: %v", len(warns), warns)
	}
}
