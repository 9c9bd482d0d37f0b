package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
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

// downStore is a store whose reads and writes of users and seats fail
// with licensing.ErrUnavailable, as the store reports a database it
// cannot reach (or with what fail returns, if set); token lookups fail
// the same way while tokensDown is set.
type downStore struct {
	licensing.Store
	tokensDown atomic.Bool
	fail       func(context.Context) error
}

var errDown = fmt.Errorf("sqlstore: users: connection refused: %w", licensing.ErrUnavailable)

func (s *downStore) err(ctx context.Context) error {
	if s.fail != nil {
		return s.fail(ctx)
	}
	return errDown
}

func (s *downStore) Token(ctx context.Context, id string) (licensing.Token, error) {
	if s.tokensDown.Load() {
		return licensing.Token{}, s.err(ctx)
	}
	return s.Store.Token(ctx, id)
}
func (s *downStore) Users(ctx context.Context, _ string, _ licensing.Query) (licensing.Page[licensing.User], error) {
	return licensing.Page[licensing.User]{}, s.err(ctx)
}
func (s *downStore) User(ctx context.Context, _, _ string) (licensing.User, error) {
	return licensing.User{}, s.err(ctx)
}
func (s *downStore) CreateUser(ctx context.Context, _ licensing.User, _ ...licensing.AuditEntry) error {
	return s.err(ctx)
}
func (s *downStore) Usage(ctx context.Context, _ string) ([]licensing.Usage, error) {
	return nil, s.err(ctx)
}

func (s *downStore) UserOpenSessions(ctx context.Context, _, _ string) ([]licensing.Session, error) {
	return nil, s.err(ctx)
}

// serveDown serves the APIs over store (no password hashing), logging to
// log and telling requests (if set) of every answer.
func serveDown(t *testing.T, store licensing.Store, log *slog.Logger, requests server.RequestObserver) *httptest.Server {
	t.Helper()
	catalog := licensing.DefaultCatalog()
	sc, err := scim.New(store, scim.Options{MountPath: server.SCIMPath, DefaultPageSize: 10, MaxPageSize: 10, MaxBodyBytes: testBodyLimit, Catalog: catalog})
	if err != nil {
		t.Fatal(err)
	}
	agents := licensing.NewAgents(store, licensing.SystemClock{}, catalog, licensing.AgentConfig{}, nil)
	ag := agent.New(agent.Options{Store: store, Catalog: catalog, Agents: agents, Verify: password.NewPool(password.PoolOptions{}).Verifier(password.LaneSignIn)})
	ad := admin.New(admin.Options{Store: store, Catalog: catalog})
	ts := httptest.NewServer(server.New(server.Options{Store: store, Logger: log, SCIM: sc, Agent: ag, Admin: ad, Requests: requests}))
	t.Cleanup(ts.Close)
	return ts
}

// downCall is a request of the tests over a downStore.
type downCall struct {
	name, method, path, token, body, contentType string
}

// downCalls are requests of every API that reach the store's users or
// sessions, for the user u of the account.
func downCalls(t *testing.T, real licensing.Store, acct licensing.Account, scimToken string) []downCall {
	t.Helper()
	_, adminToken, err := licensing.IssueAdminToken(t.Context(), real, licensing.SystemClock{}, acct.ID, "admin", licensing.AllPrivileges)
	if err != nil {
		t.Fatal(err)
	}
	u := licensing.User{AccountID: acct.ID, ID: licensing.NewID(), UserName: "ann@example.com", Active: true, Version: 1, Created: time.Now(), LastModified: time.Now()}
	if err := real.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	_, agentToken, err := licensing.IssueAgentToken(t.Context(), real, licensing.SystemClock{}, acct.ID, u.ID, "agent", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return []downCall{
		{"scim list", http.MethodGet, "/scim/v2/Users?filter=" + strings.ReplaceAll(`userName eq "x"`, " ", "%20"), scimToken, "", "application/scim+json"},
		{"scim get", http.MethodGet, "/scim/v2/Users/" + u.ID, scimToken, "", "application/scim+json"},
		{"scim entitlements", http.MethodGet, "/scim/v2/Entitlements", scimToken, "", "application/scim+json"},
		{"scim entitlement", http.MethodGet, "/scim/v2/Entitlements/remote-support-v5:named", scimToken, "", "application/scim+json"},
		{"scim create", http.MethodPost, "/scim/v2/Users", scimToken, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bob@example.com"}`, "application/scim+json"},
		{"admin list", http.MethodGet, "/api/v1/admin/users", adminToken, "", "application/problem+json"},
		{"admin create", http.MethodPost, "/api/v1/admin/users", adminToken, `{"userName":"bob@example.com"}`, "application/problem+json"},
		{"agent sessions", http.MethodGet, "/api/v1/agent/sessions", agentToken, "", "application/problem+json"},
	}
}

// TestUnavailableAnswers503 checks that a store reporting ErrUnavailable
// makes every API answer 503 with Retry-After, in its own error format,
// and never 500, both in the handlers and in the authentication that
// runs before them.
//
// A deadline that passed (context.DeadlineExceeded, such as a write
// deadline) is answered the same way; neither is logged as an error.
func TestUnavailableAnswers503(t *testing.T) {
	real := testenv.SQLite(t)
	store := &downStore{Store: real}
	logs := testenv.NewLogs()
	ts := serveDown(t, store, logs.Logger(), nil)
	acct, scimToken := testenv.Account(t, real)
	calls := downCalls(t, real, acct, scimToken)
	deadline := fmt.Errorf("sqlstore: users: %w", context.DeadlineExceeded)
	for _, kind := range []string{"unavailable", "deadline", "unavailable (token lookup down)", "deadline (token lookup down)"} {
		store.tokensDown.Store(strings.Contains(kind, "token"))
		store.fail = nil
		if strings.HasPrefix(kind, "deadline") {
			store.fail = func(context.Context) error { return deadline }
		}
		for _, c := range calls {
			name := c.name + ": " + kind
			req, _ := http.NewRequest(c.method, ts.URL+c.path, strings.NewReader(c.body))
			req.Header.Set("Authorization", "Bearer "+c.token)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusServiceUnavailable {
				t.Errorf("%s: status %d, want 503: %s", name, resp.StatusCode, raw)
				continue
			}
			if got := resp.Header.Get("Retry-After"); got == "" {
				t.Errorf("%s: no Retry-After header", name)
			}
			if got := resp.Header.Get("Content-Type"); !strings.HasPrefix(got, c.contentType) {
				t.Errorf("%s: Content-Type %q, want %s", name, got, c.contentType)
			}
			var body map[string]any
			if err := json.Unmarshal(raw, &body); err != nil {
				t.Errorf("%s: answer is not JSON: %s", name, raw)
				continue
			}
			if strings.Contains(string(raw), "connection refused") {
				t.Errorf("%s: internal error text reached the client: %s", name, raw)
			}
			if c.contentType == "application/problem+json" && body["code"] != "unavailable" {
				t.Errorf("%s: code %v, want unavailable", name, body["code"])
			}
			if c.contentType == "application/scim+json" && body["status"] != "503" {
				t.Errorf("%s: SCIM status %v, want \"503\"", name, body["status"])
			}
		}
	}
	if errs := logs.Lines(slog.LevelError); len(errs) > 0 {
		t.Errorf("503s logged as errors: %v", errs)
	}
}
