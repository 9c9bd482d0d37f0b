package scim

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/schemas"
)

// losingStore makes the next lose writes of a user lose their race, as
// when other writes of the same user commit first.
type losingStore struct {
	licensing.Store
	lose atomic.Int64
}

func (s *losingStore) ReplaceUser(ctx context.Context, u licensing.User, expectVersion int64, audit ...licensing.AuditEntry) error {
	if s.lose.Add(-1) >= 0 {
		return licensing.ErrStale
	}
	return s.Store.ReplaceUser(ctx, u, expectVersion, audit...)
}

// TestWritesThatLoseRaces: a PATCH without If-Match that loses races
// tries again (more than a burst of a few racing writers costs) and then
// succeeds; one that keeps losing answers 503, never 412, which is kept
// for an If-Match the client sent.
func TestWritesThatLoseRaces(t *testing.T) {
	base := testenv.SQLite(t)
	acct, _ := testenv.Account(t, base)
	store := &losingStore{Store: base}
	srv, err := New(store, Options{MountPath: "/scim/v2", DefaultPageSize: 10, MaxPageSize: 10, MaxBodyBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	ctx := licensing.WithPrincipal(t.Context(), licensing.Principal{AccountID: acct.ID, Scope: licensing.ScopeSCIM})
	serve := func(method, path, body, ifMatch string) (int, string) {
		r := httptest.NewRequestWithContext(ctx, method, path, strings.NewReader(body))
		r.Header.Set("Content-Type", ContentType)
		if ifMatch != "" {
			r.Header.Set("If-Match", ifMatch)
		}
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r)
		return w.Code, w.Body.String()
	}
	code, body := serve("POST", "/Users", `{"schemas":["`+schemas.UserURN+`"],"userName":"race@example.com"}`, "")
	if code != 201 {
		t.Fatalf("POST: %d %s", code, body)
	}
	id := body[strings.Index(body, `"id":"`)+6:]
	id = id[:strings.IndexByte(id, '"')]
	patch := func(title string) string {
		return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"` + title + `"}]}`
	}

	store.lose.Store(12)
	if code, body := serve("PATCH", "/Users/"+id, patch("after twelve"), ""); code != 200 || !strings.Contains(body, "after twelve") {
		t.Errorf("PATCH after losing 12 races: %d %s", code, body)
	}
	store.lose.Store(1 << 30)
	if code, body := serve("PATCH", "/Users/"+id, patch("never"), ""); code != 503 || strings.Contains(body, "If-Match") {
		t.Errorf("PATCH losing every race, without If-Match: %d %s, want 503", code, body)
	}
	code, body = serve("GET", "/Users/"+id, "", "")
	if code != 200 || !strings.Contains(body, "after twelve") {
		t.Fatalf("GET: %d %s", code, body)
	}
	version := body[strings.Index(body, `"version":"`)+11:]
	version = version[:strings.IndexByte(version, '"')]
	version = strings.ReplaceAll(version, `\"`, `"`)
	if code, body := serve("PATCH", "/Users/"+id, patch("never"), version); code != 412 {
		t.Errorf("PATCH losing its race with If-Match %s: %d %s, want 412", version, code, body)
	}
}
