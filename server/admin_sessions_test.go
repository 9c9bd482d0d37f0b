package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/password"
	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/storage/sqlstore"
)

// sessionAgent stores an agent with a display name, an email (as the
// second, primary one of its SCIM document) and a password for signIn.
func sessionAgent(t *testing.T, store licensing.Store, accountID, userName, displayName string, a licensing.Assignments) licensing.User {
	t.Helper()
	hash, err := password.Hash("secret-" + userName)
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := json.Marshal(map[string]any{"emails": []map[string]any{
		{"value": userName + "@home.example", "type": "home"},
		{"value": userName + "@example.com", "type": "work", "primary": true},
	}})
	now := time.Now().UTC()
	u := licensing.User{AccountID: accountID, ID: licensing.NewID(), UserName: userName, DisplayName: displayName, Active: true,
		Doc: doc, Created: now, LastModified: now, Version: 1, Assignments: a, PasswordHash: hash}
	if err := store.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

// sessionAdmin issues an admin token and returns it with its bearer.
func sessionAdmin(t *testing.T, store licensing.Store, accountID string, privileges ...licensing.Privilege) (licensing.Token, string) {
	t.Helper()
	tok, bearer, err := licensing.IssueAdminToken(context.Background(), store, licensing.SystemClock{}, accountID, "session admin", privileges)
	if err != nil {
		t.Fatal(err)
	}
	return tok, bearer
}

// startAgentSession starts a session of the product and fails the test
// unless it is created.
func startAgentSession(t *testing.T, h *harness, bearer, product string) string {
	t.Helper()
	status, s := agentCall(t, h, "POST", "/sessions", bearer, `{"product":"`+product+`","platform":"windows"}`)
	if status != http.StatusCreated {
		t.Fatalf("start %s: %d %v", product, status, s)
	}
	return s["id"].(string)
}

// sharedItems returns the items and nextCursor of a shared-session list.
func sharedItems(t *testing.T, h *harness, bearer, query string) ([]map[string]any, string) {
	t.Helper()
	status, body := h.admin(t, bearer, "GET", "/sessions"+query, "")
	if status != http.StatusOK {
		t.Fatalf("GET /sessions%s: %d %v", query, status, body)
	}
	var items []map[string]any
	for _, it := range body["items"].([]any) {
		items = append(items, it.(map[string]any))
	}
	next, _ := body["nextCursor"].(string)
	return items, next
}

func sharedIDs(items []map[string]any) []string {
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it["id"].(string)
	}
	return ids
}

func seatsOccupied(t *testing.T, store licensing.Store, accountID, product string) int {
	t.Helper()
	usage, err := store.Usage(context.Background(), accountID)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range usage {
		if u.ProductID == product {
			return u.ConcurrentOccupied
		}
	}
	return 0
}

// planned opens the backend, serves it and makes an account with the
// plans (their AccountID is set here).
func planned(t *testing.T, b testenv.Backend, plans ...licensing.Plan) (*sqlstore.Store, *harness, licensing.Account) {
	t.Helper()
	store := b.Open(t)
	h := newHarness(t, store)
	acct, _ := h.account(t)
	for _, p := range plans {
		p.AccountID = acct.ID
		if err := store.SetPlan(context.Background(), p); err != nil {
			t.Fatal(err)
		}
	}
	return store, h, acct
}

// TestAdminSharedSessions lists the shared sessions (one per concurrent
// seat, with the agent's names and email), filters and pages them, ends
// one and then several at once, and checks that the seats are free, that
// the admin is recorded as the actor and that the agent app is told.
func TestAdminSharedSessions(t *testing.T) {
	const desk = "service-desk"
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			store, h, acct := planned(t, b, licensing.Plan{ProductID: rs5, NamedSeats: 1, ConcurrentSeats: 3}, licensing.Plan{ProductID: desk, ConcurrentSeats: 2})
			ctx := context.Background()
			ann := sessionAgent(t, store, acct.ID, "ann", "Ann Lee", licensing.Assignments{rs5: licensing.LicenseConcurrent})
			bob := sessionAgent(t, store, acct.ID, "bob", "", licensing.Assignments{rs5: licensing.LicenseConcurrent})
			cyd := sessionAgent(t, store, acct.ID, "cyd", "Cyd", licensing.Assignments{desk: licensing.LicenseConcurrent})
			dan := sessionAgent(t, store, acct.ID, "dan", "Dan", licensing.Assignments{rs5: licensing.LicenseNamed})

			annBearer, _ := signIn(t, h, acct.Name, "ann")
			annFirst := startAgentSession(t, h, annBearer, rs5)
			annSecond := startAgentSession(t, h, annBearer, rs5) // shares ann's seat
			if status, s := agentCall(t, h, "POST", "/sessions/"+annSecond+"/connect", annBearer, ""); status != http.StatusOK {
				t.Fatalf("connect: %d %v", status, s)
			}
			bobBearer, _ := signIn(t, h, acct.Name, "bob")
			bobSession := startAgentSession(t, h, bobBearer, rs5)
			cydBearer, _ := signIn(t, h, acct.Name, "cyd")
			cydSession := startAgentSession(t, h, cydBearer, desk)
			danBearer, _ := signIn(t, h, acct.Name, "dan")
			danSession := startAgentSession(t, h, danBearer, rs5) // named: holds no shared seat

			tok, bearer := sessionAdmin(t, store, acct.ID, licensing.PrivSessions)
			_, reader := sessionAdmin(t, store, acct.ID, licensing.PrivRead)
			annID, bobID, cydID, danID := rs5+":"+ann.ID, rs5+":"+bob.ID, desk+":"+cyd.ID, rs5+":"+dan.ID

			// The listing: one shared session per seat, oldest first.
			items, next := sharedItems(t, h, reader, "")
			if got := sharedIDs(items); strings.Join(got, " ") != strings.Join([]string{annID, bobID, cydID}, " ") || next != "" {
				t.Fatalf("shared sessions = %v (next %q), want ann's, bob's, cyd's", got, next)
			}
			open, err := store.OpenSessions(ctx, acct.ID, rs5)
			if err != nil {
				t.Fatal(err)
			}
			var annSince, annSeen time.Time
			for _, s := range open {
				if s.UserID == ann.ID && (annSince.IsZero() || s.CreatedAt.Before(annSince)) {
					annSince = s.CreatedAt
				}
				if s.UserID == ann.ID && s.LastSeen.After(annSeen) {
					annSeen = s.LastSeen
				}
			}
			want := map[string]any{
				"id": annID, "productId": rs5, "productName": "Remote Support v5", "userId": ann.ID,
				"userName": "ann", "displayName": "Ann Lee", "email": "ann@example.com",
				"state": "connected", "sessions": float64(2),
				"since": annSince.UTC().Format(time.RFC3339Nano), "lastHeartbeat": annSeen.UTC().Format(time.RFC3339Nano),
			}
			if fmt.Sprint(items[0]) != fmt.Sprint(want) {
				t.Errorf("ann's shared session:\n got %v\nwant %v", items[0], want)
			}
			if items[1]["state"] != "pending" || items[1]["sessions"] != float64(1) || items[1]["email"] != "bob@example.com" {
				t.Errorf("bob's shared session: %v", items[1])
			}
			if _, ok := items[1]["displayName"]; ok {
				t.Errorf("bob has no displayName: %v", items[1])
			}

			// Filter by product.
			if items, _ := sharedItems(t, h, reader, "?product="+desk); len(items) != 1 || items[0]["id"] != cydID || items[0]["productName"] != "Service Desk" {
				t.Errorf("?product=%s: %v", desk, items)
			}
			if status, e := h.admin(t, reader, "GET", "/sessions?product=chat", ""); status != http.StatusNotFound || e["code"] != "unknown_product" {
				t.Errorf("unknown product: %d %v", status, e)
			}

			// Cursor paging, one at a time, gives the same list.
			var paged []string
			cursor := ""
			for range 5 {
				q := "?limit=1"
				if cursor != "" {
					q += "&cursor=" + url.QueryEscape(cursor)
				}
				items, next := sharedItems(t, h, reader, q)
				paged = append(paged, sharedIDs(items)...)
				if next == "" {
					break
				}
				cursor = next
			}
			if strings.Join(paged, " ") != strings.Join([]string{annID, bobID, cydID}, " ") {
				t.Errorf("paged = %v", paged)
			}
			for _, bad := range []string{"?cursor=%25%25", "?cursor=bm90IGpzb24", "?limit=0"} {
				if status, e := h.admin(t, reader, "GET", "/sessions"+bad, ""); status != http.StatusBadRequest || e["code"] != "invalid_request" {
					t.Errorf("GET /sessions%s: %d %v", bad, status, e)
				}
			}

			// Another account sees none of them and cannot end them.
			other, _ := h.account(t)
			_, otherBearer := sessionAdmin(t, store, other.ID, licensing.PrivSessions)
			if items, _ := sharedItems(t, h, otherBearer, ""); len(items) != 0 {
				t.Errorf("another account sees %v", items)
			}
			if status, e := h.admin(t, otherBearer, "DELETE", "/sessions/"+annID, ""); status != http.StatusNotFound || e["code"] != "not_found" {
				t.Errorf("another account's DELETE: %d %v", status, e)
			}
			if status, e := h.admin(t, otherBearer, "POST", "/sessions/end", `{"ids":["`+annID+`"]}`); status != http.StatusOK ||
				fmt.Sprint(e["results"].([]any)[0].(map[string]any)["ended"]) != "false" {
				t.Errorf("another account's bulk end: %d %v", status, e)
			}
			// Reading is not ending.
			if status, e := h.admin(t, reader, "DELETE", "/sessions/"+annID, ""); status != http.StatusForbidden {
				t.Errorf("read token ended a session: %d %v", status, e)
			}
			if n := seatsOccupied(t, store, acct.ID, rs5); n != 2 {
				t.Fatalf("rs5 occupied = %d, want 2 (ann, bob)", n)
			}

			// End ann's shared session (the colon escaped, as a client may):
			// both of her sessions end.
			status, body := h.admin(t, bearer, "DELETE", "/sessions/"+strings.Replace(annID, ":", "%3A", 1), "")
			if status != http.StatusOK || fmt.Sprint(body) != fmt.Sprint(map[string]any{"id": annID, "ended": true, "sessionsEnded": float64(2)}) {
				t.Fatalf("DELETE ann's: %d %v", status, body)
			}
			if n := seatsOccupied(t, store, acct.ID, rs5); n != 1 {
				t.Errorf("rs5 occupied after ending ann's = %d, want 1", n)
			}
			for _, id := range []string{annFirst, annSecond} {
				s, err := store.Session(ctx, acct.ID, id)
				if err != nil || s.State != licensing.SessionEnded || s.EndReason != licensing.EndedByAdmin || s.EndedBy != tok.ID {
					t.Errorf("ann's session %s: %+v %v, want ended by admin %s", id, s, err, tok.ID)
				}
				status, e := agentCall(t, h, "POST", "/sessions/"+id+"/heartbeat", annBearer, "")
				if status != http.StatusGone || e["code"] != "session_ended" || e["detail"] != "This session was ended by an administrator." {
					t.Errorf("ann's next call on %s: %d %v", id, status, e)
				}
			}
			if status, e := h.admin(t, bearer, "DELETE", "/sessions/"+annID, ""); status != http.StatusNotFound || e["code"] != "not_found" {
				t.Errorf("DELETE of a freed seat: %d %v", status, e)
			}
			// Ids that name nothing, and a named license (no shared seat).
			for _, id := range []string{"garbage", rs5 + ":", "chat:" + bob.ID, rs5 + ":" + licensing.NewID(), danID} {
				if status, e := h.admin(t, bearer, "DELETE", "/sessions/"+url.PathEscape(id), ""); status != http.StatusNotFound || e["code"] != "not_found" {
					t.Errorf("DELETE /sessions/%s: %d %v", id, status, e)
				}
			}
			if s, err := store.Session(ctx, acct.ID, danSession); err != nil || s.State == licensing.SessionEnded {
				t.Errorf("dan's named session was ended: %+v %v", s, err)
			}

			// End several: a result per id, in order; a repeat is handled once.
			status, body = h.admin(t, bearer, "POST", "/sessions/end", `{"ids":["`+bobID+`","nope","`+cydID+`","`+bobID+`"]}`)
			if status != http.StatusOK {
				t.Fatalf("POST /sessions/end: %d %v", status, body)
			}
			results := body["results"].([]any)
			if len(results) != 4 {
				t.Fatalf("results = %v", results)
			}
			for i, w := range []struct {
				id    string
				ended bool
				n     float64
			}{{bobID, true, 1}, {"nope", false, 0}, {cydID, true, 1}, {bobID, false, 0}} {
				r := results[i].(map[string]any)
				if r["id"] != w.id || r["ended"] != w.ended || r["sessionsEnded"] != w.n {
					t.Errorf("result %d = %v, want %s ended=%v sessionsEnded=%v", i, r, w.id, w.ended, w.n)
				}
				e, hasErr := r["error"].(map[string]any)
				if w.ended == hasErr || hasErr && (e["status"] != float64(404) || e["code"] != "not_found" || e["detail"] == "") {
					t.Errorf("result %d error = %v", i, r["error"])
				}
			}
			if items, _ := sharedItems(t, h, reader, ""); len(items) != 0 {
				t.Errorf("shared sessions left: %v", items)
			}
			if n, m := seatsOccupied(t, store, acct.ID, rs5), seatsOccupied(t, store, acct.ID, desk); n != 0 || m != 0 {
				t.Errorf("occupied after ending all: rs5 %d, %s %d", n, desk, m)
			}
			if status, p := h.admin(t, reader, "GET", "/products/"+rs5, ""); status == http.StatusOK {
				if c := p["concurrent"].(map[string]any); c["occupied"] != float64(0) || c["total"] != float64(3) {
					t.Errorf("product usage after ending: %v", p)
				}
			}
			for _, c := range []struct{ bearer, id string }{{bobBearer, bobSession}, {cydBearer, cydSession}} {
				if status, e := agentCall(t, h, "POST", "/sessions/"+c.id+"/connect", c.bearer, ""); status != http.StatusGone || e["code"] != "session_ended" {
					t.Errorf("call on a session ended in bulk: %d %v", status, e)
				}
			}

			// The seat events name the admin; the audit log has one entry
			// per shared session ended.
			events, err := store.SeatEvents(ctx, acct.ID, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			ended := 0
			for _, e := range events {
				if e.Kind == licensing.SeatEnded {
					ended++
					if e.Actor != tok.ID || e.Reason != licensing.EndedByAdmin {
						t.Errorf("seat event %+v: want actor %s", e, tok.ID)
					}
				}
			}
			if ended != 3 {
				t.Errorf("%d ended seat events, want 3 (ann, bob, cyd)", ended)
			}
			audit, err := store.AuditLog(ctx, acct.ID, licensing.AuditQuery{Action: "session.end", Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range audit.Items { // newest first
				if e.ActorID != tok.ID || e.TargetType != "shared_session" {
					t.Errorf("audit entry %+v", e)
				}
				got = append(got, e.TargetID+" "+e.Detail)
			}
			wantAudit := []string{cydID + " service-desk: 1 session ended", bobID + " remote-support-v5: 1 session ended", annID + " remote-support-v5: 2 sessions ended"}
			if strings.Join(got, "|") != strings.Join(wantAudit, "|") {
				t.Errorf("audit = %q, want %q", got, wantAudit)
			}

			// Malformed bulk requests change nothing.
			many := make([]string, 101)
			for i := range many {
				many[i] = `"x"`
			}
			for _, body := range []string{`{"ids":[]}`, `{}`, `{"ids":[` + strings.Join(many, ",") + `]}`, `{"ids":["x"],"all":true}`, `[`} {
				if status, e := h.admin(t, bearer, "POST", "/sessions/end", body); status != http.StatusBadRequest || e["code"] != "invalid_request" {
					t.Errorf("POST /sessions/end %.40s: %d %v", body, status, e)
				}
			}
		})
	}
}

// TestAdminEndSessionHandsSeatToWaiter: with one concurrent seat, ann
// holds it and bob waits for it; the admin ends ann's shared session and
// the seat goes to bob, the first waiter, not to cyd who asks later
// without waiting.
func TestAdminEndSessionHandsSeatToWaiter(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			store, h, acct := planned(t, b, licensing.Plan{ProductID: rs5, ConcurrentSeats: 1})
			ctx := context.Background()
			ann := sessionAgent(t, store, acct.ID, "ann", "Ann", licensing.Assignments{rs5: licensing.LicenseConcurrent})
			sessionAgent(t, store, acct.ID, "bob", "Bob", licensing.Assignments{rs5: licensing.LicenseConcurrent})
			sessionAgent(t, store, acct.ID, "cyd", "Cyd", licensing.Assignments{rs5: licensing.LicenseConcurrent})
			annBearer, _ := signIn(t, h, acct.Name, "ann")
			bobBearer, _ := signIn(t, h, acct.Name, "bob")
			cydBearer, _ := signIn(t, h, acct.Name, "cyd")
			annSession := startAgentSession(t, h, annBearer, rs5)

			type result struct {
				status int
				body   map[string]any
			}
			got := make(chan result, 1)
			go func() {
				s, b := agentCall(t, h, "POST", "/sessions", bobBearer, `{"product":"remote-support-v5","platform":"mac","wait":20}`)
				got <- result{s, b}
			}()
			// Bob is in line before the seat is freed.
			for waiting := 0; waiting == 0; {
				var err error
				if waiting, err = store.Waiting(ctx, acct.ID, rs5, time.Now()); err != nil {
					t.Fatal(err)
				}
				time.Sleep(5 * time.Millisecond)
			}
			_, bearer := sessionAdmin(t, store, acct.ID, licensing.PrivSessions)
			if status, body := h.admin(t, bearer, "DELETE", "/sessions/"+rs5+":"+ann.ID, ""); status != http.StatusOK || body["sessionsEnded"] != float64(1) {
				t.Fatalf("end ann's shared session: %d %v", status, body)
			}
			// Bob waits ahead of cyd, or holds the seat already.
			if status, e := agentCall(t, h, "POST", "/sessions", cydBearer, `{"product":"remote-support-v5","platform":"mac"}`); status != http.StatusConflict || e["detail"] != licensing.AllSharedInUse {
				t.Errorf("cyd took the seat bob waits for: %d %v", status, e)
			}
			select {
			case r := <-got:
				if r.status != http.StatusCreated || r.body["license"] != "concurrent" {
					t.Fatalf("bob's wait: %d %v", r.status, r.body)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("bob never got the freed seat")
			}
			_, reader := sessionAdmin(t, store, acct.ID, licensing.PrivRead)
			if items, _ := sharedItems(t, h, reader, ""); len(items) != 1 || items[0]["userName"] != "bob" {
				t.Errorf("shared sessions after the handover: %v", items)
			}
			if status, e := agentCall(t, h, "POST", "/sessions/"+annSession+"/heartbeat", annBearer, ""); status != http.StatusGone || e["detail"] != "This session was ended by an administrator." {
				t.Errorf("ann's next call: %d %v", status, e)
			}
		})
	}
}

// usageTotals sums a usage report's items.
func usageTotals(t *testing.T, body map[string]any) (items []map[string]any, denials, peak int, seatHours, full float64) {
	t.Helper()
	for _, it := range body["items"].([]any) {
		m := it.(map[string]any)
		items = append(items, m)
		denials += int(m["denials"].(float64))
		peak = max(peak, int(m["peakOccupied"].(float64)))
		seatHours += m["seatHours"].(float64)
		full += m["secondsAtFull"].(float64)
	}
	return items, denials, peak, seatHours, full
}

// TestAdminUsage reports the usage of a product after agents took,
// were denied and freed its one seat: denials and peak exactly, and
// seat-hours and time at 100% as the seat events' times give them,
// including for a range that starts while a seat was held.
func TestAdminUsage(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			store, h, acct := planned(t, b, licensing.Plan{ProductID: rs5, ConcurrentSeats: 1}, licensing.Plan{ProductID: "service-desk", NamedSeats: 2})
			ctx := context.Background()
			ann := sessionAgent(t, store, acct.ID, "ann", "Ann", licensing.Assignments{rs5: licensing.LicenseConcurrent})
			sessionAgent(t, store, acct.ID, "bob", "Bob", licensing.Assignments{rs5: licensing.LicenseConcurrent})
			annBearer, _ := signIn(t, h, acct.Name, "ann")
			bobBearer, _ := signIn(t, h, acct.Name, "bob")
			_, sessions := sessionAdmin(t, store, acct.ID, licensing.PrivSessions)
			_, billing := sessionAdmin(t, store, acct.ID, licensing.PrivBilling)

			startAgentSession(t, h, annBearer, rs5)
			for range 2 {
				if status, e := agentCall(t, h, "POST", "/sessions", bobBearer, `{"product":"remote-support-v5","platform":"mac"}`); status != http.StatusConflict {
					t.Fatalf("bob was not denied: %d %v", status, e)
				}
			}
			if status, body := h.admin(t, sessions, "DELETE", "/sessions/"+rs5+":"+ann.ID, ""); status != http.StatusOK {
				t.Fatalf("end ann's: %d %v", status, body)
			}
			bobSession := startAgentSession(t, h, bobBearer, rs5)
			if status, e := agentCall(t, h, "POST", "/sessions/"+bobSession+"/end", bobBearer, ""); status != http.StatusOK {
				t.Fatalf("bob's end: %d %v", status, e)
			}

			// The seat was held from each occupied event to the next free.
			events, err := store.SeatEvents(ctx, acct.ID, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			var kinds []string
			var held time.Duration
			var takenAt []time.Time
			for _, e := range events {
				kinds = append(kinds, string(e.Kind))
				switch licensing.SeatDelta(e.Kind) {
				case 1:
					takenAt = append(takenAt, e.At)
				case -1:
					held += e.At.Sub(takenAt[len(takenAt)-1])
				}
			}
			if strings.Join(kinds, " ") != "occupied denied denied ended occupied released" {
				t.Fatalf("seat events = %v", kinds)
			}
			wantHours := held.Seconds() / 3600

			// The default report: the last 24 hours by the hour, every
			// product with a plan.
			status, body := h.admin(t, billing, "GET", "/usage", "")
			if status != http.StatusOK || body["bucket"] != "hour" {
				t.Fatalf("GET /usage: %d %v", status, body)
			}
			from, _ := time.Parse(time.RFC3339, body["from"].(string))
			to, _ := time.Parse(time.RFC3339, body["to"].(string))
			if to.Sub(from) != 24*time.Hour {
				t.Errorf("default range %v..%v", from, to)
			}
			items, denials, peak, seatHours, full := usageTotals(t, body)
			perProduct := map[string]int{}
			for _, it := range items {
				perProduct[it["productId"].(string)]++
			}
			if n := len(items) / 2; len(perProduct) != 2 || perProduct[rs5] != n || n < 24 || n > 25 {
				t.Errorf("default report buckets per product = %v", perProduct)
			}
			if denials != 2 || peak != 1 || math.Abs(seatHours-wantHours) > 1e-3 || math.Abs(full-held.Seconds()) > 1e-2 {
				t.Errorf("default report: denials %d peak %d seatHours %v secondsAtFull %v, want 2, 1, %v, %v",
					denials, peak, seatHours, full, wantHours, held.Seconds())
			}

			// A range starting while ann held the seat: the seat held at
			// from is derived from today's occupancy and the events since.
			mid := takenAt[0].Add(events[1].At.Sub(takenAt[0]) / 2) // before the denials
			q := "?product=" + rs5 + "&bucket=day&from=" + url.QueryEscape(mid.Format(time.RFC3339Nano)) + "&to=" + url.QueryEscape(time.Now().Add(time.Hour).Format(time.RFC3339))
			status, body = h.admin(t, sessions, "GET", "/usage"+q, "")
			if status != http.StatusOK || body["bucket"] != "day" {
				t.Fatalf("GET /usage%s: %d %v", q, status, body)
			}
			if to, _ := time.Parse(time.RFC3339, body["to"].(string)); to.After(time.Now()) {
				t.Errorf("a report ending in the future ends now, not %v", to)
			}
			items, denials, peak, seatHours, full = usageTotals(t, body)
			wantHours -= mid.Sub(takenAt[0]).Hours()
			wantFull := (held - mid.Sub(takenAt[0])).Seconds()
			if len(items) < 1 || len(items) > 2 || items[0]["productName"] != "Remote Support v5" || items[0]["concurrentSeats"] != float64(1) {
				t.Errorf("items = %v", items)
			}
			if denials != 2 || peak != 1 || math.Abs(seatHours-wantHours) > 1e-3 || math.Abs(full-wantFull) > 1e-2 {
				t.Errorf("report from %v: denials %d peak %d seatHours %v secondsAtFull %v, want 2, 1, %v, %v",
					mid, denials, peak, seatHours, full, wantHours, wantFull)
			}
			// A range after everything: nothing held, nothing denied.
			q = "?product=" + rs5 + "&from=" + url.QueryEscape(time.Now().Format(time.RFC3339Nano))
			if status, body = h.admin(t, sessions, "GET", "/usage"+q, ""); status == http.StatusOK {
				if _, denials, peak, seatHours, _ := usageTotals(t, body); denials != 0 || peak != 0 || seatHours != 0 {
					t.Errorf("report after the events: %v", body)
				}
			} else if status != http.StatusBadRequest { // from may be a hair after the server's now
				t.Errorf("GET /usage%s: %d %v", q, status, body)
			}

			// Refusals.
			now := time.Now().UTC()
			day := func(d int) string { return url.QueryEscape(now.AddDate(0, 0, d).Format(time.RFC3339)) }
			for _, c := range []struct {
				query  string
				status int
				code   string
			}{
				{"?bucket=week", 400, "invalid_request"},
				{"?from=yesterday", 400, "invalid_request"},
				{"?from=" + day(-1) + "&to=" + day(-2), 400, "invalid_request"},
				{"?from=" + day(-1) + "&to=" + day(-1), 400, "invalid_request"},
				{"?from=" + day(-100), 400, "invalid_request"},
				{"?from=" + day(-90) + "&bucket=hour", 400, "invalid_request"}, // 2160 buckets
				{"?from=" + day(1) + "&to=" + day(2), 400, "invalid_request"},
				{"?product=chat", 404, "unknown_product"},
			} {
				if status, e := h.admin(t, sessions, "GET", "/usage"+c.query, ""); status != c.status || e["code"] != c.code {
					t.Errorf("GET /usage%s: %d %v, want %d %s", c.query, status, e, c.status, c.code)
				}
			}
			if status, body := h.admin(t, sessions, "GET", "/usage?from="+day(-90)+"&bucket=day", ""); status != http.StatusOK {
				t.Errorf("90 days by the day: %d %v", status, body)
			}
			_, products := sessionAdmin(t, store, acct.ID, licensing.PrivProducts)
			if status, e := h.admin(t, products, "GET", "/usage", ""); status != http.StatusForbidden {
				t.Errorf("a products token read the usage: %d %v", status, e)
			}
		})
	}
}
