package server_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
)

// scimErrorOf decodes a SCIM error answer: its status member and scimType
// and detail.
func scimErrorOf(t *testing.T, raw []byte) (status, scimType, detail string) {
	t.Helper()
	e := decodeObject(t, "SCIM error", raw)
	status, _ = e["status"].(string)
	scimType, _ = e["scimType"].(string)
	detail, _ = e["detail"].(string)
	return status, scimType, detail
}

// emailValues renders n objects {"value":"<prefix><i>@example.com"} as a JSON
// list.
func emailValues(prefix string, n int) string {
	vs := make([]string, n)
	for i := range vs {
		vs[i] = fmt.Sprintf(`{"value":"%s%d@example.com"}`, prefix, i)
	}
	return "[" + strings.Join(vs, ",") + "]"
}

// TestSCIMInputBounds: a PATCH carries at most 1000 operations and a
// User's multi-valued attribute holds at most 100 values (the defaults);
// a write over either limit answers 400 invalidValue and changes nothing.
// A Group's members are bounded by the body limit only.
func TestSCIMInputBounds(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			h := newHarness(t, b.Open(t))
			acct, bearer := h.account(t)
			refused := func(what string, status int, raw []byte, detail string) {
				t.Helper()
				code, typ, got := scimErrorOf(t, raw)
				if status != http.StatusBadRequest || code != "400" || typ != "invalidValue" || !strings.Contains(got, detail) {
					t.Errorf("%s: %d %.300s, want 400 invalidValue saying %q", what, status, raw, detail)
				}
			}
			get := func(id string) string {
				t.Helper()
				status, _, raw := send(t, "GET", h.url+"/Users/"+id, bearer, "", "")
				if status != http.StatusOK {
					t.Fatalf("GET user: %d %s", status, raw)
				}
				return string(raw)
			}

			// POST: 101 e-mail addresses are refused, 100 accepted.
			status, _, raw := send(t, "POST", h.url+"/Users", bearer, "application/scim+json",
				`{`+userSchema+`,"userName":"many@example.com","emails":`+emailValues("a", 101)+`}`)
			refused("POST with 101 emails", status, raw, `"emails" has 101 values; at most 100`)
			status, _, raw = send(t, "GET", h.url+"/Users?filter="+url.QueryEscape(`userName eq "many@example.com"`), bearer, "", "")
			if status != http.StatusOK || !strings.Contains(string(raw), `"totalResults":0`) {
				t.Errorf("the refused POST created a user: %d %.300s", status, raw)
			}
			status, _, raw = send(t, "POST", h.url+"/Users", bearer, "application/scim+json",
				`{`+userSchema+`,"userName":"many@example.com","emails":`+emailValues("a", 100)+`}`)
			if status != http.StatusCreated {
				t.Fatalf("POST with 100 emails: %d %s", status, raw)
			}
			id, _ := decodeObject(t, "POST", raw)["id"].(string)
			before := get(id)

			// PATCH: one more e-mail address is refused.
			status, _, raw = send(t, "PATCH", h.url+"/Users/"+id, bearer, "application/scim+json",
				`{`+patchSchema+`,"Operations":[{"op":"add","path":"emails","value":[{"value":"b@example.com"}]}]}`)
			refused("PATCH to 101 emails", status, raw, `"emails" has 101 values`)

			// PUT: 101 phone numbers are refused.
			status, _, raw = send(t, "PUT", h.url+"/Users/"+id, bearer, "application/scim+json",
				`{`+userSchema+`,"userName":"many@example.com","phoneNumbers":`+emailValues("p", 101)+`}`)
			refused("PUT with 101 phoneNumbers", status, raw, `"phoneNumbers" has 101 values`)

			// PATCH: 1001 operations are refused before any is applied,
			// 1000 accepted.
			ops := func(n int) string {
				op := make([]string, n)
				for i := range op {
					op[i] = `{"op":"replace","path":"title","value":"t"}`
				}
				return `{` + patchSchema + `,"Operations":[` + strings.Join(op, ",") + `]}`
			}
			status, _, raw = send(t, "PATCH", h.url+"/Users/"+id, bearer, "application/scim+json", ops(1001))
			refused("PATCH of 1001 operations", status, raw, "1001 operations; at most 1000")
			if after := get(id); after != before {
				t.Errorf("refused writes changed the user:\n%s\n%s", before, after)
			}
			status, _, raw = send(t, "PATCH", h.url+"/Users/"+id, bearer, "application/scim+json", ops(1000))
			if status != http.StatusOK || !strings.Contains(string(raw), `"title":"t"`) {
				t.Errorf("PATCH of 1000 operations: %d %s", status, raw)
			}

			// A group of 150 members, by POST and by PATCH.
			memberIDs := make([]string, 150)
			now := time.Now().UTC()
			for i := range memberIDs {
				memberIDs[i] = licensing.NewID()
				u := licensing.User{AccountID: acct.ID, ID: memberIDs[i], UserName: fmt.Sprintf("m%d@example.com", i), Active: true,
					Doc: []byte(`{}`), Created: now, LastModified: now, Version: 1}
				if err := h.store.CreateUser(t.Context(), u); err != nil {
					t.Fatal(err)
				}
			}
			members := func(ids []string) string {
				vs := make([]string, len(ids))
				for i, id := range ids {
					vs[i] = `{"value":"` + id + `"}`
				}
				return "[" + strings.Join(vs, ",") + "]"
			}
			status, _, raw = send(t, "POST", h.url+"/Groups", bearer, "application/scim+json",
				`{`+groupSchema+`,"displayName":"big","members":`+members(memberIDs[:120])+`}`)
			if status != http.StatusCreated {
				t.Fatalf("POST a group of 120 members: %d %s", status, raw)
			}
			gid, _ := decodeObject(t, "POST group", raw)["id"].(string)
			status, _, raw = send(t, "PATCH", h.url+"/Groups/"+gid, bearer, "application/scim+json",
				`{`+patchSchema+`,"Operations":[{"op":"add","path":"members","value":`+members(memberIDs[120:])+`}]}`)
			if status != http.StatusOK || strings.Count(string(raw), `"value":`) != 150 {
				t.Errorf("PATCH a group to 150 members: %d %.300s", status, raw)
			}
		})
	}
}
