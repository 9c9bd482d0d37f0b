package sqlstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/scimd/scimd/licensing"
)

// TestTokenEndsSeenAtOnce reads each token (so that the store keeps it),
// then ends it in each way a write of this store can, and reads it again:
// the read must see the revocation or the deletion at once, not the kept
// token.
func TestTokenEndsSeenAtOnce(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		acc := seedAccount(t, s)
		now := time.Now()
		user := func(name string) licensing.User {
			t.Helper()
			u := licensing.User{AccountID: acc.ID, ID: "u" + randomHex(6), UserName: name, Active: true, Version: 1, Created: now, LastModified: now}
			if err := s.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
			return u
		}
		token := func(scope licensing.Scope, userID string) licensing.Token {
			t.Helper()
			tok, _, err := licensing.NewToken(acc.ID, "t", scope, now)
			if err != nil {
				t.Fatal(err)
			}
			tok.UserID = userID
			if err := s.CreateToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
			if got, err := s.Token(ctx, tok.ID); err != nil || got.RevokedAt != nil {
				t.Fatalf("fresh token: %+v, %v", got, err)
			}
			return tok
		}
		revoked := func(what string, tok licensing.Token) {
			t.Helper()
			if got, err := s.Token(ctx, tok.ID); err != nil || got.RevokedAt == nil {
				t.Errorf("%s: the token reads as %+v, %v; want it revoked", what, got, err)
			}
		}
		gone := func(what string, tok licensing.Token) {
			t.Helper()
			if got, err := s.Token(ctx, tok.ID); !errors.Is(err, licensing.ErrNotFound) {
				t.Errorf("%s: the token reads as %+v, %v; want ErrNotFound", what, got, err)
			}
		}

		scim := token(licensing.ScopeSCIM, "")
		if err := s.RevokeToken(ctx, acc.ID, scim.ID, now); err != nil {
			t.Fatal(err)
		}
		revoked("RevokeToken", scim)

		ann := user("ann")
		annTok := token(licensing.ScopeAgent, ann.ID)
		off := ann
		off.Active, off.Version, off.LastModified = false, 2, now.Add(time.Second)
		if err := s.ReplaceUser(ctx, off, 1); err != nil {
			t.Fatal(err)
		}
		revoked("ReplaceUser deactivating the user", annTok)

		bob := user("bob")
		bobTok := token(licensing.ScopeAgent, bob.ID)
		if err := s.DeleteUser(ctx, acc.ID, bob.ID, now); err != nil {
			t.Fatal(err)
		}
		gone("DeleteUser of the token's user", bobTok)

		// scim was revoked above and read since: a purge of revoked tokens
		// takes it.
		revoked("before the purge", scim)
		if _, err := s.Purge(ctx, licensing.PurgeAPITokens, now.Add(time.Millisecond), 100); err != nil {
			t.Fatal(err)
		}
		gone("Purge of revoked tokens", scim)
	})
}

// TestTokenCacheDropsReadsOverlappingAnEnd keeps no token read before a
// write that ended tokens finished: the read may have seen the row before
// the write committed.
func TestTokenCacheDropsReadsOverlappingAnEnd(t *testing.T) {
	var c tokenCache
	start := time.Now()
	tok := licensing.Token{ID: "t1"}
	gen := c.reading()
	c.forget()
	c.put(gen, tok, start)
	if _, ok := c.get(tok.ID, start); ok {
		t.Fatal("a read that overlapped a forget was kept")
	}
	c.put(c.reading(), tok, start)
	if _, ok := c.get(tok.ID, start); !ok {
		t.Fatal("a read after the forget was not kept")
	}
	if _, ok := c.get(tok.ID, start.Add(tokenCacheTTL)); ok {
		t.Fatal("a token was served past tokenCacheTTL")
	}
}
