package conformance

import (
	"bytes"
	"context"
	"crypto/rand"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/licensing"
)

// testSecretKey checks that a key is stored by its first caller and every
// later or concurrent caller gets that one, byte for byte.
func testSecretKey(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	name := "conformance-" + newID()
	first := make([]byte, 256)
	for i := range first {
		first[i] = byte(i) // every byte value, NUL included
	}
	got, err := s.SecretKey(ctx, name, first)
	wantErr(t, "SecretKey", err, nil)
	if !bytes.Equal(got, first) {
		t.Fatalf("SecretKey of a new name = %x, want the fresh key %x", got, first)
	}
	got, err = s.SecretKey(ctx, name, randomBytes(32))
	wantErr(t, "SecretKey again", err, nil)
	if !bytes.Equal(got, first) {
		t.Fatalf("SecretKey of a stored name = %x, want the stored key", got)
	}
	other := randomBytes(32)
	got, err = s.SecretKey(ctx, "conformance-"+newID(), other)
	wantErr(t, "SecretKey of another name", err, nil)
	if !bytes.Equal(got, other) {
		t.Errorf("SecretKey of another name = %x, want its own fresh key", got)
	}
	_, err = s.SecretKey(ctx, "", other)
	wantErr(t, "SecretKey without a name", err, licensing.ErrInvalid)
	_, err = s.SecretKey(ctx, name, nil)
	wantErr(t, "SecretKey without bytes", err, licensing.ErrInvalid)

	// Callers racing to make one key all get the one stored.
	name = "conformance-" + newID()
	const n = 8
	var wg sync.WaitGroup
	fresh, keys, errs := make([][]byte, n), make([][]byte, n), make([]error, n)
	for i := range n {
		fresh[i] = randomBytes(32)
		wg.Go(func() { keys[i], errs[i] = s.SecretKey(ctx, name, fresh[i]) })
	}
	wg.Wait()
	for i := range n {
		wantErr(t, "concurrent SecretKey", errs[i], nil)
		if !bytes.Equal(keys[i], keys[0]) {
			t.Fatalf("concurrent SecretKey: caller %d got %x, caller 0 %x", i, keys[i], keys[0])
		}
	}
	if !slices.ContainsFunc(fresh, func(f []byte) bool { return bytes.Equal(f, keys[0]) }) {
		t.Errorf("concurrent SecretKey = %x, none of the fresh keys", keys[0])
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}

// testAuditIDs checks that audit entries get public ids that stay the
// same and tell nothing of the order or the number of entries: two
// accounts write in turns, and neither account's ids count or sort.
func testAuditIDs(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)
	base := now()
	const each = 12
	for i := range 2 * each {
		acct := a
		if i%2 == 1 {
			acct = b
		}
		wantErr(t, "AppendAudit", s.AppendAudit(ctx, licensing.AuditEntry{ID: "chosen-by-caller", AccountID: acct.ID,
			At: base.Add(time.Duration(i) * time.Second), ActorID: "tok", Action: "user.create", TargetType: "user",
			TargetID: strconv.Itoa(i)}), nil)
	}
	seen := map[string]bool{}
	for _, acct := range []licensing.Account{a, b} {
		page, err := s.AuditLog(ctx, acct.ID, licensing.AuditQuery{Limit: 100})
		wantErr(t, "AuditLog", err, nil)
		if len(page.Items) != each {
			t.Fatalf("AuditLog: %d entries, want %d", len(page.Items), each)
		}
		var ids []string // oldest first
		for _, e := range slices.Backward(page.Items) {
			if len(e.ID) < 16 || e.ID == "chosen-by-caller" || seen[e.ID] {
				t.Errorf("audit entry %s: id %q, want a fresh random one of the store's", e.TargetID, e.ID)
			}
			if _, err := strconv.ParseInt(e.ID, 10, 64); err == nil {
				t.Errorf("audit entry %s: id %q is a number", e.TargetID, e.ID)
			}
			seen[e.ID] = true
			ids = append(ids, e.ID)
		}
		// Random ids of 12 entries come out sorted one way or the other
		// once in 239 million runs.
		descending := slices.Clone(ids)
		slices.Reverse(descending)
		if slices.IsSorted(ids) || slices.IsSorted(descending) {
			t.Errorf("the audit ids of an account sort as the entries were written: %q", ids)
		}
		// Read in pages of 5, the entries have the ids they had.
		var again []string
		after := ""
		for {
			page, err := s.AuditLog(ctx, acct.ID, licensing.AuditQuery{Limit: 5, After: after})
			wantErr(t, "AuditLog", err, nil)
			for _, e := range page.Items {
				again = append(again, e.ID)
			}
			if after = page.Next; after == "" {
				break
			}
		}
		slices.Reverse(again)
		if !slices.Equal(again, ids) {
			t.Errorf("audit ids read again: %q, first %q", again, ids)
		}
	}
}
