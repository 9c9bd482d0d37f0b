package server_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/console"
	"github.com/scimd/scimd/internal/password"
	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/server"
	"github.com/scimd/scimd/storage/sqlstore"
)

// TestConsoleUsage proves the Usage page: after one agent took the one
// shared seat of Remote Support v5 and another was denied twice, the
// page draws a chart and a table of those numbers, the CSV download
// holds the same numbers as the admin API's report, a product or range
// without usage says what to do next, a bad range is refused in the form,
// and another account's reader sees none of it.
func TestConsoleUsage(t *testing.T) {
	onConsole(t, func(t *testing.T, store *sqlstore.Store, h *harness, acct licensing.Account, _ string) {
		ctx := context.Background()
		if err := store.SetPlan(ctx, licensing.Plan{AccountID: acct.ID, ProductID: rs5, ConcurrentSeats: 1}); err != nil {
			t.Fatal(err)
		}
		sessionAgent(t, store, acct.ID, "ann", "Ann", licensing.Assignments{rs5: licensing.LicenseConcurrent})
		sessionAgent(t, store, acct.ID, "bob", "Bob", licensing.Assignments{rs5: licensing.LicenseConcurrent})
		annBearer, _ := signIn(t, h, acct.Name, "ann")
		bobBearer, _ := signIn(t, h, acct.Name, "bob")
		startAgentSession(t, h, annBearer, rs5)
		for range 2 {
			if status, e := agentCall(t, h, "POST", "/sessions", bobBearer, `{"product":"remote-support-v5","platform":"mac"}`); status != http.StatusConflict {
				t.Fatalf("bob was not denied: %d %v", status, e)
			}
		}
		consoleAdmin(t, store, acct.ID, "rita@example.com", licensing.PrivRead)
		br := newBrowser(t, h.base)
		br.signIn(acct.Name, "rita@example.com", "secret-rita@example.com")

		status, page := br.get("/console/usage")
		if !strings.Contains(page, `<a class="download" href="/console/usage.csv?bucket=hour"`) {
			t.Errorf("the default range's CSV link is not the default range (the last 24 hours up to the download)")
		}
		from := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Minute)
		status, page = br.get("/console/usage?from=" + from.Format("2006-01-02T15:04") + "&to=" + from.Add(3*time.Hour).Format("2006-01-02T15:04"))
		if status != http.StatusOK || !strings.Contains(page, `href="/console/usage" aria-current="page"`) ||
			!strings.Contains(page, "<h2 id=\"usage-"+rs5+"\">Remote Support v5</h2>") ||
			!strings.Contains(page, "Peak 1 of 1 concurrent seats · 2 denied") || !strings.Contains(page, `<svg class="chart"`) ||
			!strings.Contains(page, `<rect class="denied"`) || strings.Contains(page, "may have been purged") {
			t.Fatalf("usage page: %d\n%s", status, page)
		}
		row := regexp.MustCompile(`<td data-label="Peak occupied">1</td><td data-label="Denied">2</td>`)
		if !row.MatchString(page) {
			t.Errorf("no table row with peak 1 and 2 denied:\n%s", page)
		}

		// The CSV holds the admin API's numbers for the same range.
		link := regexp.MustCompile(`<a class="download" href="([^"]+)"`).FindStringSubmatch(page)
		if link == nil {
			t.Fatalf("no CSV link")
		}
		csvPath := strings.ReplaceAll(link[1], "&amp;", "&")
		status, body := br.get(csvPath)
		if status != http.StatusOK || !strings.HasPrefix(br.header.Get("Content-Type"), "text/csv") ||
			!regexp.MustCompile(`^attachment; filename="usage-\d{8}T\d{4}Z-\d{8}T\d{4}Z\.csv"$`).MatchString(br.header.Get("Content-Disposition")) {
			t.Fatalf("CSV: %d %v", status, br.header)
		}
		records, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		if err != nil || len(records) < 2 || strings.Join(records[0], ",") != "productId,productName,start,end,concurrentSeats,peakOccupied,denials,secondsAtFull,seatHours" {
			t.Fatalf("CSV %v:\n%s", err, body)
		}
		apiStatus, api := h.admin(t, h.adminToken(t, acct.ID, licensing.PrivRead), "GET",
			"/usage?from="+from.Format(time.RFC3339), "")
		items, _ := api["items"].([]any)
		if apiStatus != http.StatusOK || len(items) != len(records)-1 {
			t.Fatalf("API report: %d, %d items for %d CSV rows", apiStatus, len(items), len(records)-1)
		}
		denials := 0
		for i, it := range items {
			item, rec := it.(map[string]any), records[i+1]
			d, _ := strconv.Atoi(rec[6])
			denials += d
			// The last bucket ends at each answer's now: not compared.
			want := []string{item["productId"].(string), item["productName"].(string), item["start"].(string),
				fmt.Sprint(item["concurrentSeats"]), fmt.Sprint(item["peakOccupied"]), fmt.Sprint(item["denials"])}
			if got := append(rec[:3:3], rec[4:7]...); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("CSV row %d = %v, API %v", i, got, want)
			}
		}
		if denials != 2 {
			t.Errorf("CSV denials = %d, want 2", denials)
		}

		if _, page := br.get("/console/usage?product=service-desk"); !strings.Contains(page, "No concurrent seat was occupied or refused in this range.") ||
			strings.Contains(page, "Remote Support v5</h2>") {
			t.Errorf("service desk has no usage, but the page says:\n%s", page)
		}
		if _, page := br.get("/console/usage?product=" + rs5 + "&from=2020-01-01T00:00&to=2020-01-02T00:00&bucket=day"); !strings.Contains(page, "No concurrent seat was occupied") {
			t.Errorf("a range in 2020 shows usage:\n%s", page)
		}
		for q, want := range map[string]string{
			"from=2026-01-02T00:00&to=2026-01-01T00:00": "to must be after from.",
			"from=yesterday": "From and to must be times",
			"bucket=week":    "bucket must be hour or day.",
			"from=2020-01-01T00:00&to=2020-06-01T00:00": "at most 93 days",
			"product=nothing": "no such product",
		} {
			if status, page := br.get("/console/usage?" + q); status != http.StatusBadRequest || !strings.Contains(page, want) || !strings.Contains(page, `<form class="filters"`) {
				t.Errorf("usage?%s: %d, want 400 saying %q", q, status, want)
			}
		}
		if status, _ := br.get("/console/usage.csv?bucket=week"); status != http.StatusBadRequest {
			t.Errorf("CSV of a bad range: %d", status)
		}

		// Another account's reader sees its own (empty) usage only.
		other, _ := h.account(t)
		if err := store.SetPlan(ctx, licensing.Plan{AccountID: other.ID, ProductID: rs5, ConcurrentSeats: 3}); err != nil {
			t.Fatal(err)
		}
		consoleAdmin(t, store, other.ID, "otto@example.com", licensing.PrivBilling)
		ob := newBrowser(t, h.base)
		ob.signIn(other.Name, "otto@example.com", "secret-otto@example.com")
		if status, page := ob.get("/console/usage"); status != http.StatusOK || !strings.Contains(page, "No concurrent seat was occupied") {
			t.Errorf("the other account sees usage: %d\n%s", status, page)
		}
		if _, body := ob.get(csvPath); strings.Contains(body, ",1,2,") || !strings.Contains(body, rs5+",Remote Support v5,") || !strings.Contains(body, ",3,0,0,") {
			t.Errorf("the other account's CSV:\n%s", body)
		}
	})
}

// TestConsoleUsageRetention proves that the Usage page says when the
// range reaches before the seat events the store certainly keeps.
func TestConsoleUsageRetention(t *testing.T) {
	store := testenv.SQLite(t)
	passwords := password.NewPool(password.PoolOptions{})
	h := consoleHarness(t, store, licensing.SystemClock{}, licensing.SignInPolicy{}, func(o *server.Options) {
		o.Console = console.New(console.Options{Store: store, Catalog: licensing.DefaultCatalog(), Verify: passwords.Verifier(password.LaneSignIn),
			HashPassword: passwords.Hash, Retention: licensing.Retention{SeatEvents: 6 * time.Hour}})
	})
	acct, _ := h.account(t)
	consoleAdmin(t, store, acct.ID, "rita@example.com", licensing.PrivRead)
	br := newBrowser(t, h.base)
	br.signIn(acct.Name, "rita@example.com", "secret-rita@example.com")
	if _, page := br.get("/console/usage?product=" + rs5); !strings.Contains(page, "may have been purged") {
		t.Errorf("the last 24 hours reach before 6 hours of retention, yet the page does not say so:\n%s", page)
	}
	from := time.Now().UTC().Add(-time.Hour).Format("2006-01-02T15:04")
	if _, page := br.get("/console/usage?product=" + rs5 + "&from=" + from); strings.Contains(page, "may have been purged") {
		t.Errorf("the last hour is kept, yet the page warns")
	}
}

// TestConsoleUsageAuditPrivileges proves which privileges open the Usage
// page (read, sessions or billing, as the admin API's GET /usage) and the
// Audit log (read, as GET /audit): the navigation bar shows only those,
// and a direct URL to another answers a 403 page.
func TestConsoleUsageAuditPrivileges(t *testing.T) {
	store := testenv.SQLite(t)
	h := consoleHarness(t, store, licensing.SystemClock{}, licensing.SignInPolicy{})
	acct, _ := h.account(t)
	for _, c := range []struct {
		priv         licensing.Privilege
		usage, audit bool
	}{
		{licensing.PrivRead, true, true},
		{licensing.PrivBilling, true, false},
		{licensing.PrivSessions, true, false},
		{licensing.PrivTokens, false, false},
		{licensing.PrivUsers, false, false},
	} {
		name := string(c.priv) + "@example.com"
		consoleAdmin(t, store, acct.ID, name, c.priv)
		br := newBrowser(t, h.base)
		_, home := br.signIn(acct.Name, name, "secret-"+name)
		for path, open := range map[string]bool{"/console/usage": c.usage, "/console/usage.csv": c.usage, "/console/audit": c.audit} {
			status, _ := br.get(path)
			if want := map[bool]int{true: http.StatusOK, false: http.StatusForbidden}[open]; status != want {
				t.Errorf("%s at %s: %d, want %d", c.priv, path, status, want)
			}
		}
		if strings.Contains(home, `href="/console/usage"`) != c.usage || strings.Contains(home, `href="/console/audit"`) != c.audit {
			t.Errorf("%s: the navigation bar shows usage %v, audit %v", c.priv, strings.Contains(home, `href="/console/usage"`), strings.Contains(home, `href="/console/audit"`))
		}
	}
}

// TestConsoleAudit proves the Audit log page: newest first, filtered by
// action, actor, target and time range as the admin API's, cursor-paged
// with sealed cursors, with advice when empty, and one account's entries
// never shown to another.
func TestConsoleAudit(t *testing.T) {
	onConsole(t, func(t *testing.T, store *sqlstore.Store, h *harness, acct licensing.Account, _ string) {
		ctx := context.Background()
		base := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Minute)
		var ids []string
		for i := range 55 {
			u := licensing.User{AccountID: acct.ID, ID: licensing.NewID(), UserName: fmt.Sprintf("u%02d@example.com", i), Active: true,
				Doc: []byte(`{}`), Created: base, LastModified: base, Version: 1}
			ids = append(ids, u.ID)
			at := base.Add(time.Duration(i) * time.Minute)
			entry := licensing.AuditEntry{AccountID: acct.ID, At: at, ActorID: "tok-" + strconv.Itoa(i%2), ActorName: "okta-" + strconv.Itoa(i%2),
				ActorScope: licensing.ScopeSCIM, Action: "user.create", TargetType: "user", TargetID: u.ID, Detail: u.UserName}
			if err := store.CreateUser(ctx, u, entry); err != nil {
				t.Fatal(err)
			}
		}
		consoleAdmin(t, store, acct.ID, "rita@example.com", licensing.PrivRead)
		br := newBrowser(t, h.base)
		br.signIn(acct.Name, "rita@example.com", "secret-rita@example.com")
		rows := func(page string) int { return strings.Count(page, `<td data-label="When">`) }

		status, page := br.get("/console/audit?action=user.create")
		next := regexp.MustCompile(`<a class="next" href="([^"]+)"`).FindStringSubmatch(page)
		if status != http.StatusOK || rows(page) != 50 || next == nil || !strings.Contains(page, "u54@example.com") || strings.Contains(page, "u04@example.com") {
			t.Fatalf("first page: %d, %d rows, next %v", status, rows(page), next)
		}
		if strings.Index(page, "u54@example.com") > strings.Index(page, "u53@example.com") {
			t.Errorf("not newest first")
		}
		if _, page = br.get(strings.ReplaceAll(next[1], "&amp;", "&")); rows(page) != 5 || !strings.Contains(page, "u00@example.com") || strings.Contains(page, `class="next"`) {
			t.Errorf("second page: %d rows", rows(page))
		}
		if _, page = br.get("/console/audit?action=user.create&actor=tok-1"); rows(page) != 27 || strings.Contains(page, "u00@example.com") {
			t.Errorf("actor tok-1: %d rows, want 27", rows(page))
		}
		if _, page = br.get("/console/audit?targetType=user&target=" + ids[7]); rows(page) != 1 || !strings.Contains(page, "u07@example.com") {
			t.Errorf("target u07: %d rows", rows(page))
		}
		from, to := base.Add(10*time.Minute).Format("2006-01-02T15:04"), base.Add(20*time.Minute).Format("2006-01-02T15:04")
		if _, page = br.get("/console/audit?from=" + from + "&to=" + to); rows(page) != 10 || !strings.Contains(page, "u10@example.com") || strings.Contains(page, "u20@example.com") {
			t.Errorf("from %s to %s: %d rows, want 10 (u10..u19)", from, to, rows(page))
		}
		if _, page = br.get("/console/audit?action=no.such"); rows(page) != 0 || !strings.Contains(page, "No entry matches these filters.") {
			t.Errorf("an action nobody did: %d rows", rows(page))
		}
		if status, page := br.get("/console/audit?from=" + to + "&to=" + from); status != http.StatusBadRequest || !strings.Contains(page, "From must be before to.") {
			t.Errorf("from after to: %d", status)
		}
		if status, _ := br.get("/console/audit?cursor=forged"); status != http.StatusBadRequest {
			t.Errorf("a forged cursor: %d, want 400", status)
		}

		// Another account's reader sees none of these, not even with this
		// account's cursor.
		other, _ := h.account(t)
		consoleAdmin(t, store, other.ID, "otto@example.com", licensing.PrivRead)
		ob := newBrowser(t, h.base)
		ob.signIn(other.Name, "otto@example.com", "secret-otto@example.com")
		if status, page := ob.get("/console/audit"); status != http.StatusOK || strings.Contains(page, "@example.com</td>") || strings.Contains(page, "tok-1") {
			t.Errorf("the other account sees this one's log: %d\n%s", status, page)
		}
		if status, _ := ob.get(strings.ReplaceAll(next[1], "&amp;", "&")); status != http.StatusBadRequest {
			t.Errorf("another account's cursor: %d, want 400", status)
		}
	})
}
