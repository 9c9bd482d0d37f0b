package scim

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/schemas"
)

// TestWritesThatLoseRaces: a PATCH without If-Match that loses races
// tries again (more than a burst of a few racing writers costs) and then
// succeeds; one that keeps losing answers 503, never 412, which is kept
// for an If-Match the client sent.
func TestWritesThatLoseRaces(t *testing.T) {
	base := testenv.SQLite(t)
	acct, _ := testenv.Account(t, base)
	store := &testenv.LosingStore{Store: base}
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

	store.Lose.Store(12)
	if code, body := serve("PATCH", "/Users/"+id, patch("after twelve"), ""); code != 200 || !strings.Contains(body, "after twelve") {
		t.Errorf("PATCH after losing 12 races: %d %s", code, body)
	}
	store.Lose.Store(1 << 30)
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
