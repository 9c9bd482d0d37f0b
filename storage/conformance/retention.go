package conformance

import (
	"context"
	"testing"
	"time"

	"github.com/scimd/scimd/licensing"
)

// fixedClock always tells the same time.
type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

// testRetention runs in a past of its own (the 1980s, before testLeases'
// year 2000), since a purge spans every account: its rows are the only
// ones old enough for its cutoff, and the rows of the tests beside it are
// never purged. Old rows go, recent and open ones stay, a batch deletes
// at most its limit, and a policy of 0 keeps a kind forever.
func testRetention(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	setPlan(t, s, a.ID, productV5, 0, 10)
	t0 := time.Date(1985, 1, 1, 12, 0, 0, 0, time.UTC)
	cutoff := time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)
	recent := cutoff.Add(time.Hour)
	u := createUser(t, s, newAgent(a.ID, "old@example.com", productV5, "concurrent"))
	stays := createUser(t, s, newAgent(a.ID, "open@example.com", productV5, "concurrent"))

	// Five old sessions (ten old seat events), one ended after the
	// cutoff, and one opened long ago that is still open.
	endAt := func(sess licensing.Session, at time.Time) {
		t.Helper()
		_, err := s.EndSession(ctx, a.ID, "", sess.ID, licensing.EndedByAgent, "", at)
		wantErr(t, "EndSession", err, nil)
	}
	var old []licensing.Session
	for i := range 5 {
		at := t0.Add(time.Duration(i) * time.Minute)
		sess := startSession(t, s, a.ID, u.ID, productV5, at)
		endAt(sess, at.Add(30*time.Second))
		old = append(old, sess)
	}
	kept := startSession(t, s, a.ID, u.ID, productV5, recent)
	endAt(kept, recent.Add(time.Minute))
	open := newSession(a.ID, stays.ID, productV5, t0)
	open.ExpiresAt = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
	wantErr(t, "StartSession", s.StartSession(ctx, open, ""), nil)
	t.Cleanup(func() { s.EndSession(ctx, a.ID, "", open.ID, licensing.EndedByAgent, "", t0.Add(time.Hour)) })

	for i := range 3 {
		wantErr(t, "AppendAudit", s.AppendAudit(ctx, licensing.AuditEntry{AccountID: a.ID, At: t0.Add(time.Duration(i) * time.Second),
			ActorID: "tok", Action: "user.create", TargetType: "user", TargetID: "old"}), nil)
	}
	wantErr(t, "AppendAudit", s.AppendAudit(ctx, licensing.AuditEntry{AccountID: a.ID, At: recent,
		ActorID: "tok", Action: "user.create", TargetType: "user", TargetID: "recent"}), nil)

	// Tokens: sign-in tokens expired or revoked long ago, and one still
	// valid; API tokens revoked long ago, just before the cutoff (in
	// their grace), and one that never ends.
	token := func(name string, scope licensing.Scope, signIn bool, expires time.Time, revoked time.Time) licensing.Token {
		t.Helper()
		tok, _, err := licensing.NewToken(a.ID, name, scope, t0)
		wantErr(t, "NewToken", err, nil)
		if scope == licensing.ScopeAgent {
			tok.UserID = u.ID
		}
		tok.SignIn = signIn
		if !expires.IsZero() {
			tok.ExpiresAt = &expires
		}
		wantErr(t, "CreateToken", s.CreateToken(ctx, tok), nil)
		if !revoked.IsZero() {
			wantErr(t, "RevokeToken", s.RevokeToken(ctx, a.ID, tok.ID, revoked), nil)
		}
		return tok
	}
	far := time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
	signInExpired := token("expired", licensing.ScopeAgent, true, t0.Add(time.Hour), time.Time{})
	signInRevoked := token("revoked", licensing.ScopeAgent, true, far, t0.Add(time.Minute))
	signInLive := token("live", licensing.ScopeAgent, true, far, time.Time{})
	apiRevoked := token("scim old", licensing.ScopeSCIM, false, time.Time{}, t0)
	apiInGrace := token("scim recent", licensing.ScopeSCIM, false, time.Time{}, cutoff.Add(-time.Hour))
	apiExpired := token("agent old", licensing.ScopeAgent, false, t0, time.Time{})
	apiLive := token("scim live", licensing.ScopeSCIM, false, time.Time{}, time.Time{})

	wantTokens := func(what string, gone, present []licensing.Token) {
		t.Helper()
		for _, tok := range gone {
			_, err := s.Token(ctx, tok.ID)
			wantErr(t, what+": token "+tok.Name, err, licensing.ErrNotFound)
		}
		for _, tok := range present {
			_, err := s.Token(ctx, tok.ID)
			wantErr(t, what+": token "+tok.Name, err, nil)
		}
	}
	auditOf := func() []licensing.AuditEntry {
		t.Helper()
		page, err := s.AuditLog(ctx, a.ID, licensing.AuditQuery{Limit: 100})
		wantErr(t, "AuditLog", err, nil)
		return page.Items
	}

	// A policy of 0 keeps sessions, seat events and audit entries
	// forever; tokens go all the same, API tokens after their grace.
	purged, err := licensing.Purge(ctx, s, licensing.Retention{}, fixedClock(cutoff), 2)
	wantErr(t, "Purge with nothing retained for a limited time", err, nil)
	if purged[licensing.PurgeSessions]+purged[licensing.PurgeSeatEvents]+purged[licensing.PurgeAudit] != 0 {
		t.Errorf("Purge with Retention{} = %v: kept-forever kinds purged", purged)
	}
	if n := len(eventsOf(t, s, a.ID)); n != 13 {
		t.Errorf("after Purge with Retention{}: %d seat events, want the 13 recorded", n)
	}
	if n := len(auditOf()); n != 4 {
		t.Errorf("after Purge with Retention{}: %d audit entries, want the 4 recorded", n)
	}
	if purged[licensing.PurgeSignInTokens] < 2 || purged[licensing.PurgeAPITokens] < 2 {
		t.Errorf("Purge with Retention{} = %v: want this test's 2 sign-in and 2 API tokens at least", purged)
	}
	wantTokens("after Purge", []licensing.Token{signInExpired, signInRevoked, apiRevoked, apiExpired},
		[]licensing.Token{signInLive, apiInGrace, apiLive})

	// One call deletes at most its limit; calls loop until a short batch.
	for _, kind := range []licensing.PurgeKind{licensing.PurgeSeatEvents, licensing.PurgeSessions, licensing.PurgeAudit} {
		n, err := s.Purge(ctx, kind, cutoff, 2)
		if err != nil || n != 2 {
			t.Errorf("Purge(%s, limit 2) = %d, %v; want 2 of this test's old rows", kind, n, err)
		}
		total, batches := n, 1
		for n == 2 {
			n, err = s.Purge(ctx, kind, cutoff, 2)
			wantErr(t, "Purge", err, nil)
			total += n
			batches++
			if batches > 100 {
				t.Fatalf("Purge(%s) never returned a short batch", kind)
			}
		}
		if n, err := s.Purge(ctx, kind, cutoff, 2); err != nil || n != 0 {
			t.Errorf("Purge(%s) after a short batch = %d, %v; want 0", kind, n, err)
		}
	}
	evs := eventsOf(t, s, a.ID)
	if len(evs) != 2 {
		t.Errorf("seat events after the purge: %+v, want the 2 of the recent session", evs)
	}
	for _, e := range evs {
		if e.At.Before(cutoff) {
			t.Errorf("seat event %+v older than the cutoff was kept", e)
		}
	}
	for _, sess := range old {
		_, err := s.Session(ctx, a.ID, sess.ID)
		wantErr(t, "Session ended before the cutoff", err, licensing.ErrNotFound)
	}
	_, err = s.Session(ctx, a.ID, kept.ID)
	wantErr(t, "Session ended after the cutoff", err, nil)
	got, err := s.Session(ctx, a.ID, open.ID)
	wantErr(t, "open Session started before the cutoff", err, nil)
	if got.State == licensing.SessionEnded {
		t.Errorf("the open session was ended: %+v", got)
	}
	checkSeats(t, s, a.ID, productV5)
	if es := auditOf(); len(es) != 1 || es[0].TargetID != "recent" {
		t.Errorf("audit entries after the purge: %+v, want the recent one", es)
	}
	wantTokens("after the batches", nil, []licensing.Token{signInLive, apiInGrace, apiLive})

	// Replicas purging at once share the rows out (each locked by one
	// batch, skipped by the others) and together delete them all.
	for i := range 200 {
		wantErr(t, "AppendAudit", s.AppendAudit(ctx, licensing.AuditEntry{AccountID: a.ID, At: t0.Add(time.Duration(i) * time.Millisecond),
			ActorID: "tok", Action: "user.create", TargetType: "user", TargetID: "old"}), nil)
	}
	const replicas = 4
	totals := make(chan int, replicas)
	errs := make(chan error, replicas)
	for range replicas {
		go func() {
			total := 0
			for {
				n, err := s.Purge(ctx, licensing.PurgeAudit, cutoff, 7)
				total += n
				if err != nil || n < 7 {
					totals <- total
					errs <- err
					return
				}
			}
		}()
	}
	sum := 0
	for range replicas {
		sum += <-totals
		wantErr(t, "Purge by replicas at once", <-errs, nil)
	}
	if sum < 200 {
		t.Errorf("replicas purging at once deleted %d audit entries, want the 200 old ones", sum)
	}
	if es := auditOf(); len(es) != 1 || es[0].TargetID != "recent" {
		t.Errorf("audit entries after replicas purged: %d, want the recent one", len(es))
	}

	for _, bad := range []struct {
		kind  licensing.PurgeKind
		limit int
	}{{"users", 10}, {licensing.PurgeAudit, 0}} {
		_, err := s.Purge(ctx, bad.kind, cutoff, bad.limit)
		wantErr(t, "Purge("+string(bad.kind)+")", err, licensing.ErrInvalid)
	}
}
