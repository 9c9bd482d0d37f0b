package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/scimd/scimd/licensing"
)

// groupNames lists the displayNames of GET /groups?query in the order
// listed, failing the test unless it answered 200.
func groupNames(t *testing.T, h *harness, bearer, query string) (names []string, next string) {
	t.Helper()
	status, body := h.admin(t, bearer, "GET", "/groups?"+query, "")
	if status != http.StatusOK {
		t.Fatalf("GET /groups?%s: %d %v", query, status, body)
	}
	for _, g := range body["items"].([]any) {
		names = append(names, g.(map[string]any)["displayName"].(string))
	}
	next, _ = body["nextCursor"].(string)
	return names, next
}

// TestAdminGroupSearch: GET /groups searches the names case-insensitively
// (wildcards are plain text) and the licenses the groups give, in sealed
// pages; bad parameters answer 400 (404 for an unknown product); the
// privileges that read users or products read groups, the others do not;
// another account's groups never appear, whatever the search.
func TestAdminGroupSearch(t *testing.T) {
	onGroups(t, 1, func(t *testing.T, f groupFixture) {
		h, acct, scim, other, otherSCIM := f.h, f.acct, f.scim, f.other, f.otherSCIM
		scimGroup(t, h, scim, "Support Tier 1", `{"remoteSupportV5":"concurrent"}`)
		scimGroup(t, h, scim, "Support Tier 2", `{"remoteSupportV5":"named","serviceDesk":"concurrent"}`)
		scimGroup(t, h, scim, "Sales", "")
		scimGroup(t, h, scim, "tier 3 EMEA", `{"serviceDesk":"named"}`)
		scimGroup(t, h, scim, "50% off_team", "")
		theirs := scimGroup(t, h, otherSCIM, "Support Tier 9", `{"remoteSupportV5":"named"}`)

		read := h.adminToken(t, acct.ID, licensing.PrivRead)
		for _, c := range []struct{ query, want string }{
			{"", "Support Tier 1|Support Tier 2|Sales|tier 3 EMEA|50% off_team"},
			{"q=tier", "Support Tier 1|Support Tier 2|tier 3 EMEA"},
			{"q=+TIER%202+", "Support Tier 2"},
			{"q=Tier%209", ""},
			{"q=%25", "50% off_team"},
			{"q=_", "50% off_team"},
			{"q=t_er", ""},
			{"product=" + rs5, "Support Tier 1|Support Tier 2"},
			{"product=" + rs5 + "&license=named", "Support Tier 2"},
			{"product=" + rs5 + "&license=none", "Sales|tier 3 EMEA|50% off_team"},
			{"product=service-desk&license=named", "tier 3 EMEA"},
			{"q=tier&product=" + rs5 + "&license=concurrent", "Support Tier 1"},
			{"q=tier&product=service-desk", "Support Tier 2|tier 3 EMEA"},
		} {
			if got, _ := groupNames(t, h, read, c.query); strings.Join(got, "|") != c.want {
				t.Errorf("GET /groups?%s: %q, want %q", c.query, strings.Join(got, "|"), c.want)
			}
		}
		// A search is paged like the full list.
		first, next := groupNames(t, h, read, "q=tier&limit=2")
		if strings.Join(first, "|") != "Support Tier 1|Support Tier 2" || next == "" {
			t.Fatalf("first page of q=tier: %v %q", first, next)
		}
		if rest, more := groupNames(t, h, read, "q=tier&limit=2&cursor="+next); strings.Join(rest, "|") != "tier 3 EMEA" || more != "" {
			t.Errorf("second page of q=tier: %v %q, want tier 3 EMEA alone", rest, more)
		}

		for _, c := range []struct {
			query  string
			status int
			code   string
		}{
			{"license=named", http.StatusBadRequest, "invalid_request"},
			{"product=" + rs5 + "&license=pending", http.StatusBadRequest, "invalid_request"},
			{"product=" + rs5 + "&license=gold", http.StatusBadRequest, "invalid_request"},
			{"product=nope", http.StatusNotFound, "unknown_product"},
			{"q=" + strings.Repeat("x", 257), http.StatusBadRequest, "invalid_request"},
			{"q=tier&cursor=junk", http.StatusBadRequest, "invalid_request"},
		} {
			status, body := h.admin(t, read, "GET", "/groups?"+c.query, "")
			if status != c.status || body["code"] != c.code {
				t.Errorf("GET /groups?%.40s: %d %v, want %d %s", c.query, status, body, c.status, c.code)
			}
		}

		for _, p := range []licensing.Privilege{licensing.PrivRead, licensing.PrivUsers, licensing.PrivProducts} {
			if got, _ := groupNames(t, h, h.adminToken(t, acct.ID, p), "q=sales"); strings.Join(got, "|") != "Sales" {
				t.Errorf("%s token searching groups: %v, want Sales", p, got)
			}
		}
		for _, p := range []licensing.Privilege{licensing.PrivSessions, licensing.PrivBilling, licensing.PrivTokens} {
			if status, body := h.admin(t, h.adminToken(t, acct.ID, p), "GET", "/groups?q=sales", ""); status != http.StatusForbidden {
				t.Errorf("%s token searching groups: %d %v, want 403", p, status, body)
			}
		}

		// The other account's search sees its own group only, and ours
		// never sees it.
		otherRead := h.adminToken(t, other.ID, licensing.PrivRead)
		if got, _ := groupNames(t, h, otherRead, "q=tier&product="+rs5); strings.Join(got, "|") != "Support Tier 9" {
			t.Errorf("the other account's search: %v, want its own group alone", got)
		}
		for _, q := range []string{"q=9", "product=" + rs5 + "&license=named", "q=Support"} {
			status, body := h.admin(t, read, "GET", "/groups?"+q, "")
			if status != http.StatusOK || strings.Contains(jsonString(body), theirs) || strings.Contains(jsonString(body), "Tier 9") {
				t.Errorf("GET /groups?%s shows another account's group: %v", q, body)
			}
		}
	})
}

// TestAdminGroupLicensesNestedMembers: GET /groups counts each group's
// direct members, users and groups; the answer of PUT
// /groups/{id}/licenses lists the users it concerns, nested groups'
// members included, each with the nested group it is a member through and
// its licenses of the products the write changed, the pending ones with
// their place in line; a cycle of groups lists each user once; past 100
// members it lists 100 with the total and a link to GET
// /groups/{id}/members, whose pages continue it and whose cursors open no
// other group's pages; another account's group is 404.
func TestAdminGroupLicensesNestedMembers(t *testing.T) {
	onGroups(t, 1, func(t *testing.T, f groupFixture) {
		store, h, acct, scim, other, otherSCIM := f.store, f.h, f.acct, f.scim, f.other, f.otherSCIM
		ann := plainUser(t, store, acct.ID, "ann")
		bob := plainUser(t, store, acct.ID, "bob")
		cat := plainUser(t, store, acct.ID, "cat")
		dan := plainUser(t, store, acct.ID, "dan")
		deep := scimGroup(t, h, scim, "Deep", "", dan.ID)
		inner := scimGroup(t, h, scim, "Inner", "", bob.ID, cat.ID, deep)
		outer := scimGroup(t, h, scim, "Outer", `{"serviceDesk":"concurrent"}`, ann.ID, inner)
		// Deep holds Outer back: a cycle.
		if status, raw, _ := scimCall(t, h, scim, "PATCH", "/Groups/"+deep, `{`+patchSchema+`,
			"Operations":[{"op":"add","path":"members","value":[{"value":"`+outer+`"}]}]}`); status != http.StatusOK {
			t.Fatalf("PATCH Deep add Outer: %d %s", status, raw)
		}
		theirs := scimGroup(t, h, otherSCIM, "Theirs", "", plainUser(t, store, other.ID, "victim").ID)
		read := h.adminToken(t, acct.ID, licensing.PrivRead)

		// The list counts each group's direct members, users and groups.
		status, list := h.admin(t, read, "GET", "/groups", "")
		counts := map[string]any{}
		for _, g := range list["items"].([]any) {
			counts[g.(map[string]any)["displayName"].(string)] = g.(map[string]any)["memberCount"]
		}
		if got := fmt.Sprint(counts); status != http.StatusOK || got != "map[Deep:2 Inner:3 Outer:2]" {
			t.Errorf("member counts of GET /groups: %d %s, want Deep 2, Inner 3, Outer 2", status, got)
		}

		products := h.adminToken(t, acct.ID, licensing.PrivProducts)
		status, body := h.admin(t, products, "PUT", "/groups/"+outer+"/licenses", `{"remote-support-v5":"named"}`)
		if status != http.StatusOK || body["memberTotal"] != 4.0 || body["membersNext"] != nil || body["pendingCount"] != 3.0 {
			t.Fatalf("PUT Outer named: %d %v, want 4 members, 3 pending", status, body)
		}
		// Each member once, by creation, with the group it comes
		// through and its licenses of rs5 and service-desk (the
		// group's concurrent service-desk went).
		var got []string
		seated := ""
		for _, m := range body["members"].([]any) {
			m := m.(map[string]any)
			line := m["userName"].(string) + " via "
			if v, ok := m["via"].(map[string]any); ok {
				line += v["displayName"].(string)
			} else {
				line += "-"
			}
			for _, l := range m["licenses"].([]any) {
				l := l.(map[string]any)
				line += " " + l["product"].(string) + "/" + l["license"].(string) + "/" + l["status"].(string)
				if l["status"] == "active" {
					seated = m["userName"].(string)
				}
			}
			got = append(got, line)
		}
		// One of the four became eligible first and got the one seat;
		// the other three wait.
		want := []string{"ann via -", "bob via Inner", "cat via Inner", "dan via Deep"}
		for i := range want {
			suffix := " remote-support-v5/named/pending"
			if want[i][:3] == seated {
				suffix = " remote-support-v5/named/active"
			}
			want[i] += suffix
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") || seated == "" {
			t.Errorf("members of the write:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		places := map[float64]bool{}
		for _, p := range body["pending"].([]any) {
			p := p.(map[string]any)
			places[p["place"].(float64)] = true
			if p["userName"] == "dan" && p["via"].(map[string]any)["id"] != deep {
				t.Errorf("dan pending %v, want via Deep", p)
			}
		}
		if len(places) != 3 || !places[1] || !places[3] {
			t.Errorf("pending places %v, want 1, 2 and 3", body["pending"])
		}

		// 101 more members: the answer lists 100 and links the rest.
		var refs []string
		for i := range 101 {
			refs = append(refs, `{"value":"`+plainUser(t, store, acct.ID, fmt.Sprintf("m%03d", i)).ID+`"}`)
		}
		if status, raw, _ := scimCall(t, h, scim, "PATCH", "/Groups/"+inner, `{`+patchSchema+`,
			"Operations":[{"op":"add","path":"members","value":[`+strings.Join(refs, ",")+`]}]}`); status != http.StatusOK {
			t.Fatalf("PATCH Inner add 101: %d %s", status, raw)
		}
		status, body = h.admin(t, products, "PUT", "/groups/"+outer+"/licenses", `{"remote-support-v5":"concurrent"}`)
		members, _ := body["members"].([]any)
		next, _ := body["membersNext"].(string)
		if status != http.StatusOK || body["memberTotal"] != 105.0 || len(members) != 100 || !strings.HasPrefix(next, "/api/v1/admin/groups/"+outer+"/members?") {
			t.Fatalf("PUT Outer concurrent with 105 members: %d total %v, %d listed, next %q", status, body["memberTotal"], len(members), next)
		}
		seen := map[string]bool{}
		for _, m := range members {
			seen[m.(map[string]any)["id"].(string)] = true
		}
		status, page := h.admin(t, read, "GET", strings.TrimPrefix(next, "/api/v1/admin"), "")
		rest, _ := page["items"].([]any)
		if status != http.StatusOK || len(rest) != 5 || page["nextCursor"] != nil {
			t.Fatalf("GET %s: %d %v, want the last 5", next, status, page)
		}
		for _, m := range rest {
			m := m.(map[string]any)
			if seen[m["id"].(string)] {
				t.Errorf("%v listed twice", m["userName"])
			}
			if ls := jsonString(m["licenses"]); !strings.Contains(ls, `"license":"concurrent","product":"remote-support-v5"`) || !strings.Contains(ls, `"status":"active"`) || m["via"].(map[string]any)["id"] != inner {
				t.Errorf("member %v on the next page: licenses %s via %v", m["userName"], ls, m["via"])
			}
		}
		// A cursor of Outer's members opens no page of Inner's.
		cursor := next[strings.Index(next, "cursor=")+len("cursor="):]
		if status, body := h.admin(t, read, "GET", "/groups/"+inner+"/members?cursor="+cursor, ""); status != http.StatusBadRequest {
			t.Errorf("Outer's cursor on Inner's members: %d %v, want 400", status, body)
		}
		if status, body := h.admin(t, read, "GET", "/groups/"+inner+"/members?limit=0", ""); status != http.StatusBadRequest {
			t.Errorf("members?limit=0: %d %v, want 400", status, body)
		}
		if status, body := h.admin(t, h.adminToken(t, acct.ID, licensing.PrivSessions), "GET", "/groups/"+outer+"/members", ""); status != http.StatusForbidden {
			t.Errorf("sessions token reading members: %d %v, want 403", status, body)
		}
		for _, path := range []string{"/groups/" + theirs + "/members", "/groups/nope/members"} {
			if status, body := h.admin(t, h.adminToken(t, acct.ID, licensing.AllPrivileges...), "GET", path, ""); status != http.StatusNotFound ||
				strings.Contains(jsonString(body), "victim") {
				t.Errorf("GET %s: %d %v, want 404", path, status, body)
			}
		}
	})
}
