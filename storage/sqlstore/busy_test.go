package sqlstore_test

import (
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/storage/sqlstore"
)

// TestSQLiteBusyIsUnavailable locks the database file from another
// connection past the busy timeout: the write answers ErrUnavailable,
// and the Store reports it.
func TestSQLiteBusyIsUnavailable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "busy.db")
	s, err := sqlstore.Open("sqlite:"+path+"?_pragma=busy_timeout(50)", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	var reported atomic.Int32
	s.OnUnavailable(func(err error) {
		if errors.Is(err, licensing.ErrUnavailable) {
			reported.Add(1)
		}
	})
	unlock := testenv.LockSQLite(t, path)
	a := licensing.Account{ID: licensing.NewID(), Name: "busy", CreatedAt: time.Now()}
	err = s.CreateAccount(t.Context(), a)
	if !errors.Is(err, licensing.ErrUnavailable) {
		t.Fatalf("CreateAccount on a locked file: %v, want ErrUnavailable", err)
	}
	if reported.Load() == 0 {
		t.Error("the failure was not reported to OnUnavailable")
	}
	unlock()
	if err := s.CreateAccount(t.Context(), a); err != nil {
		t.Fatalf("CreateAccount once the lock is gone: %v", err)
	}
}
