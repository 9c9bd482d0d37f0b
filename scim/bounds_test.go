package scim

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/schemas"
)

// Tests of the bounds of bounds.go.

// TestBoundsAreConfigurable: Options.MaxPatchOperations and
// Options.MaxMultiValues set the limits (cmd passes the flags
// --max-patch-operations and --max-multi-values), and a negative one is
// refused.
func TestBoundsAreConfigurable(t *testing.T) {
	store := testenv.SQLite(t)
	acct, _ := testenv.Account(t, store)
	srv, err := New(store, Options{MountPath: "/scim/v2", DefaultPageSize: 1, MaxPageSize: 1, MaxBodyBytes: 1 << 20, MaxPatchOperations: 2, MaxMultiValues: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx := licensing.WithPrincipal(t.Context(), licensing.Principal{AccountID: acct.ID, Scope: licensing.ScopeSCIM})
	serve := func(method, path, body string) (int, string) {
		r := httptest.NewRequestWithContext(ctx, method, path, strings.NewReader(body))
		r.Header.Set("Content-Type", ContentType)
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r)
		return w.Code, w.Body.String()
	}
	user := `{"schemas":["` + schemas.UserURN + `"],"userName":"a@example.com","emails":[{"value":"1@x"},{"value":"2@x"}`
	if code, body := serve("POST", "/Users", user+`,{"value":"3@x"}]}`); code != 400 || !strings.Contains(body, `\"emails\" has 3 values; at most 2`) {
		t.Errorf("POST with 3 emails: %d %s", code, body)
	}
	code, body := serve("POST", "/Users", user+`]}`)
	if code != 201 {
		t.Fatalf("POST with 2 emails: %d %s", code, body)
	}
	id := body[strings.Index(body, `"id":"`)+6:]
	id = id[:strings.IndexByte(id, '"')]
	op := `{"op":"replace","path":"title","value":"t"}`
	patch := func(ops ...string) string {
		return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` + strings.Join(ops, ",") + `]}`
	}
	if code, body := serve("PATCH", "/Users/"+id, patch(op, op, op)); code != 400 || !strings.Contains(body, "3 operations; at most 2") {
		t.Errorf("PATCH of 3 operations: %d %s", code, body)
	}
	if code, body := serve("PATCH", "/Users/"+id, patch(op, op)); code != 200 {
		t.Errorf("PATCH of 2 operations: %d %s", code, body)
	}
	if _, err := New(store, Options{DefaultPageSize: 1, MaxPageSize: 1, MaxBodyBytes: 1, MaxMultiValues: -1}); err == nil {
		t.Error("New accepted a negative limit")
	}
}
