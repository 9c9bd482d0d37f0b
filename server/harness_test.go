package server_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/elimity-com/scim/schema"
	"github.com/labstack/echo/v4"

	"github.com/scimd/scimd/admin"
	"github.com/scimd/scimd/agent"
	"github.com/scimd/scimd/internal/password"
	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/server"
	"github.com/scimd/scimd/storage/sqlstore"
)

func TestMain(m *testing.M) {
	// As in cmd/scimd: Entra sends booleans as strings.
	schema.SetAllowStringValues(true)
	os.Exit(testenv.Main(m))
}

// harness is a scimd HTTP server over one store.
type harness struct {
	store *sqlstore.Store
	echo  *echo.Echo
	// hits counts the successful answers of the agent and admin APIs per
	// documented operation.
	hits *opHits
	// url is the SCIM base URL; base the server's root.
	url  string
	base string
}

// agentTokenTTL is the life of the agent tokens the test server's admin
// API makes, scimd serve's default.
const agentTokenTTL = 90 * 24 * time.Hour

// testBodyLimit is the body limit of the test server; fixtures rely on it.
const testBodyLimit = 64 << 10

// harnessSignIn is the sign-in throttle of the test server: every test
// signs in from 127.0.0.1, on databases kept across runs, so the address
// is not throttled (throttle_test.go tests it on a server of its own).
var harnessSignIn = licensing.SignInPolicy{AddressFailures: 1 << 30}

// harnessPoll is the waiting agents' poll. Waiters are woken by the
// store's seat changes (Watch), so the poll only makes up for lost ones;
// it also sets a ticket's life (four polls), which must outlast the
// stalls of a loaded machine running -race, or a waiter loses its place
// between two refreshes (seen with 20 ms).
const harnessPoll = 250 * time.Millisecond

// newHarness serves the store; edit, if any, change the server's options.
func newHarness(t testing.TB, store *sqlstore.Store, edit ...func(*server.Options)) *harness {
	t.Helper()
	// As cmd/scimd serve: cursors sealed with the database's key.
	cursors, err := licensing.LoadCursors(t.Context(), store)
	if err != nil {
		t.Fatal(err)
	}
	// As cmd/scimd serve: one hash pool, sign-ins in a lane of their own.
	passwords := password.NewPool(password.PoolOptions{})
	sc, err := scim.New(store, scim.Options{
		MountPath:       server.SCIMPath,
		DefaultPageSize: 100,
		MaxPageSize:     200,
		MaxBodyBytes:    testBodyLimit,
		Clock:           licensing.SystemClock{},
		Catalog:         licensing.DefaultCatalog(),
		HashPassword:    passwords.Hash,
		VerifyPassword:  passwords.Verifier(password.LaneWrite),
		Cursors:         cursors,
	})
	if err != nil {
		t.Fatal(err)
	}
	catalog := licensing.DefaultCatalog()
	agents := licensing.NewAgents(store, licensing.SystemClock{}, catalog, licensing.AgentConfig{MaxWait: 30 * time.Second, Poll: harnessPoll}, nil)
	if err := agents.Watch(t.Context()); err != nil { // waiters woken as scimd serve wakes them
		t.Fatal(err)
	}
	ag := agent.New(agent.Options{Store: store, Clock: licensing.SystemClock{}, Catalog: catalog, Agents: agents,
		Verify: passwords.Verifier(password.LaneSignIn), SignIn: harnessSignIn})
	ad := admin.New(admin.Options{Store: store, Clock: licensing.SystemClock{}, Catalog: catalog, HashPassword: passwords.Hash, AgentTokenTTL: agentTokenTTL, Cursors: cursors})
	opts := server.Options{Store: store, Logger: slog.New(slog.DiscardHandler), SCIM: sc, Agent: ag, Admin: ad, OpenAPI: admin.OpenAPIDocument}
	for _, f := range edit {
		f(&opts)
	}
	h := server.New(opts)
	hits := &opHits{}
	var handler http.Handler = h
	if _, bench := t.(*testing.B); !bench {
		// Benchmarks measure the server, not the validation.
		handler = checkAgainstOpenAPI(t, h, hits)
	}
	ts := httptest.NewServer(handler)
	t.Cleanup(ts.Close)
	return &harness{store: store, echo: h, hits: hits, url: ts.URL + server.SCIMPath, base: ts.URL}
}

func (h *harness) account(t testing.TB) (licensing.Account, string) {
	return testenv.Account(t, h.store)
}

// adminToken makes an admin token of the account with the privileges.
func (h *harness) adminToken(t testing.TB, accountID string, privileges ...licensing.Privilege) string {
	t.Helper()
	return testenv.Token(t, h.store, accountID, licensing.ScopeAdmin, privileges...)
}

// admin calls the admin API (path relative to /api/v1/admin) with a JSON
// body (none if "") and returns the status and the decoded answer.
func (h *harness) admin(t testing.TB, bearer, method, path, body string) (int, map[string]any) {
	t.Helper()
	status, _, raw := send(t, method, h.base+server.AdminPath+path, bearer, "application/json", body)
	return status, decodeObject(t, method+" "+path, raw)
}

// send makes a request with the bearer token (none if "") and returns the
// status, headers and body. A server error fails the test: no client
// input may cause one.
func send(t testing.TB, method, url, bearer, contentType, body string) (int, http.Header, []byte) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	req.Header.Set("Content-Type", contentType)
	return sendRequest(t, req)
}

// sendRequest sends req and returns the status, headers and body of the
// answer, failing the test on a server error.
func sendRequest(t testing.TB, req *http.Request) (int, http.Header, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 500 {
		t.Fatalf("%s %s: server error %d: %s", req.Method, req.URL, resp.StatusCode, raw)
	}
	return resp.StatusCode, resp.Header, raw
}

// decodeObject decodes a JSON object answer, failing the test otherwise.
func decodeObject(t testing.TB, what string, raw []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s: answer is not JSON: %s", what, raw)
		}
	}
	return m
}
