package licensing_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
)

func TestBootstrapHandsOutOneTokenWhenProcessesRace(t *testing.T) {
	// A fresh SQLite file per attempt: Bootstrap only acts on a store
	// without accounts, which the shared PostgreSQL test database is not.
	store := testenv.SQLite(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	bearers := make(chan string, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, bearer, err := licensing.Bootstrap(ctx, store, licensing.SystemClock{}, licensing.DefaultCatalog())
			if err != nil {
				t.Error(err)
			}
			if bearer != "" {
				bearers <- bearer
			}
		}()
	}
	wg.Wait()
	close(bearers)
	var got []string
	for b := range bearers {
		got = append(got, b)
	}
	if len(got) != 1 {
		t.Fatalf("%d bootstraps handed out a token, want exactly 1", len(got))
	}
	p, err := licensing.Authenticate(ctx, store, licensing.SystemClock{}, got[0], licensing.ScopeSCIM)
	if err != nil {
		t.Fatalf("bootstrap token does not authenticate: %v", err)
	}
	a, err := store.AccountByName(ctx, licensing.DefaultAccountName)
	if err != nil || p.AccountID != a.ID {
		t.Fatalf("bootstrap token bound to %q, want the default account (%v)", p.AccountID, err)
	}
	if _, again, err := licensing.Bootstrap(ctx, store, licensing.SystemClock{}, licensing.DefaultCatalog()); err != nil || again != "" {
		t.Fatalf("a second bootstrap returned %q, %v; want nothing", again, err)
	}
}

func TestAuthenticate(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			store := b.Open(t)
			ctx := context.Background()
			acct, bearer := testenv.Account(t, store)
			p, err := licensing.Authenticate(ctx, store, licensing.SystemClock{}, bearer, licensing.ScopeSCIM)
			if err != nil || p.AccountID != acct.ID || p.Scope != licensing.ScopeSCIM || p.TokenName != "test" {
				t.Fatalf("Authenticate = %+v, %v", p, err)
			}
			tamper := bearer[:len(bearer)-2] + "xx"
			for name, c := range map[string]struct {
				bearer string
				scope  licensing.Scope
			}{
				"wrong scope":  {bearer, licensing.ScopeAdmin},
				"wrong secret": {tamper, licensing.ScopeSCIM},
				"unknown id":   {"scimd_0000000000000000_secret", licensing.ScopeSCIM},
				"not a token":  {"hello", licensing.ScopeSCIM},
				"empty":        {"", licensing.ScopeSCIM},
			} {
				if _, err := licensing.Authenticate(ctx, store, licensing.SystemClock{}, c.bearer, c.scope); !errors.Is(err, licensing.ErrUnauthenticated) {
					t.Errorf("%s: err = %v, want ErrUnauthenticated", name, err)
				}
			}
			if err := store.RevokeToken(ctx, acct.ID, p.TokenID, licensing.SystemClock{}.Now()); err != nil {
				t.Fatal(err)
			}
			if _, err := licensing.Authenticate(ctx, store, licensing.SystemClock{}, bearer, licensing.ScopeSCIM); !errors.Is(err, licensing.ErrUnauthenticated) {
				t.Errorf("revoked token: err = %v, want ErrUnauthenticated", err)
			}
		})
	}
}
