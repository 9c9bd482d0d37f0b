package server_test

import (
	"context"
	"encoding/csv"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/admin"
	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/server"
)

// TestUsageTimeZones proves that GET /usage and the console's Usage page
// follow the days of the zone asked for: one seat held from 23:30 on
// 2026-03-28 to 03:30 on 2026-03-30 in Berlin falls in three local days,
// the middle one 23 hours long (daylight saving time starts), with the
// report's times written with the zone's offsets (CSV too); New York's
// and Kolkata's (+05:30) days start at their midnights; the hourly
// summaries (sealed) answer as the raw events; and an unknown zone is
// refused in the protocol's format.
func TestUsageTimeZones(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			store := b.Open(t)
			ctx := context.Background()
			acct, _ := testenv.Account(t, store)
			clock := testenv.NewClock(time.Date(2026, 4, 2, 12, 0, 0, 0, time.UTC))
			if err := store.SetPlan(ctx, licensing.Plan{AccountID: acct.ID, ProductID: rs5, ConcurrentSeats: 1}); err != nil {
				t.Fatal(err)
			}
			ann := sessionAgent(t, store, acct.ID, "ann", "Ann", licensing.Assignments{rs5: licensing.LicenseConcurrent})
			taken := time.Date(2026, 3, 28, 22, 30, 0, 0, time.UTC)
			sess := &licensing.Session{ID: licensing.NewID(), AccountID: acct.ID, ProductID: rs5, UserID: ann.ID, Platform: licensing.PlatformWindows,
				CreatedAt: taken, LastSeen: taken, ExpiresAt: taken.Add(72 * time.Hour)}
			if err := store.StartSession(ctx, sess, ""); err != nil {
				t.Fatal(err)
			}
			if _, err := store.EndSession(ctx, acct.ID, ann.ID, sess.ID, licensing.EndedByAgent, "", taken.Add(27*time.Hour)); err != nil {
				t.Fatal(err)
			}
			bearer := testenv.Token(t, store, acct.ID, licensing.ScopeAdmin, licensing.PrivRead)
			ad := admin.New(admin.Options{Store: store, Clock: clock, Catalog: licensing.DefaultCatalog()})
			e := server.New(server.Options{Store: store, Clock: clock, Logger: slog.New(slog.DiscardHandler), Admin: ad})
			ts := httptest.NewServer(checkAgainstOpenAPI(t, e, &opHits{}))
			t.Cleanup(ts.Close)
			report := func(query string) (int, map[string]any) {
				t.Helper()
				status, _, raw := send(t, "GET", ts.URL+server.AdminPath+"/usage?"+query, bearer, "", "")
				return status, decodeObject(t, "GET /usage?"+query, raw)
			}
			type row struct {
				start, end string
				seatHours  float64
			}
			check := func(query string, want []row) {
				t.Helper()
				status, body := report(query)
				items, _ := body["items"].([]any)
				if status != http.StatusOK || len(items) != len(want) {
					t.Fatalf("GET /usage?%s: %d %v", query, status, body)
				}
				for i, w := range want {
					it := items[i].(map[string]any)
					if it["start"] != w.start || it["end"] != w.end || (w.seatHours >= 0 && it["seatHours"] != w.seatHours) {
						t.Errorf("GET /usage?%s item %d: %v..%v %v seat-hours, want %+v", query, i, it["start"], it["end"], it["seatHours"], w)
					}
				}
			}
			berlin := "bucket=day&tz=Europe/Berlin&from=2026-03-28T00:00:00%2B01:00&to=2026-03-31T00:00:00%2B02:00"
			berlinDays := []row{
				{"2026-03-28T00:00:00+01:00", "2026-03-29T00:00:00+01:00", 0.5},
				{"2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00", 23}, // 23 hours long
				{"2026-03-30T00:00:00+02:00", "2026-03-31T00:00:00+02:00", 3.5},
			}
			check(berlin, berlinDays)
			if _, body := report(berlin); body["timeZone"] != "Europe/Berlin" || body["from"] != "2026-03-28T00:00:00+01:00" {
				t.Errorf("report's zone and from: %v %v", body["timeZone"], body["from"])
			}
			check("bucket=day&tz=America/New_York&from=2026-03-07T00:00:00-05:00&to=2026-03-10T00:00:00-04:00", []row{
				{"2026-03-07T00:00:00-05:00", "2026-03-08T00:00:00-05:00", 0},
				{"2026-03-08T00:00:00-05:00", "2026-03-09T00:00:00-04:00", 0}, // 23 hours long
				{"2026-03-09T00:00:00-04:00", "2026-03-10T00:00:00-04:00", 0},
			})
			check("bucket=day&tz=Asia/Kolkata&from=2026-03-29T00:00:00%2B05:30&to=2026-03-31T00:00:00%2B05:30", []row{
				{"2026-03-29T00:00:00+05:30", "2026-03-30T00:00:00+05:30", 20}, // from 04:00 local
				{"2026-03-30T00:00:00+05:30", "2026-03-31T00:00:00+05:30", 7},  // until 07:00 local
			})
			// Sealed into hourly summaries, the same numbers.
			if _, err := licensing.SealUsage(ctx, store, clock.Now()); err != nil {
				t.Fatal(err)
			}
			check(berlin, berlinDays)

			for _, bad := range []string{"tz=Mars/Olympus", "tz=Local", "tz=../../etc/passwd"} {
				status, body := report(bad)
				if status != http.StatusBadRequest || !strings.Contains(body["detail"].(string), "There is no time zone") {
					t.Errorf("GET /usage?%s: %d %v", bad, status, body)
				}
			}

			// The console: the same days in the zone of its tz parameter,
			// the CSV's times with the offset; an unknown zone is a form
			// error; without one, UTC, said so.
			h := consoleHarness(t, store, licensing.SystemClock{}, licensing.SignInPolicy{}) // signs in at the real time
			consoleAdmin(t, store, acct.ID, "rita@example.com", licensing.PrivRead)
			br := newBrowser(t, h.base)
			br.signIn(acct.Name, "rita@example.com", "secret-rita@example.com")
			status, page := br.get("/console/usage?bucket=day&tz=Europe/Berlin&from=2026-03-28T00:00&to=2026-03-31T00:00")
			if status != http.StatusOK || !strings.Contains(page, "Times in Europe/Berlin.") ||
				!strings.Contains(page, `<td data-label="From">2026-03-29</td><td data-label="To">2026-03-30</td><td data-label="Peak occupied">1</td><td data-label="Denied">0</td><td data-label="At 100%">23h</td>`) ||
				!strings.Contains(page, `<input type="hidden" name="tz" value="Europe/Berlin">`) {
				t.Fatalf("usage page in Berlin: %d\n%s", status, page)
			}
			status, body := br.get("/console/usage.csv?bucket=day&tz=Europe/Berlin&from=2026-03-28T00:00&to=2026-03-31T00:00")
			records, err := csv.NewReader(strings.NewReader(body)).ReadAll()
			if status != http.StatusOK || err != nil || len(records) != 4 || records[2][2] != "2026-03-29T00:00:00+01:00" || records[2][3] != "2026-03-30T00:00:00+02:00" {
				t.Fatalf("CSV in Berlin: %d %v\n%s", status, err, body)
			}
			if status, page := br.get("/console/usage?tz=Nowhere/Special"); status != http.StatusBadRequest ||
				!strings.Contains(page, `There is no time zone &#34;Nowhere/Special&#34;`) {
				t.Errorf("unknown zone: %d\n%s", status, page)
			}
			if _, page := br.get("/console/usage?bucket=day&from=2026-03-28T00:00&to=2026-03-31T00:00"); !strings.Contains(page, "Times in UTC (your browser's time zone is used when JavaScript is on).") {
				t.Errorf("a page without a zone does not say it is in UTC:\n%s", page)
			}
		})
	}
}
