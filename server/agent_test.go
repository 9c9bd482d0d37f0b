package server_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/password"
	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
)

const rs5 = "remote-support-v5"

// agentCall sends a request to the agent API and decodes the JSON answer.
func agentCall(t *testing.T, h *harness, method, path, bearer, body string) (int, map[string]any) {
	t.Helper()
	status, header, raw := send(t, method, h.base+"/api/v1/agent"+path, bearer, "application/json", body)
	if status >= 400 && header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("%s %s: error Content-Type %q, want application/problem+json", method, path, header.Get("Content-Type"))
	}
	m := decodeObject(t, method+" "+path, raw)
	if m == nil {
		t.Fatalf("%s %s: empty answer", method, path)
	}
	return status, m
}

// agentUser stores a user with a password and assignments.
func agentUser(t testing.TB, store licensing.Store, accountID, userName string, active bool, a licensing.Assignments) licensing.User {
	t.Helper()
	hash, err := password.Hash("secret-" + userName)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	u := licensing.User{AccountID: accountID, ID: licensing.NewID(), UserName: userName, Active: active, Doc: []byte(`{}`),
		Created: now, LastModified: now, Version: 1, Assignments: a, PasswordHash: hash}
	if err := store.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

func signIn(t *testing.T, h *harness, account, userName string) (string, map[string]any) {
	t.Helper()
	status, body := agentCall(t, h, "POST", "/signin", "", `{"account":"`+account+`","userName":"`+userName+`","password":"secret-`+userName+`"}`)
	if status != http.StatusOK {
		t.Fatalf("sign in %s: %d %v", userName, status, body)
	}
	return body["token"].(string), body
}

// TestAgentSharedSeat walks the vendor's story: the last shared seat is
// taken, the next agent is told the exact sentence, and gets the seat
// when the first agent ends their session.
func TestAgentSharedSeat(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			store := b.Open(t)
			h := newHarness(t, store)
			acct, _ := h.account(t)
			ctx := context.Background()
			for _, p := range []licensing.Plan{
				{AccountID: acct.ID, ProductID: rs5, NamedSeats: 1, ConcurrentSeats: 1},
				{AccountID: acct.ID, ProductID: "service-desk", NamedSeats: 1},
			} {
				if err := store.SetPlan(ctx, p); err != nil {
					t.Fatal(err)
				}
			}
			agentUser(t, store, acct.ID, "ann", true, licensing.Assignments{rs5: licensing.LicenseConcurrent})
			agentUser(t, store, acct.ID, "bob", true, licensing.Assignments{rs5: licensing.LicenseConcurrent})
			agentUser(t, store, acct.ID, "cyd", true, licensing.Assignments{rs5: licensing.LicenseNamed})
			agentUser(t, store, acct.ID, "dan", false, licensing.Assignments{rs5: licensing.LicenseConcurrent})
			agentUser(t, store, acct.ID, "eve", true, licensing.Assignments{"service-desk": licensing.LicenseNamed})

			ann, body := signIn(t, h, acct.Name, "ann")
			products := body["products"].([]any)
			if len(products) != 1 || products[0].(map[string]any)["canStart"] != true || products[0].(map[string]any)["license"] != "concurrent" {
				t.Fatalf("ann's products: %v", products)
			}
			status, s1 := agentCall(t, h, "POST", "/sessions", ann, `{"product":"remote-support-v5","platform":"windows"}`)
			if status != http.StatusCreated || s1["state"] != "pending" {
				t.Fatalf("ann start: %d %v", status, s1)
			}
			// A second session of ann shares her seat.
			if status, s := agentCall(t, h, "POST", "/sessions", ann, `{"product":"remote-support-v5","platform":"mac","attended":false}`); status != http.StatusCreated {
				t.Fatalf("ann's second session: %d %v", status, s)
			}

			bob, body := signIn(t, h, acct.Name, "bob")
			bp := body["products"].([]any)[0].(map[string]any)
			if bp["canStart"] != false || bp["message"] != licensing.AllSharedInUse {
				t.Fatalf("bob's sign-in must carry the sentence: %v", bp)
			}
			status, denied := agentCall(t, h, "POST", "/sessions", bob, `{"product":"remote-support-v5","platform":"windows"}`)
			if status != http.StatusConflict || denied["detail"] != licensing.AllSharedInUse || denied["code"] != "all_shared_licenses_in_use" {
				t.Fatalf("bob start: %d %v", status, denied)
			}

			// A named agent is never refused.
			cyd, _ := signIn(t, h, acct.Name, "cyd")
			if status, s := agentCall(t, h, "POST", "/sessions", cyd, `{"product":"remote-support-v5","platform":"ios"}`); status != http.StatusCreated || s["license"] != "named" {
				t.Fatalf("cyd (named) start: %d %v", status, s)
			}

			// Bob waits; ann ends both sessions; bob gets the seat.
			type result struct {
				status int
				body   map[string]any
			}
			got := make(chan result, 1)
			go func() {
				s, b := agentCall(t, h, "POST", "/sessions", bob, `{"product":"remote-support-v5","platform":"android","wait":20}`)
				got <- result{s, b}
			}()
			status, list := agentCall(t, h, "GET", "/sessions", ann, "")
			sessions := list["sessions"].([]any)
			if status != http.StatusOK || len(sessions) != 2 {
				t.Fatalf("ann's sessions: %d %v", status, list)
			}
			for _, s := range sessions {
				id := s.(map[string]any)["id"].(string)
				if status, e := agentCall(t, h, "POST", "/sessions/"+id+"/end", ann, ""); status != http.StatusOK || e["state"] != "ended" {
					t.Fatalf("end %s: %d %v", id, status, e)
				}
			}
			select {
			case r := <-got:
				if r.status != http.StatusCreated || r.body["state"] != "pending" {
					t.Fatalf("bob's wait: %d %v", r.status, r.body)
				}
				id := r.body["id"].(string)
				if status, c := agentCall(t, h, "POST", "/sessions/"+id+"/connect", bob, ""); status != http.StatusOK || c["state"] != "connected" {
					t.Fatalf("bob connect: %d %v", status, c)
				}
				if status, c := agentCall(t, h, "POST", "/sessions/"+id+"/heartbeat", bob, ""); status != http.StatusOK || c["state"] != "connected" {
					t.Fatalf("bob heartbeat: %d %v", status, c)
				}
				// Ann may neither see nor end bob's session.
				if status, _ := agentCall(t, h, "POST", "/sessions/"+id+"/end", ann, ""); status != http.StatusNotFound {
					t.Fatalf("ann ended bob's session: %d", status)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("bob never got the freed seat")
			}

			// A call on an ended session is told so.
			first := sessions[0].(map[string]any)["id"].(string)
			if status, e := agentCall(t, h, "POST", "/sessions/"+first+"/heartbeat", ann, ""); status != http.StatusGone || e["code"] != "session_ended" {
				t.Fatalf("heartbeat on an ended session: %d %v", status, e)
			}

			// Refusals.
			for _, c := range []struct {
				name, body string
				status     int
				code       string
			}{
				{"wrong password", `{"account":"` + acct.Name + `","userName":"ann","password":"nope"}`, 401, "invalid_credentials"},
				{"unknown user", `{"account":"` + acct.Name + `","userName":"zed","password":"x"}`, 401, "invalid_credentials"},
				{"unknown account", `{"account":"no-such-account-` + licensing.NewID() + `","userName":"ann","password":"secret-ann"}`, 401, "invalid_credentials"},
				{"inactive user", `{"account":"` + acct.Name + `","userName":"dan","password":"secret-dan"}`, 403, "user_inactive"},
				{"malformed", `{"account":`, 400, "invalid_request"},
			} {
				if status, e := agentCall(t, h, "POST", "/signin", "", c.body); status != c.status || e["code"] != c.code {
					t.Errorf("%s: %d %v, want %d %s", c.name, status, e, c.status, c.code)
				}
			}
			eve, _ := signIn(t, h, acct.Name, "eve")
			if status, e := agentCall(t, h, "POST", "/sessions", eve, `{"product":"remote-support-v5","platform":"mac"}`); status != http.StatusForbidden || e["code"] != "not_entitled" {
				t.Errorf("unassigned product: %d %v", status, e)
			}
			if status, e := agentCall(t, h, "POST", "/sessions", eve, `{"product":"chat","platform":"mac"}`); status != http.StatusNotFound || e["code"] != "unknown_product" {
				t.Errorf("unknown product: %d %v", status, e)
			}
			if status, e := agentCall(t, h, "POST", "/sessions", eve, `{"product":"service-desk","platform":"amiga"}`); status != http.StatusBadRequest {
				t.Errorf("bad platform: %d %v", status, e)
			}
			if status, e := agentCall(t, h, "GET", "/sessions", "", ""); status != http.StatusUnauthorized || e["code"] != "unauthenticated" {
				t.Errorf("no token: %d %v", status, e)
			}

			// An admin-issued agent token signs in without a password; an
			// expired one does not.
			cydUser, err := licensing.UserByName(ctx, store, acct.ID, "cyd")
			if err != nil {
				t.Fatal(err)
			}
			_, issued, err := licensing.IssueAgentToken(ctx, store, licensing.SystemClock{}, acct.ID, cydUser.ID, "kiosk", 0)
			if err != nil {
				t.Fatal(err)
			}
			if status, e := agentCall(t, h, "POST", "/signin", issued, ""); status != http.StatusOK || e["user"].(map[string]any)["userName"] != "cyd" {
				t.Errorf("sign-in with an agent token: %d %v", status, e)
			}
			_, expired, err := licensing.IssueAgentToken(ctx, store, licensing.SystemClock{}, acct.ID, cydUser.ID, "old", time.Nanosecond)
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Millisecond)
			if status, _ := agentCall(t, h, "POST", "/signin", expired, ""); status != http.StatusUnauthorized {
				t.Errorf("expired agent token signed in: %d", status)
			}
			if status, _ := agentCall(t, h, "GET", "/sessions", expired, ""); status != http.StatusUnauthorized {
				t.Errorf("expired agent token used: %d", status)
			}
			// A SCIM token is no agent token.
			_, scimToken := h.account(t)
			if status, _ := agentCall(t, h, "GET", "/sessions", scimToken, ""); status != http.StatusUnauthorized {
				t.Errorf("SCIM token opened the agent API: %d", status)
			}
		})
	}
}

// TestSeatsFollowTheUser checks over HTTP that deactivating an agent
// through SCIM ends their session and frees the seat at once, and that
// the agent app's next call is told why.
func TestSeatsFollowTheUser(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			store := b.Open(t)
			h := newHarness(t, store)
			acct, scimToken := h.account(t)
			ctx := context.Background()
			if err := store.SetPlan(ctx, licensing.Plan{AccountID: acct.ID, ProductID: rs5, ConcurrentSeats: 1}); err != nil {
				t.Fatal(err)
			}
			ann := agentUser(t, store, acct.ID, "ann", true, licensing.Assignments{rs5: licensing.LicenseConcurrent})
			agentUser(t, store, acct.ID, "bob", true, licensing.Assignments{rs5: licensing.LicenseConcurrent})
			annToken, _ := signIn(t, h, acct.Name, "ann")
			status, s := agentCall(t, h, "POST", "/sessions", annToken, `{"product":"remote-support-v5","platform":"windows"}`)
			if status != http.StatusCreated {
				t.Fatalf("ann start: %d %v", status, s)
			}
			status, body := do(t, "PATCH", h.url+"/Users/"+ann.ID, scimToken,
				`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}`)
			if status != http.StatusOK || body["active"] != false {
				t.Fatalf("deactivate ann: %d %v", status, body)
			}
			// Deactivation revoked ann's sign-in token and ended her
			// session as deprovisioned.
			status, e := agentCall(t, h, "POST", "/sessions/"+s["id"].(string)+"/heartbeat", annToken, "")
			if status != http.StatusUnauthorized || e["code"] != "unauthenticated" {
				t.Fatalf("ann's heartbeat after deactivation: %d %v, want 401: her token is revoked", status, e)
			}
			if ended, err := store.Session(ctx, acct.ID, s["id"].(string)); err != nil || ended.EndReason != licensing.EndedByDeprovision {
				t.Fatalf("ann's session after deactivation: %+v %v, want ended as deprovisioned", ended, err)
			}
			bobToken, _ := signIn(t, h, acct.Name, "bob")
			if status, s := agentCall(t, h, "POST", "/sessions", bobToken, `{"product":"remote-support-v5","platform":"mac"}`); status != http.StatusCreated {
				t.Fatalf("bob did not get the freed seat: %d %v", status, s)
			}
			if status, e := agentCall(t, h, "POST", "/signin", "", `{"account":"`+acct.Name+`","userName":"ann","password":"secret-ann"}`); status != http.StatusForbidden || e["code"] != "user_inactive" {
				t.Fatalf("inactive ann signs in again: %d %v, want 403 user_inactive", status, e)
			}
		})
	}
}
