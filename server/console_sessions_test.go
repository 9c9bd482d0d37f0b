package server_test

import (
	"bufio"
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/storage/sqlstore"
)

// startShared signs the agent in over the agent API and starts a session
// of Remote Support v5; it returns the agent's bearer and the session id.
func startShared(t *testing.T, h *harness, account, userName string) (string, string) {
	t.Helper()
	bearer, _ := signIn(t, h, account, userName)
	status, answer := agentCall(t, h, "POST", "/sessions", bearer, `{"product":"`+rs5+`","platform":"windows"}`)
	if status != http.StatusCreated {
		t.Fatalf("%s starts a session: %d %v", userName, status, answer)
	}
	return bearer, answer["id"].(string)
}

// TestConsoleSharedSessions proves the shared sessions page: who may see
// it and who may end sessions, the agents listed, a POST without its CSRF
// token refused, the confirmation naming the agents, ending through the
// licensing service with the person audited as actor, the agents' next
// call answering 410, and another account's session refused as unknown.
func TestConsoleSharedSessions(t *testing.T) {
	onConsole(t, func(t *testing.T, store *sqlstore.Store, h *harness, acct licensing.Account, _ string) {
		ctx := context.Background()
		if err := store.SetPlan(ctx, licensing.Plan{AccountID: acct.ID, ProductID: rs5, ConcurrentSeats: 3}); err != nil {
			t.Fatal(err)
		}
		sam := consoleAdmin(t, store, acct.ID, "sam@example.com", licensing.PrivSessions)
		consoleAdmin(t, store, acct.ID, "rita@example.com", licensing.PrivRead)
		consoleAdmin(t, store, acct.ID, "tess@example.com", licensing.PrivTokens)

		sam1 := newBrowser(t, h.base)
		sam1.signIn(acct.Name, "sam@example.com", "secret-sam@example.com")
		if _, page := sam1.get("/console/sessions"); !strings.Contains(page, "No agent occupies a shared seat of Remote Support v5 now.") {
			t.Errorf("the empty list does not say what to do next:\n%s", page)
		}

		bearers := map[string]string{}
		ids, sids := map[string]string{}, map[string]string{}
		for _, name := range []string{"ann", "bob", "cyd"} {
			u := agentUser(t, store, acct.ID, name, true, licensing.Assignments{rs5: licensing.LicenseConcurrent})
			ids[name] = rs5 + ":" + u.ID
			bearers[name], sids[name] = startShared(t, h, acct.Name, name)
		}
		other, _ := h.account(t)
		if err := store.SetPlan(ctx, licensing.Plan{AccountID: other.ID, ProductID: rs5, ConcurrentSeats: 1}); err != nil {
			t.Fatal(err)
		}
		stranger := agentUser(t, store, other.ID, "zed", true, licensing.Assignments{rs5: licensing.LicenseConcurrent})
		startShared(t, h, other.Name, "zed")

		tess := newBrowser(t, h.base)
		tess.signIn(acct.Name, "tess@example.com", "secret-tess@example.com")
		if status, page := tess.get("/console/sessions"); status != http.StatusForbidden || !strings.Contains(page, "needs one of these privileges") {
			t.Errorf("without sessions or read: %d", status)
		}

		rita := newBrowser(t, h.base)
		rita.signIn(acct.Name, "rita@example.com", "secret-rita@example.com")
		status, page := rita.get("/console/sessions")
		if status != http.StatusOK || strings.Count(page, `<td data-label="Agent">`) != 3 || strings.Contains(page, "End session") ||
			!strings.Contains(page, "3 of 3 shared seats occupied") || strings.Contains(page, "zed") || !strings.Contains(page, `<time datetime="`) {
			t.Errorf("read only: %d\n%s", status, page)
		}
		if status, _ := rita.post("/console/sessions/end", url.Values{"product": {rs5}, "id": {ids["ann"]}, "confirm": {"1"}}, page); status != http.StatusForbidden {
			t.Errorf("read only, end: %d, want 403", status)
		}

		_, page = sam1.get("/console/sessions")
		if !strings.Contains(page, `<button type="submit" class="end" id="end-button">End session</button>`) || !strings.Contains(page, `name="id" value="`+ids["ann"]+`"`) {
			t.Fatalf("sessions privilege: no End session form\n%s", page)
		}
		open := func(accountID string) int {
			t.Helper()
			s, err := store.OpenSessions(ctx, accountID, rs5)
			if err != nil {
				t.Fatal(err)
			}
			return len(s)
		}
		end := url.Values{"product": {rs5}, "id": {ids["ann"], ids["bob"]}}
		if status, _ := sam1.post("/console/sessions/end", url.Values{"product": {rs5}, "id": {ids["ann"]}, "confirm": {"1"}}, ""); status != http.StatusForbidden || open(acct.ID) != 3 {
			t.Errorf("end without CSRF: %d, %d open", status, open(acct.ID))
		}
		for _, id := range []string{rs5 + ":" + stranger.ID, "no-such-product:" + stranger.ID, "garbage", rs5 + ":\xff\x00"} {
			if status, _ := sam1.post("/console/sessions/end", url.Values{"product": {rs5}, "id": {id}, "confirm": {"1"}}, page); status != http.StatusNotFound || open(other.ID) != 1 {
				t.Errorf("end %s: %d, want 404 (%d open in the other account)", id, status, open(other.ID))
			}
		}
		status, confirm := sam1.post("/console/sessions/end", end, page)
		if status != http.StatusOK || !strings.Contains(confirm, "2 shared sessions of Remote Support v5 will end") ||
			!strings.Contains(confirm, "<li><input type=\"hidden\" name=\"id\" value=\""+ids["ann"]+"\">ann</li>") || !strings.Contains(confirm, ">bob</li>") ||
			strings.Contains(confirm, ">cyd</li>") || open(acct.ID) != 3 {
			t.Fatalf("confirmation: %d, %d open\n%s", status, open(acct.ID), confirm)
		}
		end.Set("confirm", "1")
		status, done := sam1.post("/console/sessions/end", end, confirm)
		if status != http.StatusOK || !strings.Contains(done, "2 seats freed.") || strings.Count(done, "Ended 1 session; the seat is free.") != 2 ||
			!strings.Contains(done, "1 of 3 shared seats occupied") || open(acct.ID) != 1 {
			t.Fatalf("end two: %d, %d open\n%s", status, open(acct.ID), done)
		}
		for name, want := range map[string]int{"ann": http.StatusGone, "bob": http.StatusGone, "cyd": http.StatusOK} {
			if status, answer := agentCall(t, h, "POST", "/sessions/"+sids[name]+"/heartbeat", bearers[name], ""); status != want {
				t.Errorf("%s's next heartbeat: %d %v, want %d", name, status, answer, want)
			}
		}
		// Ending again: the seat is free already, said per session.
		if status, again := sam1.post("/console/sessions/end", end, done); status != http.StatusOK || !strings.Contains(again, "No seat freed.") ||
			!strings.Contains(again, "ann: Not ended: this agent holds no shared seat of Remote Support v5 any more.") {
			t.Errorf("end again: %d\n%s", status, again)
		}
		entries, err := store.AuditLog(ctx, acct.ID, licensing.AuditQuery{Action: "session.end", Limit: 5})
		if err != nil || len(entries.Items) != 2 || entries.Items[0].ActorID != "console:"+sam.ID || entries.Items[0].ActorScope != licensing.ActorConsole {
			t.Errorf("audit of the ends: %+v %v", entries.Items, err)
		}
	})
}

var eventsURL = regexp.MustCompile(`data-events="([^"]+)"`)

// TestConsoleSharedSessionsEvents proves the live updates: the event
// stream tells a page at once that what it shows is stale, and later when
// an agent starts a session over the agent API.
func TestConsoleSharedSessionsEvents(t *testing.T) {
	onConsole(t, func(t *testing.T, store *sqlstore.Store, h *harness, acct licensing.Account, _ string) {
		setPlan(t, store, licensing.Plan{AccountID: acct.ID, ProductID: rs5, ConcurrentSeats: 3})
		consoleAdmin(t, store, acct.ID, "rita@example.com", licensing.PrivRead)
		agentUser(t, store, acct.ID, "ann", true, licensing.Assignments{rs5: licensing.LicenseConcurrent})
		br := newBrowser(t, h.base)
		br.signIn(acct.Name, "rita@example.com", "secret-rita@example.com")
		_, page := br.get("/console/sessions")
		m := eventsURL.FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no events URL in the page:\n%s", page)
		}
		events := html.UnescapeString(m[1])
		listen := func(u string) *bufio.Scanner { t.Helper(); return eventStream(t, br, u) }
		next := func(sc *bufio.Scanner) string { t.Helper(); return nextEvent(t, sc) }
		stale := strings.Replace(events, "v=", "v=stale", 1)
		if ev := next(listen(stale)); ev != "seats" {
			t.Errorf("a stale page was told %q", ev)
		}
		sc := listen(events)
		startShared(t, h, acct.Name, "ann")
		if ev := next(sc); ev != "seats" {
			t.Errorf("a session started: the page was told %q", ev)
		}
		if _, page := br.get("/console/sessions"); !strings.Contains(page, `<td data-label="Agent">ann</td>`) {
			t.Errorf("the page reloaded does not list ann:\n%s", page)
		}
	})
}

// eventStream opens the event stream at u (a page's data-events) as the
// browser, failing the test unless it is one. Its request ends after 20
// seconds at the latest.
func eventStream(t *testing.T, br *browser, u string) *bufio.Scanner {
	t.Helper()
	rctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(rctx, "GET", br.base+u, nil)
	req.Header.Set("Accept", "text/event-stream") // as EventSource sends it
	resp, err := br.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	br.header = resp.Header
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return bufio.NewScanner(resp.Body)
}

// nextEvent returns the name of the stream's next event.
func nextEvent(t *testing.T, sc *bufio.Scanner) string {
	t.Helper()
	for sc.Scan() {
		if ev, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
			return ev
		}
	}
	t.Fatalf("the event stream ended without an event: %v", sc.Err())
	return ""
}

// streamEnds reads the stream to its end and returns the names of its
// events; it fails the test if the stream was cut by the request's own
// 20 seconds rather than ended by the server.
func streamEnds(t *testing.T, sc *bufio.Scanner) []string {
	t.Helper()
	var events []string
	for sc.Scan() {
		if ev, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
			events = append(events, ev)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("the event stream did not end by itself (after %v): %v", events, err)
	}
	return events
}

// TestConsoleSharedSessionsEventsEnd proves that an open shared sessions
// page stops being fed the moment its person may no longer use the
// console: deactivated over SCIM (Okta's PATCH), their privileges taken
// away over the admin API, deleted over SCIM, signed out. The stream
// ends with an "ended" event (the page then goes to sign-in), while the
// stream of another admin goes on.
func TestConsoleSharedSessionsEventsEnd(t *testing.T) {
	onConsole(t, func(t *testing.T, store *sqlstore.Store, h *harness, acct licensing.Account, scimBearer string) {
		setPlan(t, store, licensing.Plan{AccountID: acct.ID, ProductID: rs5, ConcurrentSeats: 3})
		agentUser(t, store, acct.ID, "agent", true, licensing.Assignments{rs5: licensing.LicenseConcurrent})
		apiTok := h.adminToken(t, acct.ID, licensing.AllPrivileges...)
		bob := consoleAdmin(t, store, acct.ID, "bob@example.com", licensing.PrivRead)
		bobBr := newBrowser(t, h.base)
		bobBr.signIn(acct.Name, bob.UserName, "secret-"+bob.UserName)
		_, page := bobBr.get("/console/sessions")
		bobStream := eventStream(t, bobBr, html.UnescapeString(eventsURL.FindStringSubmatch(page)[1]))
		for _, end := range []struct {
			name string
			do   func(u licensing.User, br *browser, page string)
		}{
			{"deactivated over SCIM", func(u licensing.User, _ *browser, _ string) {
				if status, raw, _ := scimCall(t, h, scimBearer, "PATCH", "/Users/"+u.ID,
					`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`); status != http.StatusOK {
					t.Fatalf("SCIM PATCH: %d %s", status, raw)
				}
			}},
			{"privileges taken away over the API", func(u licensing.User, _ *browser, _ string) {
				if status, answer := h.admin(t, apiTok, "PUT", "/users/"+u.ID+"/privileges", `{"privileges":["users"]}`); status != http.StatusOK {
					t.Fatalf("PUT privileges: %d %v", status, answer)
				}
			}},
			{"deleted over SCIM", func(u licensing.User, _ *browser, _ string) {
				if status, raw, _ := scimCall(t, h, scimBearer, "DELETE", "/Users/"+u.ID, ""); status != http.StatusNoContent {
					t.Fatalf("SCIM DELETE: %d %s", status, raw)
				}
			}},
			{"signed out in another tab", func(_ licensing.User, br *browser, page string) {
				br.post("/console/signout", url.Values{}, page)
			}},
		} {
			u := consoleAdmin(t, store, acct.ID, "ann-"+strings.ReplaceAll(end.name, " ", "-")+"@example.com", licensing.PrivRead, licensing.PrivSessions)
			br := newBrowser(t, h.base)
			br.signIn(acct.Name, u.UserName, "secret-"+u.UserName)
			_, page := br.get("/console/sessions")
			m := eventsURL.FindStringSubmatch(page)
			if m == nil {
				t.Fatalf("%s: no events URL in the page", end.name)
			}
			sc := eventStream(t, br, html.UnescapeString(m[1]))
			end.do(u, br, page)
			if got := streamEnds(t, sc); !slices.Equal(got, []string{"ended"}) {
				t.Errorf("%s: the stream's events were %v, want [ended]", end.name, got)
			}
			// Reopened, the stream says so at once, leaving the cookie for
			// the page, which then goes to sign-in saying why.
			if got := streamEnds(t, eventStream(t, br, "/console/sessions/events?product="+rs5)); !slices.Equal(got, []string{"ended"}) || br.header.Get("Set-Cookie") != "" {
				t.Errorf("%s: the stream reopened told %v, Set-Cookie %q", end.name, got, br.header.Get("Set-Cookie"))
			}
			sessions := "/console/sessions?product=" + rs5
			want := "/console/signin?ended=1&next=" + url.QueryEscape(sessions)
			if end.name == "signed out in another tab" { // the sign-out took the cookie
				want = "/console/signin?next=" + url.QueryEscape(sessions)
			}
			if br.get(sessions); br.last != want {
				t.Errorf("%s: the page went to %s, want %s", end.name, br.last, want)
			}
		}
		// Bob's stream was not ended with the others': it tells him of a
		// session started now.
		startShared(t, h, acct.Name, "agent")
		if ev := nextEvent(t, bobStream); ev != "seats" {
			t.Errorf("another admin's stream was told %q", ev)
		}
	})
}

// setPlan stores the plan.
func setPlan(t *testing.T, store licensing.Store, p licensing.Plan) {
	t.Helper()
	if err := store.SetPlan(context.Background(), p); err != nil {
		t.Fatal(err)
	}
}

// sharedSeats stores n agents of the account holding concurrent licenses
// of Remote Support v5, each with one open session started at the same
// instant, and returns their users.
func sharedSeats(tb testing.TB, store licensing.Store, accountID string, n int) []licensing.User {
	tb.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	users := make([]licensing.User, 0, n)
	for i := range n {
		u := licensing.User{AccountID: accountID, ID: licensing.NewID(), UserName: fmt.Sprintf("agent%03d@example.com", i), Active: true,
			Doc:     []byte(fmt.Sprintf(`{"emails":[{"value":"agent%03d@example.com","primary":true}]}`, i)),
			Created: now, LastModified: now, Version: 1, Assignments: licensing.Assignments{rs5: licensing.LicenseConcurrent}}
		if err := store.CreateUser(ctx, u); err != nil {
			tb.Fatal(err)
		}
		s := licensing.Session{ID: licensing.NewID(), AccountID: accountID, ProductID: rs5, UserID: u.ID, Platform: licensing.PlatformWindows,
			CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(time.Hour)}
		if err := store.StartSession(ctx, &s, ""); err != nil {
			tb.Fatal(err)
		}
		users = append(users, u)
	}
	return users
}

var nextPage = regexp.MustCompile(`<a class="next" href="([^"]+)"`)

// TestConsoleSharedSessionsPaged proves the list's pages: 55 agents whose
// sessions started at the same instant, 50 on the first page and 5 on
// the next, each once; a forged cursor refused.
func TestConsoleSharedSessionsPaged(t *testing.T) {
	onConsole(t, func(t *testing.T, store *sqlstore.Store, h *harness, acct licensing.Account, _ string) {
		setPlan(t, store, licensing.Plan{AccountID: acct.ID, ProductID: rs5, ConcurrentSeats: 60})
		sharedSeats(t, store, acct.ID, 55)
		consoleAdmin(t, store, acct.ID, "rita@example.com", licensing.PrivRead)
		br := newBrowser(t, h.base)
		br.signIn(acct.Name, "rita@example.com", "secret-rita@example.com")
		agent := regexp.MustCompile(`<td data-label="Email">(agent\d+@example.com)</td>`)
		seen := map[string]int{}
		_, page := br.get("/console/sessions?product=" + rs5)
		for _, want := range []int{50, 5} {
			rows := agent.FindAllStringSubmatch(page, -1)
			if len(rows) != want {
				t.Fatalf("a page of %d rows, want %d", len(rows), want)
			}
			for _, r := range rows {
				seen[r[1]]++
			}
			m := nextPage.FindStringSubmatch(page)
			if want == 5 {
				if m != nil {
					t.Errorf("the last page links a next one")
				}
				break
			}
			if m == nil {
				t.Fatalf("the first page links no next one")
			}
			_, page = br.get(html.UnescapeString(m[1]))
		}
		if len(seen) != 55 {
			t.Errorf("%d agents listed across the pages, want 55 each once", len(seen))
		}
		if status, _ := br.get("/console/sessions?product=" + rs5 + "&cursor=forged"); status != http.StatusBadRequest {
			t.Errorf("a forged cursor: %d, want 400", status)
		}
	})
}

// BenchmarkConsoleSharedSessions measures the shared sessions page over
// HTTP with 200 agents each holding one of 200 concurrent seats (the
// first page of 50, names filled).
//
//	SCIMD_TEST_POSTGRES=postgres://... go test ./server -run '^$' -bench ConsoleSharedSessions -benchtime 200x
func BenchmarkConsoleSharedSessions(b *testing.B) {
	for _, be := range testenv.Backends(b) {
		store := be.Open(b)
		h := consoleHarness(b, store, licensing.SystemClock{}, licensing.SignInPolicy{})
		acct, _ := h.account(b)
		if err := store.SetPlan(context.Background(), licensing.Plan{AccountID: acct.ID, ProductID: rs5, ConcurrentSeats: 200}); err != nil {
			b.Fatal(err)
		}
		sharedSeats(b, store, acct.ID, 200)
		u := agentUser(b, store, acct.ID, "rita@example.com", true, nil)
		if _, err := store.SetConsolePrivileges(context.Background(), acct.ID, u.ID, []licensing.Privilege{licensing.PrivRead}); err != nil {
			b.Fatal(err)
		}
		br := newBrowser(b, h.base)
		br.signIn(acct.Name, "rita@example.com", "secret-rita@example.com")
		b.Run(be.Name+"/seats=200", func(b *testing.B) {
			for b.Loop() {
				if status, _ := br.get("/console/sessions?product=" + rs5); status != http.StatusOK {
					b.Fatal(status)
				}
			}
		})
	}
}
