package conformance

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/scimd/scimd/licensing"
)

// entry is an audit entry for a write of the account a, naming another
// account on purpose: stores must record it in the write's account.
func entry(action, target string) licensing.AuditEntry {
	return licensing.AuditEntry{AccountID: "not-the-write's", At: now(), ActorID: "tok", ActorName: "conformance",
		ActorScope: licensing.ScopeAdmin, Action: action, TargetType: "thing", TargetID: target, Detail: "d"}
}

// actions lists the actions of the account's audit entries, oldest first.
func actions(t *testing.T, s licensing.Store, accountID string) []string {
	t.Helper()
	page, err := s.AuditLog(context.Background(), accountID, licensing.AuditQuery{Limit: 100})
	wantErr(t, "AuditLog", err, nil)
	var out []string
	for _, e := range slices.Backward(page.Items) {
		if e.AccountID != accountID {
			t.Errorf("audit entry %+v listed for account %s", e, accountID)
		}
		out = append(out, e.Action)
	}
	return out
}

// testAuditedWrites checks that every write method stores the audit
// entries it is given, in the write's account, and that a write that
// fails or changes nothing stores none.
func testAuditedWrites(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := licensing.Account{ID: newID(), Name: "conf-" + newID()[:23], CreatedAt: now()}
	wantErr(t, "CreateAccount", s.CreateAccount(ctx, a, entry("account.create", a.ID)), nil)
	dup := licensing.Account{ID: newID(), Name: a.Name, CreatedAt: now()}
	wantErr(t, "CreateAccount with a taken name", s.CreateAccount(ctx, dup, entry("account.dup", dup.ID)), licensing.ErrConflict)

	tok, _, _ := licensing.NewToken(a.ID, "okta", licensing.ScopeSCIM, now())
	wantErr(t, "CreateToken", s.CreateToken(ctx, tok, entry("token.create", tok.ID)), nil)
	wantErr(t, "CreateToken again", s.CreateToken(ctx, tok, entry("token.dup", tok.ID)), licensing.ErrConflict)
	wantErr(t, "RevokeToken", s.RevokeToken(ctx, a.ID, tok.ID, now(), entry("token.revoke", tok.ID)), nil)
	wantErr(t, "RevokeToken again", s.RevokeToken(ctx, a.ID, tok.ID, now(), entry("token.revoke-again", tok.ID)), nil)

	wantErr(t, "SetPlan", s.SetPlan(ctx, licensing.Plan{AccountID: a.ID, ProductID: productV5, NamedSeats: 1, ConcurrentSeats: 1},
		entry("plan.change", productV5)), nil)
	// A user without products and one with: the stores may write them
	// differently.
	plain := newUser(a.ID, "plain@example.com")
	wantErr(t, "CreateUser", s.CreateUser(ctx, plain, entry("user.create", plain.ID)), nil)
	ann := newUser(a.ID, "ann@example.com")
	ann.Assignments = licensing.Assignments{productV5: licensing.LicenseNamed}
	wantErr(t, "CreateUser with a named seat", s.CreateUser(ctx, ann, entry("user.create-named", ann.ID)), nil)
	bob := newUser(a.ID, "bob@example.com")
	bob.Assignments = licensing.Assignments{productV5: licensing.LicenseNamed}
	wantNamedExhausted(t, "CreateUser beyond the named seats", s.CreateUser(ctx, bob, entry("user.refused", bob.ID)), productV5, 1, 1)
	dupUser := newUser(a.ID, "PLAIN@example.com")
	wantErr(t, "CreateUser with a taken userName", s.CreateUser(ctx, dupUser, entry("user.dup", dupUser.ID)), licensing.ErrConflict)
	var below *licensing.PlanBelowAssignedError
	if err := s.SetPlan(ctx, licensing.Plan{AccountID: a.ID, ProductID: productV5}, entry("plan.refused", productV5)); !errors.As(err, &below) {
		t.Fatalf("SetPlan below the assigned seats: %v, want a *PlanBelowAssignedError", err)
	}

	next := plain
	next.DisplayName, next.Version, next.LastModified = "Plain", 2, now()
	wantErr(t, "ReplaceUser", s.ReplaceUser(ctx, next, 1, entry("user.replace", plain.ID)), nil)
	wantErr(t, "ReplaceUser stale", s.ReplaceUser(ctx, next, 1, entry("user.stale", plain.ID)), licensing.ErrStale)

	g := newGroup(a.ID, "Support", member(plain.ID))
	wantErr(t, "CreateGroup", s.CreateGroup(ctx, g, entry("group.create", g.ID)), nil)
	ng := g
	ng.DisplayName, ng.Version, ng.LastModified = "Support 2", 2, now()
	wantErr(t, "ReplaceGroup", s.ReplaceGroup(ctx, ng, 1, entry("group.replace", g.ID)), nil)
	wantErr(t, "ReplaceGroup stale", s.ReplaceGroup(ctx, ng, 1, entry("group.stale", g.ID)), licensing.ErrStale)
	wantErr(t, "DeleteGroup", s.DeleteGroup(ctx, a.ID, g.ID, now(), entry("group.delete", g.ID)), nil)
	wantErr(t, "DeleteGroup again", s.DeleteGroup(ctx, a.ID, g.ID, now(), entry("group.gone", g.ID)), licensing.ErrNotFound)

	ann2 := ann
	ann2.Assignments = licensing.Assignments{productV5: licensing.LicenseConcurrent}
	ann2.Version, ann2.LastModified = 2, now()
	wantErr(t, "ReplaceUser to concurrent", s.ReplaceUser(ctx, ann2, 1), nil)
	startSession(t, s, a.ID, ann.ID, productV5, now())
	_, err := s.EndSeat(ctx, a.ID, productV5, ann.ID, licensing.EndedByAdmin, "tok", now(), entry("session.end", ann.ID))
	wantErr(t, "EndSeat", err, nil)
	_, err = s.EndSeat(ctx, a.ID, productV5, ann.ID, licensing.EndedByAdmin, "tok", now(), entry("session.none", ann.ID))
	wantErr(t, "EndSeat without a seat", err, licensing.ErrNotFound)

	wantErr(t, "DeleteUser", s.DeleteUser(ctx, a.ID, plain.ID, now(), entry("user.delete", plain.ID)), nil)
	wantErr(t, "DeleteUser again", s.DeleteUser(ctx, a.ID, plain.ID, now(), entry("user.gone", plain.ID)), licensing.ErrNotFound)

	want := []string{"account.create", "token.create", "token.revoke", "plan.change", "user.create", "user.create-named",
		"user.replace", "group.create", "group.replace", "group.delete", "session.end", "user.delete"}
	if got := actions(t, s, a.ID); !slices.Equal(got, want) {
		t.Errorf("audit log of the writes = %v, want %v (refused and no-op writes record nothing)", got, want)
	}
}

// replaceUser stores the change of *u as the user's next version and
// updates *u.
func replaceUser(t *testing.T, s licensing.Store, u *licensing.User, change func(*licensing.User)) {
	t.Helper()
	next := *u
	change(&next)
	next.Version, next.LastModified = u.Version+1, now()
	wantErr(t, "ReplaceUser", s.ReplaceUser(context.Background(), next, u.Version), nil)
	*u = next
}

// testRevokesCredentials checks that a user's tokens are revoked by the
// user writes licensing.RevokesCredentials names, in the same
// transaction, and by no other.
func testRevokesCredentials(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	ann := newUser(a.ID, "ann@example.com")
	ann.PasswordHash = "hash-1"
	createUser(t, s, ann)
	bob := createUser(t, s, newUser(a.ID, "bob@example.com"))
	token := func(u licensing.User) licensing.Token {
		t.Helper()
		tok, _, _ := licensing.NewToken(a.ID, "agent", licensing.ScopeAgent, now())
		tok.UserID = u.ID
		wantErr(t, "CreateToken", s.CreateToken(ctx, tok), nil)
		return tok
	}
	revoked := func(tok licensing.Token) bool {
		t.Helper()
		got, err := s.Token(ctx, tok.ID)
		wantErr(t, "Token", err, nil)
		return got.RevokedAt != nil
	}
	replace := func(u *licensing.User, change func(*licensing.User)) { t.Helper(); replaceUser(t, s, u, change) }
	annTok, bobTok := token(ann), token(bob)

	replace(&ann, func(u *licensing.User) { u.DisplayName = "Ann"; u.PasswordHash = "" })
	if revoked(annTok) {
		t.Fatalf("a change that keeps the password revoked the user's token")
	}
	replace(&ann, func(u *licensing.User) { u.PasswordHash = "hash-1" })
	if revoked(annTok) {
		t.Fatalf("writing the same password hash revoked the user's token")
	}
	replace(&ann, func(u *licensing.User) { u.PasswordHash = "hash-2" })
	if !revoked(annTok) {
		t.Fatalf("a password change left the user's token active")
	}
	if revoked(bobTok) {
		t.Fatalf("changing one user's password revoked another user's token")
	}

	annTok = token(ann)
	replace(&ann, func(u *licensing.User) { u.Active = false })
	if !revoked(annTok) {
		t.Fatalf("deactivating the user left their token active")
	}
	annTok = token(ann)
	replace(&ann, func(u *licensing.User) { u.Active = true })
	if revoked(annTok) {
		t.Fatalf("reactivating the user revoked a token made while inactive")
	}

	// A refused write revokes nothing: the named seat is taken.
	if err := s.SetPlan(ctx, licensing.Plan{AccountID: a.ID, ProductID: productV5, NamedSeats: 0}); err != nil {
		t.Fatal(err)
	}
	next := ann
	next.Active, next.Assignments, next.Version, next.LastModified = true, licensing.Assignments{productV5: licensing.LicenseNamed}, ann.Version+1, now()
	next.PasswordHash = "hash-3"
	wantNamedExhausted(t, "ReplaceUser beyond the named seats", s.ReplaceUser(ctx, next, ann.Version), productV5, 0, 0)
	if revoked(annTok) {
		t.Fatalf("a refused password change revoked the user's token")
	}

	wantErr(t, "DeleteUser", s.DeleteUser(ctx, a.ID, bob.ID, now()), nil)
	if _, err := s.Token(ctx, bobTok.ID); err == nil {
		t.Errorf("a deleted user's token is still there")
	}
}

// testTokenPages checks the token list's paging, scope filter and sign-in
// flag.
func testTokenPages(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)
	u := createUser(t, s, newUser(a.ID, "ann@example.com"))
	base := now()
	var want []string
	for i, scope := range []licensing.Scope{licensing.ScopeSCIM, licensing.ScopeAdmin, licensing.ScopeAgent, licensing.ScopeSCIM, licensing.ScopeAgent} {
		// Two tokens share a time: the id breaks the tie.
		tok, _, _ := licensing.NewToken(a.ID, "t", scope, base.Add(time.Duration(i/2)*time.Second))
		if scope == licensing.ScopeAdmin {
			tok.Privileges = []licensing.Privilege{licensing.PrivRead}
		}
		if scope == licensing.ScopeAgent {
			tok.UserID, tok.SignIn = u.ID, i == 2
		}
		wantErr(t, "CreateToken", s.CreateToken(ctx, tok), nil)
		want = append(want, tok.ID)
	}
	other, _, _ := licensing.NewToken(b.ID, "t", licensing.ScopeSCIM, base)
	wantErr(t, "CreateToken", s.CreateToken(ctx, other), nil)
	slices.SortStableFunc(want[0:2], func(x, y string) int { return compareBytes(x, y) })
	slices.SortStableFunc(want[2:4], func(x, y string) int { return compareBytes(x, y) })

	var got []string
	var signIn []bool
	after := ""
	for range 10 {
		page, err := s.Tokens(ctx, a.ID, licensing.TokenQuery{Limit: 2, After: after})
		wantErr(t, "Tokens", err, nil)
		if len(page.Items) > 2 {
			t.Fatalf("Tokens with limit 2 answered %d", len(page.Items))
		}
		for _, tok := range page.Items {
			got = append(got, tok.ID)
			signIn = append(signIn, tok.SignIn)
		}
		if after = page.Next; after == "" {
			break
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("Tokens walked two at a time = %v, want %v (by creation, then id)", got, want)
	}
	if n := countTrue(signIn); n != 1 {
		t.Errorf("Tokens: %d sign-in tokens, want 1", n)
	}
	page, err := s.Tokens(ctx, a.ID, licensing.TokenQuery{Limit: 10, Scope: licensing.ScopeAgent})
	wantErr(t, "Tokens of scope agent", err, nil)
	if len(page.Items) != 2 || page.Items[0].Scope != licensing.ScopeAgent || page.Items[1].Scope != licensing.ScopeAgent {
		t.Errorf("Tokens of scope agent = %+v, want the 2 agent tokens", page.Items)
	}
	_, err = s.Tokens(ctx, a.ID, licensing.TokenQuery{Limit: 10, After: "not a cursor"})
	wantErr(t, "Tokens with a bad cursor", err, licensing.ErrInvalid)
}

func compareBytes(x, y string) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

func countTrue(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}
