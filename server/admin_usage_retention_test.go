package server_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/scimd/scimd/admin"
	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/server"
)

// TestAdminUsageRetainedFrom checks that a usage report says where the
// seat events it is computed from start being kept (retainedFrom: now
// minus --retain-seat-events, in whole seconds), and says nothing when
// they are kept forever; the answers match the OpenAPI document.
func TestAdminUsageRetainedFrom(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			store := b.Open(t)
			acct, _ := testenv.Account(t, store)
			bearer := testenv.Token(t, store, acct.ID, licensing.ScopeAdmin, licensing.PrivBilling)
			now := time.Now().UTC().Truncate(time.Second).Add(-time.Second / 2)
			clock := testenv.NewClock(now)
			for _, c := range []struct {
				retention licensing.Retention
				want      string
			}{
				// Seat events are purged by whole hours.
				{licensing.Retention{SeatEvents: 400 * 24 * time.Hour}, now.Add(-400 * 24 * time.Hour).Truncate(time.Hour).Format(time.RFC3339)},
				{licensing.Retention{Sessions: time.Hour, Audit: time.Hour}, ""},
			} {
				ad := admin.New(admin.Options{Store: store, Clock: clock, Catalog: licensing.DefaultCatalog(), Retention: c.retention})
				e := server.New(server.Options{Store: store, Clock: clock, Logger: slog.New(slog.DiscardHandler), Admin: ad})
				ts := httptest.NewServer(checkAgainstOpenAPI(t, e, &opHits{}))
				status, _, raw := send(t, "GET", ts.URL+server.AdminPath+"/usage", bearer, "", "")
				ts.Close()
				body := decodeObject(t, "GET /usage", raw)
				if status != http.StatusOK {
					t.Fatalf("GET /usage: %d %v", status, body)
				}
				got, _ := body["retainedFrom"].(string)
				if _, present := body["retainedFrom"]; got != c.want || (c.want == "") == present {
					t.Errorf("retainedFrom with %+v = %v, want %q", c.retention, body["retainedFrom"], c.want)
				}
			}
		})
	}
}
