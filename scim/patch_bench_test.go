package scim

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
)

// The PATCH benchmarks send one PATCH over the whole adapter (body
// rewriting, elimity's validation, applyPatch, validation of the result,
// the store's write) against SQLite. The time per operation or per value
// (ns/op divided by n, reported as ns/item) stays flat as n grows when
// applying a PATCH is linear:
//
//	go test ./scim -run '^$' -bench 'BenchmarkPatch' -benchtime 3x

// benchServer is the adapter over a fresh SQLite store, with limits large
// enough for the benchmarks' bodies, and the context of its account.
func benchServer(b *testing.B) (*Server, context.Context) {
	b.Helper()
	store := testenv.SQLite(b)
	acct, _ := testenv.Account(b, store)
	srv, err := New(store, Options{
		MountPath: "/scim/v2", DefaultPageSize: 100, MaxPageSize: 100,
		MaxBodyBytes: 64 << 20, MaxPatchOperations: 1 << 20, MaxMultiValues: 1 << 20,
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx := licensing.WithPrincipal(context.Background(), licensing.Principal{AccountID: acct.ID, Scope: licensing.ScopeSCIM})
	return srv, ctx
}

// benchSend serves one request and fails unless it answers want.
func benchSend(b *testing.B, srv *Server, ctx context.Context, method, path, body string, want int) string {
	b.Helper()
	r := httptest.NewRequestWithContext(ctx, method, path, strings.NewReader(body))
	r.Header.Set("Content-Type", ContentType)
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, r)
	if w.Code != want {
		b.Fatalf("%s %s: %d %s", method, path, w.Code, w.Body.String())
	}
	return w.Body.String()
}

// createdID returns the id of a resource a POST answered.
func createdID(b *testing.B, body string) string {
	b.Helper()
	i := strings.Index(body, `"id":"`)
	if i < 0 {
		b.Fatalf("no id in %s", body)
	}
	rest := body[i+len(`"id":"`):]
	return rest[:strings.IndexByte(rest, '"')]
}

// patchBody is a PATCH body with the operations.
func patchBody(ops []string) string {
	return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` + strings.Join(ops, ",") + `]}`
}

// reportPerItem reports the time per operation or value.
func reportPerItem(b *testing.B, n int) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/item")
}

// BenchmarkPatchUserEmails adds n e-mail addresses to a user, one add
// operation each (the PATCH the issue measured at 14 s for 8,000).
func BenchmarkPatchUserEmails(b *testing.B) {
	for _, n := range []int{1000, 4000, 8000} {
		b.Run(fmt.Sprintf("ops=%d", n), func(b *testing.B) {
			srv, ctx := benchServer(b)
			ops := make([]string, n)
			for i := range ops {
				ops[i] = fmt.Sprintf(`{"op":"add","path":"emails","value":[{"value":"a%d@example.com","type":"work"}]}`, i)
			}
			body := patchBody(ops)
			i := 0
			for b.Loop() {
				b.StopTimer()
				i++
				id := createdID(b, benchSend(b, srv, ctx, http.MethodPost, "/Users", fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"u%d@example.com"}`, i), http.StatusCreated))
				b.StartTimer()
				benchSend(b, srv, ctx, http.MethodPatch, "/Users/"+id, body, http.StatusOK)
			}
			reportPerItem(b, n)
		})
	}
}

// BenchmarkPatchGroupMembers adds n users to an empty group, as one add
// operation listing them all and as n add operations of one member each,
// and removes them all from a full group, as n operations removing one
// member each, by filter (Okta) and by value (Entra).
func BenchmarkPatchGroupMembers(b *testing.B) {
	for _, n := range []int{2500, 10000} {
		srv, ctx := benchServer(b)
		p, _ := licensing.PrincipalFrom(ctx)
		ids := make([]string, n)
		now := time.Now().UTC()
		for i := range ids {
			ids[i] = licensing.NewID()
			u := licensing.User{AccountID: p.AccountID, ID: ids[i], UserName: fmt.Sprintf("m%d@example.com", i), Active: true,
				Doc: []byte(`{}`), Created: now, LastModified: now, Version: 1}
			if err := srv.store.CreateUser(ctx, u); err != nil {
				b.Fatal(err)
			}
		}
		values := make([]string, n)
		ops := make([]string, n)
		byFilter := make([]string, n)
		byValue := make([]string, n)
		for i, id := range ids {
			values[i] = `{"value":"` + id + `"}`
			ops[i] = `{"op":"add","path":"members","value":[{"value":"` + id + `"}]}`
			byFilter[i] = `{"op":"remove","path":"members[value eq \"` + id + `\"]"}`
			byValue[i] = `{"op":"Remove","path":"members","value":[{"value":"` + id + `"}]}`
		}
		all := `[` + strings.Join(values, ",") + `]`
		for _, shape := range []struct{ name, members, body string }{
			{"one-op", "[]", patchBody([]string{`{"op":"add","path":"members","value":` + all + `}`})},
			{"ops", "[]", patchBody(ops)},
			{"remove-by-filter", all, patchBody(byFilter)},
			{"remove-by-value", all, patchBody(byValue)},
		} {
			b.Run(fmt.Sprintf("%s/members=%d", shape.name, n), func(b *testing.B) {
				for b.Loop() {
					b.StopTimer()
					// A new name each time: -count runs this function
					// again against the same server.
					id := createdID(b, benchSend(b, srv, ctx, http.MethodPost, "/Groups", fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"%s %s","members":%s}`, shape.name, licensing.NewID(), shape.members), http.StatusCreated))
					b.StartTimer()
					benchSend(b, srv, ctx, http.MethodPatch, "/Groups/"+id, shape.body, http.StatusOK)
				}
				reportPerItem(b, n)
			})
		}
	}
}
