package server_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/scimd/scimd/admin"
	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/server"
)

// TestAdminGroupLicensesLoseRaces: PUT /groups/{id}/licenses that loses
// races to other writes of the group is applied again, as many times as
// SCIM's own writes are (more than a burst of a few racing writers
// costs), and succeeds; one that keeps losing answers the admin API's 503
// problem with Retry-After, never a 409 or a 500, tells nothing of the
// races and changes nothing.
func TestAdminGroupLicensesLoseRaces(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			store := b.Open(t)
			losing := &testenv.LosingStore{Store: store}
			logs := testenv.NewLogs()
			h := newHarness(t, store, func(o *server.Options) {
				// The admin API's writes lose; SCIM's reach the store.
				o.Admin = admin.New(admin.Options{Store: losing, Clock: licensing.SystemClock{}, Catalog: licensing.DefaultCatalog()})
				o.Logger = logs.Logger()
			})
			acct, scim := h.account(t)
			group := scimGroup(t, h, scim, "Tier 1", "")
			products := h.adminToken(t, acct.ID, licensing.PrivProducts)

			losing.Lose.Store(12)
			if status, body := h.admin(t, products, "PUT", "/groups/"+group+"/licenses", `{"remote-support-v5":"named"}`); status != http.StatusOK ||
				jsonString(body["licenses"]) != `{"remote-support-v5":"named"}` {
				t.Errorf("PUT licenses after losing 12 races: %d %v, want 200", status, body)
			}

			// A 503 fails h.admin (no client input may cause a server
			// error), so this one goes to the server directly.
			losing.Lose.Store(1 << 30)
			r := httptest.NewRequest("PUT", h.base+server.AdminPath+"/groups/"+group+"/licenses", strings.NewReader(`{"remote-support-v5":"concurrent"}`))
			r.Header.Set("Authorization", "Bearer "+products)
			r.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			h.echo.ServeHTTP(w, r)
			var problem map[string]any
			_ = json.Unmarshal(w.Body.Bytes(), &problem)
			if w.Code != http.StatusServiceUnavailable || problem["code"] != "unavailable" || w.Header().Get("Retry-After") == "" {
				t.Errorf("PUT licenses losing every race: %d %s (Retry-After %q), want 503 unavailable with Retry-After",
					w.Code, w.Body, w.Header().Get("Retry-After"))
			}
			if raw := w.Body.String(); strings.Contains(raw, "race") || strings.Contains(raw, "stale") {
				t.Errorf("PUT licenses losing every race: internal text reached the client: %s", raw)
			}
			losing.Lose.Store(0)
			if g, err := store.Group(t.Context(), acct.ID, group); err != nil || jsonString(g.Assignments) != `{"remote-support-v5":"named"}` {
				t.Errorf("the group after the lost write: %v %v, want the named license it had", g.Assignments, err)
			}
			if errs := logs.Lines(slog.LevelError); len(errs) > 0 {
				t.Errorf("lost races logged as errors: %v", errs)
			}
		})
	}
}

// TestAdminPasswordHashedOnceLosingRaces: PATCH /users/{id} setting a
// password that loses races to other writes of the user hashes the
// password once, not once per attempt (the hash is slow on purpose), and
// the password it stores is the one sent.
func TestAdminPasswordHashedOnceLosingRaces(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			store := b.Open(t)
			losing := &testenv.LosingStore{Store: store}
			var hashes atomic.Int32
			hash := func(_ context.Context, password string) (string, error) {
				hashes.Add(1)
				return "hash-of-" + password, nil
			}
			h := newHarness(t, store, func(o *server.Options) {
				o.Admin = admin.New(admin.Options{Store: losing, Clock: licensing.SystemClock{}, Catalog: licensing.DefaultCatalog(), HashPassword: hash})
			})
			acct, _ := h.account(t)
			users := h.adminToken(t, acct.ID, licensing.PrivUsers)
			id := adminWant(t, h, users, http.StatusCreated, "", "POST", "/users", `{"userName":"ann@corp.test"}`)["id"].(string)

			losing.Lose.Store(5)
			adminWant(t, h, users, http.StatusOK, "", "PATCH", "/users/"+id, `{"password":"new secret"}`)
			if n := hashes.Load(); n != 1 {
				t.Errorf("the password was hashed %d times for one PATCH that lost 5 races, want once", n)
			}
			if u, err := store.User(t.Context(), acct.ID, id); err != nil || u.PasswordHash != "hash-of-new secret" {
				t.Errorf("the stored hash: %q %v, want the new password's", u.PasswordHash, err)
			}
		})
	}
}
