package conformance

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/scimd/scimd/licensing"
)

func testAccounts(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	b := licensing.Account{ID: newID(), Name: "conf-" + newID()[:23], CreatedAt: a.CreatedAt.Add(time.Second)}
	wantErr(t, "CreateAccount", s.CreateAccount(ctx, b), nil)

	got, err := s.Account(ctx, a.ID)
	wantErr(t, "Account", err, nil)
	if got.ID != a.ID || got.Name != a.Name {
		t.Errorf("Account = %+v, want %+v", got, a)
	}
	wantTime(t, "account createdAt", got.CreatedAt, a.CreatedAt)

	got, err = s.AccountByName(ctx, b.Name)
	wantErr(t, "AccountByName", err, nil)
	if got.ID != b.ID {
		t.Errorf("AccountByName(%q) = %+v, want id %s", b.Name, got, b.ID)
	}

	dup := licensing.Account{ID: newID(), Name: a.Name, CreatedAt: now()}
	wantErr(t, "CreateAccount with a taken name", s.CreateAccount(ctx, dup), licensing.ErrConflict)
	_, err = s.Account(ctx, dup.ID)
	wantErr(t, "Account of the refused account", err, licensing.ErrNotFound)
	_, err = s.Account(ctx, newID())
	wantErr(t, "Account(unknown)", err, licensing.ErrNotFound)
	_, err = s.AccountByName(ctx, "conf-no-such-account-"+newID()[:8])
	wantErr(t, "AccountByName(unknown)", err, licensing.ErrNotFound)

	all, err := s.Accounts(ctx)
	wantErr(t, "Accounts", err, nil)
	ia, ib := -1, -1
	for i, acc := range all {
		switch acc.ID {
		case a.ID:
			ia = i
		case b.ID:
			ib = i
		}
	}
	if ia < 0 || ib < 0 || ia > ib {
		t.Errorf("Accounts: positions of the two new accounts are %d and %d, want both listed in creation order", ia, ib)
	}
}

func testTokens(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)
	tok, bearer, err := licensing.NewToken(a.ID, "okta", licensing.ScopeSCIM, now())
	wantErr(t, "NewToken", err, nil)
	wantErr(t, "CreateToken", s.CreateToken(ctx, tok), nil)
	tok2, _, _ := licensing.NewToken(a.ID, "admin", licensing.ScopeAdmin, tok.CreatedAt.Add(time.Second))
	wantErr(t, "CreateToken", s.CreateToken(ctx, tok2), nil)

	got, err := s.Token(ctx, tok.ID)
	wantErr(t, "Token", err, nil)
	if got.ID != tok.ID || got.AccountID != a.ID || got.Name != "okta" || got.Scope != licensing.ScopeSCIM ||
		!bytes.Equal(got.Hash, tok.Hash) || got.RevokedAt != nil {
		t.Errorf("Token = %+v, want %+v", got, tok)
	}
	wantTime(t, "token createdAt", got.CreatedAt, tok.CreatedAt)
	if !got.Matches(bearer) || !got.Active(time.Now()) {
		t.Errorf("stored token does not match its bearer string or is not active")
	}

	wantErr(t, "CreateToken with a taken id", s.CreateToken(ctx, tok), licensing.ErrConflict)
	orphan, _, _ := licensing.NewToken(newID(), "orphan", licensing.ScopeSCIM, now())
	wantErr(t, "CreateToken for an unknown account", s.CreateToken(ctx, orphan), licensing.ErrNotFound)
	_, err = s.Token(ctx, orphan.ID)
	wantErr(t, "Token(unknown)", err, licensing.ErrNotFound)

	list, err := s.Tokens(ctx, a.ID, licensing.TokenQuery{Limit: 10})
	wantErr(t, "Tokens", err, nil)
	if len(list.Items) != 2 || list.Items[0].ID != tok.ID || list.Items[1].ID != tok2.ID || list.Next != "" {
		t.Errorf("Tokens = %+v, want %s then %s and no next page", list, tok.ID, tok2.ID)
	}
	list, err = s.Tokens(ctx, b.ID, licensing.TokenQuery{Limit: 10})
	wantErr(t, "Tokens of another account", err, nil)
	if len(list.Items) != 0 {
		t.Errorf("Tokens of another account = %+v, want none", list)
	}

	revokedAt := now().Add(time.Minute)
	wantErr(t, "RevokeToken from another account", s.RevokeToken(ctx, b.ID, tok.ID, revokedAt), licensing.ErrNotFound)
	got, _ = s.Token(ctx, tok.ID)
	if !got.Active(time.Now()) {
		t.Fatalf("RevokeToken from another account revoked the token")
	}
	wantErr(t, "RevokeToken(unknown)", s.RevokeToken(ctx, a.ID, newID(), revokedAt), licensing.ErrNotFound)

	wantErr(t, "RevokeToken", s.RevokeToken(ctx, a.ID, tok.ID, revokedAt), nil)
	got, err = s.Token(ctx, tok.ID)
	wantErr(t, "Token after revoke", err, nil)
	if got.Active(time.Now()) {
		t.Fatalf("revoked token is active")
	}
	wantTime(t, "revokedAt", *got.RevokedAt, revokedAt)
	wantErr(t, "RevokeToken again", s.RevokeToken(ctx, a.ID, tok.ID, revokedAt.Add(time.Hour)), nil)
	got, _ = s.Token(ctx, tok.ID)
	if got.RevokedAt == nil || !got.RevokedAt.Equal(revokedAt) {
		t.Errorf("revoking again changed revokedAt to %v, want %v", got.RevokedAt, revokedAt)
	}
	got, _ = s.Token(ctx, tok2.ID)
	if !got.Active(time.Now()) {
		t.Errorf("revoking one token revoked another")
	}
}
