package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
)

// TestConsoleUsageAuditInChromium opens the Usage and Audit log pages in
// headless Chromium, on each backend: after two agents took both shared
// seats of Remote Support v5 and a third was refused, the Usage page
// draws the chart and the table of those numbers and links the CSV, the
// day bucket is chosen through the form, the Audit log lists the admin
// API's user creations and filters them through the form and through a
// cell's link, and neither page overflows at 1280 or 390 px. It writes a
// screenshot of each.
func TestConsoleUsageAuditInChromium(t *testing.T) {
	chromiumPath(t)
	dir := screenshotDir(t)
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			store := b.Open(t)
			h := consoleHarness(t, store, licensing.SystemClock{}, licensing.SignInPolicy{})
			acct, _ := h.account(t)
			ctx := context.Background()
			for _, p := range []licensing.Plan{
				{AccountID: acct.ID, ProductID: rs5, NamedSeats: 5, ConcurrentSeats: 2},
				{AccountID: acct.ID, ProductID: "service-desk", ConcurrentSeats: 3},
			} {
				if err := store.SetPlan(ctx, p); err != nil {
					t.Fatal(err)
				}
			}
			consoleAdmin(t, store, acct.ID, "ann@example.com", licensing.AllPrivileges...)
			admTok := h.adminToken(t, acct.ID, licensing.PrivUsers, licensing.PrivProducts)
			for i, name := range []string{"Ada Moreau", "Ben Okafor", "Chloe Lindqvist"} {
				given, family, _ := strings.Cut(name, " ")
				body := fmt.Sprintf(`{"userName":"agent%d@example.com","name":{"givenName":%q,"familyName":%q},"password":"secret-agent%d@example.com","products":{"%s":"concurrent"}}`,
					i, given, family, i, rs5)
				if status, answer := h.admin(t, admTok, "POST", "/users", body); status != http.StatusCreated {
					t.Fatalf("create agent %d: %d %v", i, status, answer)
				}
				bearer, _ := signIn(t, h, acct.Name, fmt.Sprintf("agent%d@example.com", i))
				want := http.StatusCreated
				if i == 2 {
					want = http.StatusConflict // both seats taken
				}
				if status, answer := agentCall(t, h, "POST", "/sessions", bearer, `{"product":"`+rs5+`","platform":"windows"}`); status != want {
					t.Fatalf("agent %d starts a session: %d %v", i, status, answer)
				}
			}
			c := newChrome(t, h.base, dir, b.Name)
			c.signIn(acct.Name, "ann@example.com", "secret-ann@example.com")

			c.run("open the usage page", chromedp.Click(chromedp.CSS(`nav a[href="/console/usage"]`)), c.at("/console/usage"))
			if got := c.text("#usage-" + rs5); got != "Remote Support v5" {
				t.Fatalf("the usage page's first product is %q", got)
			}
			if got := c.text(".usage .count"); !strings.HasPrefix(got, "Peak 2 of 2 concurrent seats · 1 denied · ") {
				t.Errorf("Remote Support v5's usage says %q", got)
			}
			if n := value(c, "count bars", chromedp.Evaluate[int](`document.querySelectorAll(".usage:first-of-type svg rect.full").length`)); n < 1 {
				t.Errorf("no bar at 100%% in Remote Support v5's chart")
			}
			if href := value(c, "CSV link", chromedp.Evaluate[string](`document.querySelector("a.download").getAttribute("href")`)); !strings.HasPrefix(href, "/console/usage.csv?") {
				t.Errorf("the CSV link is %q", href)
			}
			c.noOverflow("the usage page at 1280 px")
			c.shot("20-usage")
			c.run("per day", chromedp.SetValue(chromedp.CSS("#bucket"), "day"), chromedp.Click(chromedp.CSS("form.filters button")),
				until(`location.search.includes("bucket=day") && document.readyState === "complete"`))
			cells := value(c, "day cells", chromedp.Evaluate[[]string](`["Peak occupied", "Denied"].map(l =>
				Array.from(document.querySelectorAll('.usage:first-of-type td[data-label="' + l + '"]')).map(td => td.textContent).join(","))`))
			if len(cells) != 2 || !strings.HasSuffix(cells[0], "2") || !strings.HasSuffix(cells[1], "1") {
				t.Errorf("per day, the peaks and denials are %q, want today's 2 and 1 last", cells)
			}

			// The usage page asks for itself again in the browser's time
			// zone: day buckets from New York's midnights.
			c.run("usage per day in New York", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				_, err := cdp.Call(ctx, tg, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "America/New_York"})
				return err
			}), chromedp.Navigate(h.base+"/console/usage?bucket=day"),
				until(`new URLSearchParams(location.search).get("tz") === "America/New_York" && document.readyState === "complete"`))
			newYork, _ := time.LoadLocation("America/New_York")
			nyNow := time.Now().In(newYork)
			zoneText := c.text(".zone")
			days := value(c, "day labels", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('.usage:first-of-type td[data-label="From"]')).map(td => td.textContent)`))
			if zoneText != "Times in America/New_York." || len(days) == 0 || days[len(days)-1] != nyNow.Format("2006-01-02") {
				t.Errorf("in New York the page says %q with days %q, want the last %s", zoneText, days, nyNow.Format("2006-01-02"))
			}
			_, offset := nyNow.Zone()
			if rng := c.text(".usage-range"); !strings.Contains(rng, fmt.Sprintf("(UTC-%02d:00)", -offset/3600)) {
				t.Errorf("the range in New York reads %q", rng)
			}
			c.shot("20-usage-new-york")

			// Times show in the browser's time zone.
			c.run("open the audit log in Kolkata", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				_, err := cdp.Call(ctx, tg, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Asia/Kolkata"})
				return err
			}), chromedp.Click(chromedp.CSS(`nav a[href="/console/audit"]`)), c.at("/console/audit"))
			when := value(c, "an entry's time", chromedp.Evaluate[[]string](`(t => [t.getAttribute("datetime"), t.textContent])(document.querySelector('table.audit td[data-label="When"] time'))`))
			at, err := time.Parse(time.RFC3339, when[0])
			if err != nil {
				t.Fatalf("an entry's datetime: %v", err)
			}
			kolkata := at.In(time.FixedZone("IST", 5*3600+1800))
			if want := fmt.Sprintf("%d:%02d", (kolkata.Hour()+11)%12+1, kolkata.Minute()); !strings.Contains(when[1], want) || strings.Contains(when[1], "UTC") {
				t.Errorf("an audit entry of %s reads %q in Kolkata, want %s", when[0], when[1], want)
			}
			if n := value(c, "count entries", chromedp.Evaluate[int](`document.querySelectorAll("table.audit tbody tr").length`)); n < 3 {
				t.Errorf("the audit log lists %d entries, want the 3 user creations at least", n)
			}
			c.run("filter by action", chromedp.SetValue(chromedp.CSS("#action"), "user.create"), chromedp.Click(chromedp.CSS("form.filters button")),
				until(`location.search.includes("action=user.create") && document.readyState === "complete"`))
			if n := value(c, "count creations", chromedp.Evaluate[int](`document.querySelectorAll("table.audit tbody tr").length`)); n != 3 {
				t.Errorf("user.create lists %d entries, want 3", n)
			}
			c.noOverflow("the audit log at 1280 px")
			c.shot("22-audit")
			c.run("follow a target's link", chromedp.Click(chromedp.CSS(`table.audit tbody tr td[data-label="Target"] a`)),
				// The form's URL holds an empty target= too; the link's holds no action.
				until(`new URLSearchParams(location.search).get("target") && !location.search.includes("action=") && document.readyState === "complete"`))
			if n := value(c, "count target", chromedp.Evaluate[int](`document.querySelectorAll("table.audit tbody tr").length`)); n != 1 {
				t.Errorf("one user's entries: %d, want 1", n)
			}

			c.run("narrow usage", chromedp.EmulateViewport(390, 844), chromedp.Navigate(h.base+"/console/usage"), c.at("/console/usage"))
			c.noOverflow("the usage page at 390 px")
			c.shot("21-usage-390px")
			c.run("narrow audit", chromedp.Navigate(h.base+"/console/audit"), c.at("/console/audit"))
			c.noOverflow("the audit log at 390 px")
			c.shot("23-audit-390px")
		})
	}
}
