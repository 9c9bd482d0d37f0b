package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/server"
	"github.com/scimd/scimd/storage/sqlstore"
)

// deepening is a store that nests every list filter in more negations
// than the store runs (sqlstore refuses over 100), as a query the store
// cannot run.
type deepening struct{ *sqlstore.Store }

func deepen(q licensing.Query) licensing.Query {
	c := q.Filter
	if c == nil {
		c = licensing.And{}
	}
	for range 200 {
		c = licensing.Not{Cond: licensing.Not{Cond: c}}
	}
	q.Filter = c
	return q
}

func (d deepening) Users(ctx context.Context, accountID string, q licensing.Query) (licensing.Page[licensing.User], error) {
	return d.Store.Users(ctx, accountID, deepen(q))
}

func (d deepening) Groups(ctx context.Context, accountID string, q licensing.Query) (licensing.Page[licensing.Group], error) {
	return d.Store.Groups(ctx, accountID, deepen(q))
}

// TestFilterTheStoreRefuses: a query that the store refuses to run is
// the filter's fault: 400 invalidFilter, not invalidCursor and not 500, on
// both backends, whether or not the list pages by cursor. Since filters
// became flat (an or-chain is one level however long) the SCIM adapter's
// own limits refuse every filter the store would (a chain of 70 or's used
// to be one; TestFilterShapes checks it now runs), so the store refuses
// here because the test deepens every query beyond its guard.
func TestFilterTheStoreRefuses(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			store := b.Open(t)
			_, bearer := testenv.Account(t, store)
			sc, err := scim.New(deepening{store}, scim.Options{MountPath: server.SCIMPath, DefaultPageSize: 10, MaxPageSize: 10, MaxBodyBytes: testBodyLimit})
			if err != nil {
				t.Fatal(err)
			}
			ts := httptest.NewServer(server.New(server.Options{Store: store, Logger: slog.New(slog.DiscardHandler), SCIM: sc}))
			t.Cleanup(ts.Close)
			for _, query := range []string{"", "?filter=" + url.QueryEscape(`userName eq "a"`), "?cursor=", "?filter=" + url.QueryEscape(`displayName pr`) + "&cursor="} {
				for _, list := range []string{"/Users", "/Groups"} {
					status, _, raw := send(t, "GET", ts.URL+server.SCIMPath+list+query, bearer, "", "")
					var e struct{ ScimType, Status string }
					if err := json.Unmarshal(raw, &e); err != nil || status != http.StatusBadRequest || e.ScimType != "invalidFilter" || e.Status != "400" {
						t.Errorf("GET %s%s: %d %s", list, query, status, raw)
					}
				}
			}
		})
	}
}

// TestFilterShapes: filters nested deeper than 16 levels (in the text or
// in the condition) or holding more than 1000 comparisons answer 400
// invalidFilter on both backends (20 nested not's answered 500 on
// SQLite); the deepest and longest filters admitted run on both, long
// chains of or's included (a chain of 70 used to be refused).
func TestFilterShapes(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			h := newHarness(t, b.Open(t))
			_, bearer := h.account(t)
			for _, name := range []string{"ann", "bob", "cat"} {
				status, _, raw := send(t, "POST", h.url+"/Users", bearer, "application/scim+json",
					`{`+userSchema+`,"userName":"`+name+`","title":"t-`+name+`","emails":[{"value":"`+name+`@example.com","type":"work"}]}`)
				if status != http.StatusCreated {
					t.Fatalf("POST %s: %d %s", name, status, raw)
				}
			}
			list := func(filter string) (int, []byte) {
				t.Helper()
				status, _, raw := send(t, "GET", h.url+"/Users?attributes=userName&filter="+url.QueryEscape(filter), bearer, "", "")
				return status, raw
			}
			nots := func(n int, inner string) string {
				return strings.Repeat("not (", n) + inner + strings.Repeat(")", n)
			}
			chain := func(n int, op string, term func(i int) string) string {
				terms := make([]string, n)
				for i := range terms {
					terms[i] = term(i)
				}
				return strings.Join(terms, " "+op+" ")
			}
			// and/or nests a filter in levels of parentheses, each
			// holding an or of an and: two levels of the condition per
			// level of the text.
			andOr := func(levels int, inner string) string {
				f := inner
				for i := range levels {
					f = fmt.Sprintf(`title eq "x%d" or title pr and (%s)`, i, f)
				}
				return f
			}
			for _, c := range []struct {
				name, filter string
				want         []string // userNames selected; nil: refused
				detail       string
			}{
				{"16 nested not's", nots(16, `userName eq "bob"`), []string{"bob"}, ""},
				{"15 nested not's", nots(15, `userName eq "bob"`), []string{"ann", "cat"}, ""},
				{"17 nested not's", nots(17, `userName eq "bob"`), nil, "nests deeper than 16 levels"},
				{"20 nested not's", nots(20, `userName eq "bob"`), nil, "nests deeper than 16 levels"},
				{"8 levels of or and and", andOr(7, `emails[type eq "work" and value eq "cat@example.com"]`), []string{"cat"}, ""},
				{"9 levels of or and and", andOr(9, `userName eq "cat"`), nil, "nests deeper than 16 levels"},
				{"a chain of 70 or's", chain(70, "or", func(i int) string { return fmt.Sprintf(`userName eq "u%d"`, i) }) + ` or userName eq "ann"`, []string{"ann"}, ""},
				{"a chain of 500 or's", chain(499, "or", func(i int) string { return fmt.Sprintf(`emails.value eq "u%d"`, i) }) + ` or title eq "t-bob"`, []string{"bob"}, ""},
				{"1000 comparisons", chain(1000, "and", func(i int) string { return fmt.Sprintf(`title ne "%d"`, i) }), []string{"ann", "bob", "cat"}, ""},
				{"1001 comparisons", chain(1001, "and", func(i int) string { return fmt.Sprintf(`title ne "%d"`, i) }), nil, "1001 comparisons; at most 1000"},
			} {
				status, raw := list(c.filter)
				if c.want == nil {
					var e struct{ ScimType, Status, Detail string }
					if err := json.Unmarshal(raw, &e); err != nil || status != http.StatusBadRequest || e.ScimType != "invalidFilter" || !strings.Contains(e.Detail, c.detail) {
						t.Errorf("%s: %d %s, want 400 invalidFilter saying %q", c.name, status, raw, c.detail)
					}
					continue
				}
				var page struct {
					Resources []struct{ UserName string }
				}
				if err := json.Unmarshal(raw, &page); err != nil || status != http.StatusOK {
					t.Errorf("%s: %d %s", c.name, status, raw)
					continue
				}
				var got []string
				for _, r := range page.Resources {
					got = append(got, r.UserName)
				}
				if fmt.Sprint(got) != fmt.Sprint(c.want) {
					t.Errorf("%s: selected %v, want %v", c.name, got, c.want)
				}
			}
		})
	}
}
