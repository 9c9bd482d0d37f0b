package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
)

// lister is an account as the tests of cursors use it: its SCIM token and
// an admin token with every privilege.
type lister struct {
	acct        licensing.Account
	scim, admin string
}

// newLister makes an account with at least two of everything a list
// shows: users, groups, tokens, shared sessions and audit entries.
func newLister(t *testing.T, h *harness) lister {
	t.Helper()
	acct, scimBearer := h.account(t)
	l := lister{acct: acct, scim: scimBearer, admin: h.adminToken(t, acct.ID, licensing.AllPrivileges...)}
	for _, name := range []string{"ann", "bob", "cyd"} {
		status, body := do(t, "POST", h.url+"/Users", l.scim, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"`+name+`@example.com"}`)
		if status != http.StatusCreated {
			t.Fatalf("create user %s: %d %v", name, status, body)
		}
	}
	for _, name := range []string{"Support", "Sales"} {
		status, body := do(t, "POST", h.url+"/Groups", l.scim, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"`+name+`"}`)
		if status != http.StatusCreated {
			t.Fatalf("create group %s: %d %v", name, status, body)
		}
	}
	if err := h.store.SetPlan(context.Background(), licensing.Plan{AccountID: acct.ID, ProductID: rs5, ConcurrentSeats: 2}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"dee", "eve"} {
		sessionAgent(t, h.store, acct.ID, name, "", licensing.Assignments{rs5: licensing.LicenseConcurrent})
		bearer, _ := signIn(t, h, acct.Name, name)
		startAgentSession(t, h, bearer, rs5)
	}
	return l
}

// pagedList is one list of the SCIM or admin API that pages by cursor.
type pagedList struct {
	name string
	// list groups the requests that page through one listing (GET /Users
	// and POST /Users/.search): their cursors pass between them.
	list string
	scim bool
	// page asks for one item after the cursor ("": the first page).
	page func(t *testing.T, h *harness, l lister, cursor string) (int, map[string]any)
	// oldCursor is the cursor this list gave before cursors were sealed,
	// for the page after first: a position anyone could read and write.
	oldCursor func(t *testing.T, h *harness, l lister, first map[string]any) string
}

func scimGet(path string) func(t *testing.T, h *harness, l lister, cursor string) (int, map[string]any) {
	return func(t *testing.T, h *harness, l lister, cursor string) (int, map[string]any) {
		return do(t, "GET", h.url+path+"?count=1&cursor="+url.QueryEscape(cursor), l.scim, "")
	}
}

func adminGet(path string) func(t *testing.T, h *harness, l lister, cursor string) (int, map[string]any) {
	return func(t *testing.T, h *harness, l lister, cursor string) (int, map[string]any) {
		return h.admin(t, l.admin, "GET", path+"?limit=1&cursor="+url.QueryEscape(cursor), "")
	}
}

// storePosition is what the store gives as the position after the first
// item of a listing, the cursor of the lists before they were sealed.
func storePosition[T any](list func(ctx context.Context, accountID string, q licensing.Query) (licensing.Page[T], error)) func(t *testing.T, h *harness, l lister, _ map[string]any) string {
	return func(t *testing.T, h *harness, l lister, _ map[string]any) string {
		p, err := list(context.Background(), l.acct.ID, licensing.Query{Limit: 1})
		if err != nil || p.Next == "" {
			t.Fatalf("the store's position after one item: %q, %v", p.Next, err)
		}
		return p.Next
	}
}

// timeIDPosition is the cursor the admin API cut in memory before cursors
// were sealed: base64 of the time (field at) and id of the last item.
func timeIDPosition(at string) func(t *testing.T, h *harness, l lister, first map[string]any) string {
	return func(t *testing.T, h *harness, l lister, first map[string]any) string {
		item := adminItems(first)[0]
		b, _ := json.Marshal(map[string]any{"c": item[at], "i": item["id"]})
		return base64.RawURLEncoding.EncodeToString(b)
	}
}

func pagedLists(h *harness) []pagedList {
	users := storePosition(h.store.Users)
	return []pagedList{
		{name: "SCIM GET /Users", list: "scim users", scim: true, page: scimGet("/Users"), oldCursor: users},
		{name: "SCIM POST /Users/.search", list: "scim users", scim: true, oldCursor: users,
			page: func(t *testing.T, h *harness, l lister, cursor string) (int, map[string]any) {
				c, _ := json.Marshal(cursor)
				return do(t, "POST", h.url+"/Users/.search", l.scim,
					`{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"count":1,"cursor":`+string(c)+`}`)
			}},
		{name: "SCIM GET /Groups", list: "scim groups", scim: true, page: scimGet("/Groups"), oldCursor: storePosition(h.store.Groups)},
		{name: "admin /users", list: "admin users", page: adminGet("/users"), oldCursor: users},
		{name: "admin /tokens", list: "admin tokens", page: adminGet("/tokens"), oldCursor: timeIDPosition("createdAt")},
		{name: "admin /sessions", list: "admin sessions", page: adminGet("/sessions"), oldCursor: timeIDPosition("since")},
		{name: "admin /audit", list: "admin audit", page: adminGet("/audit"),
			oldCursor: func(t *testing.T, h *harness, l lister, _ map[string]any) string {
				p, err := h.store.AuditLog(context.Background(), l.acct.ID, licensing.AuditQuery{Limit: 1})
				if err != nil || p.Next == "" {
					t.Fatalf("the store's position after one audit entry: %q, %v", p.Next, err)
				}
				return p.Next
			}},
	}
}

// nextCursor returns the nextCursor of a first page, failing the test
// unless the page answered 200 with one.
func (pl pagedList) nextCursor(t *testing.T, status int, body map[string]any) string {
	t.Helper()
	next, _ := body["nextCursor"].(string)
	if status != http.StatusOK || next == "" {
		t.Fatalf("%s: first page %d %v, want 200 with a nextCursor", pl.name, status, body)
	}
	return next
}

// wantRefused checks the answer to a cursor the list must refuse: 400 in
// the API's own format, invalidCursor in SCIM (RFC 9865).
func (pl pagedList) wantRefused(t *testing.T, what string, status int, body map[string]any) {
	t.Helper()
	switch {
	case status != http.StatusBadRequest:
		t.Errorf("%s, %s: %d %v, want 400", pl.name, what, status, body)
	case pl.scim && body["scimType"] != "invalidCursor":
		t.Errorf("%s, %s: %v, want scimType invalidCursor", pl.name, what, body)
	case !pl.scim && (body["code"] != "invalid_request" || !strings.Contains(body["detail"].(string), "cursor")):
		t.Errorf("%s, %s: %v, want invalid_request saying the cursor is wrong", pl.name, what, body)
	}
}

// tampered returns cursors made from a good one by changing it.
func tampered(c string) map[string]string {
	mid := len(c) / 2
	flip := byte('A')
	if c[mid] == flip {
		flip = 'B'
	}
	swap := mid // two neighbours that differ, so that swapping them changes c
	for swap+2 < len(c) && c[swap] == c[swap+1] {
		swap++
	}
	return map[string]string{
		"one character changed":     c[:mid] + string(flip) + c[mid+1:],
		"the last character gone":   c[:len(c)-1],
		"a character added":         c + "A",
		"two characters swapped":    c[:swap] + c[swap+1:swap+2] + c[swap:swap+1] + c[swap+2:],
		"not a cursor at all":       "not a cursor",
		"base64 of a JSON position": base64.RawURLEncoding.EncodeToString([]byte(`{"o":1,"s":1,"a":"2026-01-01T00:00:00Z","i":1,"c":"2026-01-01T00:00:00Z"}`)),
	}
}

// TestCursorsAreSealed checks every list that pages by cursor: a cursor
// changed in any way, the position a cursor used to be, a cursor of
// another account or of another list, all answer 400 (never 500, never a
// page), while the cursor as it came leads to the next page.
func TestCursorsAreSealed(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			h := newHarness(t, b.Open(t))
			a, other := newLister(t, h), newLister(t, h)
			lists := pagedLists(h)
			for _, pl := range lists {
				status, first := pl.page(t, h, a, "")
				c := pl.nextCursor(t, status, first)
				if status, second := pl.page(t, h, a, c); status != http.StatusOK || len(adminItemsOrResources(second)) != 1 {
					t.Errorf("%s: the nextCursor as it came: %d %v, want the next page", pl.name, status, second)
				}
				for what, bad := range tampered(c) {
					status, body := pl.page(t, h, a, bad)
					pl.wantRefused(t, what, status, body)
				}
				old := pl.oldCursor(t, h, a, first)
				if c == old {
					t.Errorf("%s: the nextCursor is the store's position %q", pl.name, old)
				}
				status, body := pl.page(t, h, a, old)
				pl.wantRefused(t, "the unsealed position", status, body)
				status, body = pl.page(t, h, other, c)
				pl.wantRefused(t, "a cursor of another account", status, body)
				for _, ol := range lists {
					if ol.list != pl.list {
						status, body := ol.page(t, h, a, c)
						ol.wantRefused(t, "a cursor of "+pl.name, status, body)
					}
				}
			}
		})
	}
}

// adminItemsOrResources returns the items of an admin list or the
// Resources of a SCIM one.
func adminItemsOrResources(body map[string]any) []any {
	if r, ok := body["Resources"].([]any); ok {
		return r
	}
	r, _ := body["items"].([]any)
	return r
}

// TestCursorsSurviveARestart pages through users (SCIM) and the audit log
// (admin) across a restart: a new store and server over the same
// database continue from the cursors the first one gave.
func TestCursorsSurviveARestart(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			db := b.URL(t)
			before := newHarness(t, testenv.OpenURL(t, db))
			l := newLister(t, before)
			type walk struct {
				pl     pagedList
				cursor string
				want   any
			}
			var walks []walk
			for _, pl := range pagedLists(before) {
				if pl.list != "scim users" && pl.list != "admin audit" {
					continue
				}
				status, first := pl.page(t, before, l, "")
				c := pl.nextCursor(t, status, first)
				_, second := pl.page(t, before, l, c)
				walks = append(walks, walk{pl, c, adminItemsOrResources(second)[0].(map[string]any)["id"]})
			}
			after := newHarness(t, testenv.OpenURL(t, db))
			for _, w := range walks {
				status, body := w.pl.page(t, after, l, w.cursor)
				items := adminItemsOrResources(body)
				if status != http.StatusOK || len(items) != 1 || items[0].(map[string]any)["id"] != w.want {
					t.Errorf("%s after a restart: %d %v, want the page of %v", w.pl.name, status, body, w.want)
				}
			}
		})
	}
}

// TestAuditIDsAreOpaque has two accounts write in turns and checks the
// ids of their audit entries: strings that are not numbers, neither
// counting nor sorting with the entries, the same at every read.
func TestAuditIDsAreOpaque(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			h := newHarness(t, b.Open(t))
			a, bearerA := h.account(t)
			other, bearerB := h.account(t)
			const each = 10
			for i := range each {
				for _, bearer := range []string{bearerA, bearerB} {
					status, body := do(t, "POST", h.url+"/Users", bearer, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"u`+strconv.Itoa(i)+`@example.com"}`)
					if status != http.StatusCreated {
						t.Fatalf("create user: %d %v", status, body)
					}
				}
			}
			seen := map[string]bool{}
			for _, acct := range []licensing.Account{a, other} {
				reader := h.adminToken(t, acct.ID, licensing.PrivRead)
				ids := func() []string {
					entries, next := auditPage(t, h, reader, "limit=100")
					if len(entries) != each || next != "" {
						t.Fatalf("audit log: %d entries (next %q), want %d", len(entries), next, each)
					}
					var ids []string
					for _, e := range entries {
						id, ok := e["id"].(string)
						if !ok {
							t.Fatalf("audit entry id %#v is not a string", e["id"])
						}
						ids = append(ids, id)
					}
					return ids
				}
				first := ids()
				for _, id := range first {
					if _, err := strconv.ParseInt(id, 10, 64); err == nil || len(id) < 16 || seen[id] {
						t.Errorf("audit id %q: want random text of its own, not a number", id)
					}
					seen[id] = true
				}
				// Newest first: random ids sort that way, or the other,
				// once in 1.8 million runs.
				oldest := slices.Clone(first)
				slices.Reverse(oldest)
				if slices.IsSorted(first) || slices.IsSorted(oldest) {
					t.Errorf("audit ids sort as their entries were written: %q", first)
				}
				if again := ids(); !slices.Equal(again, first) {
					t.Errorf("audit ids read again: %q, first %q", again, first)
				}
			}
		})
	}
}
