package server_test

import (
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/elimity-com/scim/schema"

	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/server"
	"github.com/scimd/scimd/storage/sqlstore"
)

func TestMain(m *testing.M) {
	// As in cmd/scimd: Entra sends booleans as strings.
	schema.SetAllowStringValues(true)
	m.Run()
}

// harness is a scimd HTTP server over one store.
type harness struct {
	store *sqlstore.Store
	url   string
}

// testBodyLimit is the body limit of the test server; fixtures rely on it.
const testBodyLimit = 64 << 10

func newHarness(t testing.TB, store *sqlstore.Store) *harness {
	t.Helper()
	sc, err := scim.New(store, scim.Options{
		MountPath:       server.SCIMPath,
		DefaultPageSize: 100,
		MaxPageSize:     200,
		MaxBodyBytes:    testBodyLimit,
		Clock:           licensing.SystemClock{},
	})
	if err != nil {
		t.Fatal(err)
	}
	h := server.New(server.Options{Store: store, Logger: slog.New(slog.DiscardHandler), SCIM: sc})
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return &harness{store: store, url: ts.URL + server.SCIMPath}
}

func (h *harness) account(t testing.TB) (licensing.Account, string) {
	return testenv.Account(t, h.store)
}
