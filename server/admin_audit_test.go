package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/schemas"
)

// auditPage reads one page of the audit log (query without "?") and
// returns its entries and nextCursor.
// mustTokenID is the id of a bearer string's token.
func mustTokenID(t *testing.T, bearer string) string {
	t.Helper()
	id, ok := licensing.TokenID(bearer)
	if !ok {
		t.Fatalf("%q is not a scimd token", bearer)
	}
	return id
}

func auditPage(t *testing.T, h *harness, bearer, query string) ([]map[string]any, string) {
	t.Helper()
	status, body := h.admin(t, bearer, "GET", "/audit?"+query, "")
	if status != http.StatusOK {
		t.Fatalf("GET /audit?%s: %d %v", query, status, body)
	}
	return listItems(t, body)
}

// listItems returns the items and nextCursor of a list answer.
func listItems(t *testing.T, body map[string]any) ([]map[string]any, string) {
	t.Helper()
	raw, ok := body["items"].([]any)
	if !ok {
		t.Fatalf("list answer without items: %v", body)
	}
	items := make([]map[string]any, len(raw))
	for i, r := range raw {
		items[i] = r.(map[string]any)
	}
	next, _ := body["nextCursor"].(string)
	return items, next
}

// walkPages follows a list (path with its query, which sets a limit) to
// its last page, at most 20 pages, and returns every item in order. Each
// page but the last must be full.
func walkPages(t *testing.T, h *harness, bearer, path string) []map[string]any {
	t.Helper()
	var all []map[string]any
	cursor := ""
	for range 20 {
		status, body := h.admin(t, bearer, "GET", path+"&cursor="+url.QueryEscape(cursor), "")
		if status != http.StatusOK {
			t.Fatalf("GET %s: %d %v", path, status, body)
		}
		items, next := listItems(t, body)
		if len(items) == 0 {
			t.Fatalf("GET %s: empty page", path)
		}
		all = append(all, items...)
		if next == "" {
			return all
		}
		cursor = next
	}
	t.Fatalf("GET %s: more than 20 pages", path)
	return nil
}

// auditActions lists the actions of entries, in order.
func auditActions(entries []map[string]any) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i], _ = e["action"].(string)
	}
	return out
}

// tokenOf returns the stored token of a bearer string.
func tokenOf(t *testing.T, store licensing.Store, bearer string) licensing.Token {
	t.Helper()
	id, ok := licensing.TokenID(bearer)
	if !ok {
		t.Fatalf("%q is not a scimd token", bearer)
	}
	tok, err := store.Token(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

const userSchema = `"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"]`
const groupSchema = `"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"]`
const patchSchema = `"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]`

// TestAdminAuditSCIMWrites proves that every SCIM write of a user or a
// group is recorded once, with the SCIM token as actor, the target and a
// detail naming it (never the password), that writes changing nothing and
// failed writes are not recorded, and that the SCIM answers are those of
// the writes.
func TestAdminAuditSCIMWrites(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			store := b.Open(t)
			h := newHarness(t, store)
			acct, scimBearer := h.account(t)
			reader := h.adminToken(t, acct.ID, licensing.PrivRead)
			scimToken := tokenOf(t, store, scimBearer)
			call := func(method, path, body string, want int) map[string]any {
				t.Helper()
				status, raw, m := scimCall(t, h, scimBearer, method, path, body)
				if status != want {
					t.Fatalf("%s %s: %d %s, want %d", method, path, status, raw, want)
				}
				return m
			}

			user := call("POST", "/Users", `{`+userSchema+`,"userName":"ann@example.com","active":true,"password":"Hunter-2-secret"}`, http.StatusCreated)
			uid := user["id"].(string)
			call("POST", "/Users", `{`+userSchema+`,"userName":"ann@example.com"}`, http.StatusConflict) // not recorded
			call("PATCH", "/Users/"+uid, `{`+patchSchema+`,"Operations":[{"op":"replace","value":{"active":false,"displayName":"Ann Lee"}}]}`, http.StatusOK)
			call("PATCH", "/Users/"+uid, `{`+patchSchema+`,"Operations":[{"op":"replace","value":{"active":false}}]}`, http.StatusOK)         // no-op
			call("PUT", "/Users/"+uid, `{`+userSchema+`,"userName":"ann@example.com","displayName":"Ann Lee","active":false}`, http.StatusOK) // no-op
			call("PUT", "/Users/"+uid, `{`+userSchema+`,"userName":"ann@example.com","displayName":"Ann Lee","active":true}`, http.StatusOK)
			bob := call("POST", "/Users", `{`+userSchema+`,"userName":"bob@example.com"}`, http.StatusCreated)
			bid := bob["id"].(string)
			group := call("POST", "/Groups", `{`+groupSchema+`,"displayName":"Support","members":[{"value":"`+bid+`"}]}`, http.StatusCreated)
			gid := group["id"].(string)
			call("PATCH", "/Groups/"+gid, `{`+patchSchema+`,"Operations":[{"op":"replace","value":{"displayName":"Support EU"}}]}`, http.StatusOK)
			call("PATCH", "/Groups/"+gid, `{`+patchSchema+`,"Operations":[{"op":"add","path":"members","value":[{"value":"`+bid+`"}]}]}`, http.StatusOK) // no-op
			call("PUT", "/Groups/"+gid, `{`+groupSchema+`,"displayName":"Support EU","members":[{"value":"`+uid+`"}]}`, http.StatusOK)
			call("DELETE", "/Groups/"+gid, "", http.StatusNoContent)
			call("DELETE", "/Users/"+uid, "", http.StatusNoContent)
			call("DELETE", "/Users/"+uid, "", http.StatusNotFound) // not recorded

			entries, next := auditPage(t, h, reader, "limit=100")
			if next != "" {
				t.Errorf("one page of 100 should hold every entry; nextCursor %q", next)
			}
			type want struct{ action, targetType, targetID, detail string }
			wants := []want{
				{"user.delete", "user", uid, "ann@example.com"},
				{"group.delete", "group", gid, "Support EU"},
				{"group.replace", "group", gid, "Support EU: members"},
				{"group.patch", "group", gid, "Support EU: displayName"},
				{"group.create", "group", gid, "Support"},
				{"user.create", "user", bid, "bob@example.com"},
				{"user.replace", "user", uid, "ann@example.com: active"},
				{"user.patch", "user", uid, "ann@example.com: active, displayName"},
				{"user.create", "user", uid, "ann@example.com"},
			}
			if len(entries) != len(wants) {
				t.Fatalf("audit log holds %v, want %d entries", auditActions(entries), len(wants))
			}
			var last time.Time
			for i, w := range wants {
				e := entries[i]
				target, _ := e["target"].(map[string]any)
				actor, _ := e["actor"].(map[string]any)
				if e["action"] != w.action || target["type"] != w.targetType || target["id"] != w.targetID || e["detail"] != w.detail {
					t.Errorf("entry %d: %v, want %+v", i, e, w)
				}
				if actor["id"] != scimToken.ID || actor["name"] != scimToken.Name || actor["scope"] != "scim" {
					t.Errorf("entry %d: actor %v, want the SCIM token %s %q", i, actor, scimToken.ID, scimToken.Name)
				}
				at, err := time.Parse(time.RFC3339, fmt.Sprint(e["at"]))
				if err != nil || !strings.HasSuffix(fmt.Sprint(e["at"]), "Z") {
					t.Errorf("entry %d: at %v is not an RFC 3339 UTC time", i, e["at"])
				}
				if i > 0 && at.After(last) {
					t.Errorf("entry %d is newer than entry %d: the log must be newest first", i, i-1)
				}
				last = at
				if strings.Contains(fmt.Sprint(e), "Hunter-2-secret") {
					t.Errorf("entry %d shows the password: %v", i, e)
				}
			}

			// A password change alone is recorded, by name only.
			call("PATCH", "/Users/"+bid, `{`+patchSchema+`,"Operations":[{"op":"replace","path":"password","value":"Hunter-3-secret"}]}`, http.StatusOK)
			entries, _ = auditPage(t, h, reader, "limit=1")
			if len(entries) != 1 || entries[0]["action"] != "user.patch" || entries[0]["detail"] != "bob@example.com: password" {
				t.Errorf("password change recorded as %v, want user.patch \"bob@example.com: password\"", entries)
			}
			// An extension's attribute is named by itself; the entitlements
			// show the same assignment, and change with it.
			call("PATCH", "/Users/"+bid, `{`+patchSchema+`,"Operations":[{"op":"replace","path":"`+schemas.LicensingURN+`:remoteSupportV5","value":"concurrent"}]}`, http.StatusOK)
			entries, _ = auditPage(t, h, reader, "limit=1")
			if len(entries) != 1 || entries[0]["detail"] != "bob@example.com: entitlements, remoteSupportV5" {
				t.Errorf("product assignment recorded as %v, want \"bob@example.com: entitlements, remoteSupportV5\"", entries)
			}
		})
	}
}

// TestAdminAuditFilters proves the audit log's filters (action, actor,
// target type, target, time range), its cursor paging, which walks every
// entry once, its refusal of bad parameters, and that another account's
// entries never show.
func TestAdminAuditFilters(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			store := b.Open(t)
			h := newHarness(t, store)
			ctx := context.Background()
			acct, _ := h.account(t)
			other, _ := h.account(t)
			reader := h.adminToken(t, acct.ID, licensing.PrivRead)
			otherAll := h.adminToken(t, other.ID, licensing.AllPrivileges...)
			base := time.Date(2031, 3, 4, 9, 0, 0, 0, time.UTC)
			seed := []licensing.AuditEntry{
				{At: base, ActorID: "aaaaaaaaaaaaaaaa", ActorName: "okta", ActorScope: licensing.ScopeSCIM, Action: "user.create", TargetType: "user", TargetID: "u1", Detail: "ann"},
				{At: base.Add(time.Hour), ActorID: "aaaaaaaaaaaaaaaa", ActorName: "okta", ActorScope: licensing.ScopeSCIM, Action: "user.patch", TargetType: "user", TargetID: "u1", Detail: "ann: active"},
				{At: base.Add(2 * time.Hour), ActorID: "bbbbbbbbbbbbbbbb", ActorName: "ops", ActorScope: licensing.ScopeAdmin, Action: "plan.change", TargetType: "plan", TargetID: rs5, Detail: "named 5"},
				{At: base.Add(3 * time.Hour), ActorID: "aaaaaaaaaaaaaaaa", ActorName: "okta", ActorScope: licensing.ScopeSCIM, Action: "user.create", TargetType: "user", TargetID: "u2", Detail: "bob"},
				{At: base.Add(4 * time.Hour), ActorID: "bbbbbbbbbbbbbbbb", ActorName: "ops", ActorScope: licensing.ScopeAdmin, Action: "user.delete", TargetType: "user", TargetID: "u1", Detail: "ann"},
			}
			for _, e := range seed {
				e.AccountID = acct.ID
				if err := store.AppendAudit(ctx, e); err != nil {
					t.Fatal(err)
				}
				e.AccountID, e.Detail = other.ID, "other account"
				if err := store.AppendAudit(ctx, e); err != nil {
					t.Fatal(err)
				}
			}
			details := func(entries []map[string]any) []string {
				out := make([]string, len(entries))
				for i, e := range entries {
					out[i] = fmt.Sprint(e["detail"])
				}
				return out
			}
			for _, c := range []struct {
				query string
				want  []string
			}{
				{"", []string{"ann", "bob", "named 5", "ann: active", "ann"}},
				{"action=user.create", []string{"bob", "ann"}},
				{"actor=bbbbbbbbbbbbbbbb", []string{"ann", "named 5"}},
				{"targetType=plan", []string{"named 5"}},
				{"target=u1", []string{"ann", "ann: active", "ann"}},
				{"target=u1&action=user.patch", []string{"ann: active"}},
				{"from=" + url.QueryEscape(base.Add(time.Hour).Format(time.RFC3339)) + "&to=" + url.QueryEscape(base.Add(3*time.Hour).Format(time.RFC3339)), []string{"named 5", "ann: active"}},
				{"from=2031-03-04T12:00:00Z", []string{"ann", "bob"}},
				{"to=2031-03-04T11:00:00%2B01:00", []string{"ann"}},
				{"action=session.end", nil},
			} {
				entries, next := auditPage(t, h, reader, c.query)
				if got := details(entries); !slices.Equal(got, c.want) && (len(got) != 0 || len(c.want) != 0) {
					t.Errorf("?%s: %q, want %q", c.query, got, c.want)
				}
				if next != "" {
					t.Errorf("?%s: nextCursor on the only page", c.query)
				}
			}

			// limit=1 walks every entry once, newest first.
			walked := details(walkPages(t, h, reader, "/audit?limit=1"))
			if want := []string{"ann", "bob", "named 5", "ann: active", "ann"}; !slices.Equal(walked, want) {
				t.Errorf("paging with limit=1 walked %q, want %q", walked, want)
			}
			// With a filter as well.
			entries, next := auditPage(t, h, reader, "target=u1&limit=2")
			more, last := auditPage(t, h, reader, "target=u1&limit=2&cursor="+url.QueryEscape(next))
			if got := details(append(entries, more...)); next == "" || last != "" || !slices.Equal(got, []string{"ann", "ann: active", "ann"}) {
				t.Errorf("target=u1 in pages of 2: %q (cursors %q, %q)", got, next, last)
			}

			// The other account sees only its own entries.
			entries, _ = auditPage(t, h, otherAll, "limit=100")
			if len(entries) != len(seed) || slices.ContainsFunc(entries, func(e map[string]any) bool { return e["detail"] != "other account" }) {
				t.Errorf("the other account's log: %v", details(entries))
			}

			for _, q := range []string{"cursor=bm90LWEtY3Vyc29y", "cursor=%25%25", "from=yesterday", "to=2031-03-04", "limit=0", "limit=501", "limit=x",
				"from=2031-03-04T12:00:00Z&to=2031-03-04T11:00:00Z", "action=%00", "target=%FF"} {
				status, body := h.admin(t, reader, "GET", "/audit?"+q, "")
				if status != http.StatusBadRequest || body["code"] != "invalid_request" || body["detail"] == "" {
					t.Errorf("?%s: %d %v, want 400 invalid_request", q, status, body)
				}
				if strings.HasPrefix(q, "cursor") && !strings.Contains(fmt.Sprint(body["detail"]), "cursor") {
					t.Errorf("?%s: detail %q does not say the cursor is malformed", q, body["detail"])
				}
			}
		})
	}
}
