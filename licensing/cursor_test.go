package licensing_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/scimd/scimd/licensing"
)

func newCursors(t testing.TB, key byte) *licensing.Cursors {
	t.Helper()
	c, err := licensing.NewCursors(bytes.Repeat([]byte{key}, licensing.CursorKeySize))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// position is a store position of the shape sqlstore hands out: it holds
// a row sequence every account shares.
const position = `eyJvIjozNjA0NjkxNzc4LCJzIjo0MjQyfQ`

func TestCursorRoundTrip(t *testing.T) {
	c := newCursors(t, 1)
	sealed := c.Seal("acct-a", "scim/Users", position)
	got, err := c.Open("acct-a", "scim/Users", sealed)
	if err != nil || got != position {
		t.Fatalf("Open(Seal(p)) = %q, %v; want %q", got, err, position)
	}
	// Another Cursors with the same key (another replica, or the server
	// after a restart) opens it too.
	if got, err := newCursors(t, 1).Open("acct-a", "scim/Users", sealed); err != nil || got != position {
		t.Errorf("a Cursors with the same key: Open = %q, %v; want %q", got, err, position)
	}
	// Empty stays empty both ways: the last page, the first page.
	if s := c.Seal("acct-a", "scim/Users", ""); s != "" {
		t.Errorf("Seal of no position = %q, want \"\"", s)
	}
	if p, err := c.Open("acct-a", "scim/Users", ""); p != "" || err != nil {
		t.Errorf("Open of no cursor = %q, %v; want \"\", nil", p, err)
	}
}

// TestCursorRevealsNothing checks that a cursor is not the position in
// another spelling: it does not hold it, and sealing one position twice
// gives two cursors, so that equal cursors do not even tell equal
// positions.
func TestCursorRevealsNothing(t *testing.T) {
	c := newCursors(t, 1)
	a, b := c.Seal("acct", "l", position), c.Seal("acct", "l", position)
	if a == b {
		t.Errorf("one position sealed twice gave one cursor %q", a)
	}
	for _, s := range []string{a, b} {
		raw, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("cursor %q is not base64url: %v", s, err)
		}
		// Not `{"` alone: two random bytes match it somewhere in one
		// cursor of 100 about once in 700.
		if strings.Contains(s, position) || bytes.Contains(raw, []byte(position)) || bytes.Contains(raw, []byte(`{"o":`)) {
			t.Errorf("cursor %q shows its position", s)
		}
	}
}

// TestCursorLengthHidesThePosition checks that the length of a cursor
// tells the length of its position only to within a block of 64 bytes
// (the positions of lists hold counters of every account, whose number of
// digits must not show), and that any bytes survive the padding.
func TestCursorLengthHidesThePosition(t *testing.T) {
	c := newCursors(t, 1)
	short := len(c.Seal("a", "l", "x"))
	for n := 1; n < 64; n++ {
		if got := len(c.Seal("a", "l", strings.Repeat("9", n))); got != short {
			t.Errorf("a position of %d bytes seals to %d characters, one of 1 byte to %d", n, got, short)
		}
	}
	if got := len(c.Seal("a", "l", strings.Repeat("9", 64))); got <= short {
		t.Errorf("a position of 64 bytes seals to %d characters, no more than one of 1 byte", got)
	}
	for _, p := range []string{"\x80", "a\x00", "\x00\x80\x00", strings.Repeat("\x00", 63), strings.Repeat("\x80", 64), "é\x80\x00\x00"} {
		if got, err := c.Open("a", "l", c.Seal("a", "l", p)); err != nil || got != p {
			t.Errorf("position %q came back as %q, %v", p, got, err)
		}
	}
}

// TestCursorRefusesWhatItDidNotSeal: anything but a cursor sealed for the
// same account and list, unchanged, with the same key, is ErrBadCursor
// (an ErrInvalid).
func TestCursorRefusesWhatItDidNotSeal(t *testing.T) {
	c := newCursors(t, 1)
	good := c.Seal("acct-a", "admin.users", position)
	raw, _ := base64.RawURLEncoding.DecodeString(good)
	type use struct {
		cursors       *licensing.Cursors
		account, list string
		cursor        string
	}
	cases := map[string]use{
		"the position itself":    {c, "acct-a", "admin.users", position},
		"not base64":             {c, "acct-a", "admin.users", "%%%"},
		"too short":              {c, "acct-a", "admin.users", good[:20]},
		"truncated":              {c, "acct-a", "admin.users", good[:len(good)-2]},
		"lengthened":             {c, "acct-a", "admin.users", good + "AA"},
		"padded":                 {c, "acct-a", "admin.users", good + "="},
		"spelt otherwise":        {c, "acct-a", "admin.users", otherSpelling(t, c.Seal("acct-a", "admin.users", strings.Repeat(position, 2)))},
		"another account":        {c, "acct-b", "admin.users", good},
		"another list":           {c, "acct-a", "admin.audit", good},
		"another key":            {newCursors(t, 2), "acct-a", "admin.users", good},
		"account and list moved": {c, "acct-", "aadmin.users", good},
		"another version":        {c, "acct-a", "admin.users", base64.RawURLEncoding.EncodeToString(append([]byte{2}, raw[1:]...))},
	}
	// Every single byte changed.
	for i := range raw {
		changed := bytes.Clone(raw)
		changed[i] ^= 0x20
		cases[fmt.Sprintf("byte %d changed", i)] = use{c, "acct-a", "admin.users", base64.RawURLEncoding.EncodeToString(changed)}
	}
	for name, tc := range cases {
		got, err := tc.cursors.Open(tc.account, tc.list, tc.cursor)
		if !errors.Is(err, licensing.ErrBadCursor) || !errors.Is(err, licensing.ErrInvalid) || got != "" {
			t.Errorf("%s: Open(%q) = %q, %v; want ErrBadCursor", name, tc.cursor, got, err)
		}
	}
}

func TestNewCursorsWantsAKeyOfItsSize(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33, 64} {
		if _, err := licensing.NewCursors(make([]byte, n)); err == nil {
			t.Errorf("NewCursors with a key of %d bytes: no error", n)
		}
	}
}

// memKeys is a Keys in memory, as a store keeps them.
type memKeys struct {
	mu   sync.Mutex
	keys map[string][]byte
	err  error
}

func (m *memKeys) SecretKey(_ context.Context, name string, fresh []byte) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return nil, m.err
	}
	if _, ok := m.keys[name]; !ok {
		m.keys[name] = bytes.Clone(fresh)
	}
	return m.keys[name], nil
}

func TestLoadCursors(t *testing.T) {
	keys := &memKeys{keys: map[string][]byte{}}
	first, err := licensing.LoadCursors(t.Context(), keys)
	if err != nil {
		t.Fatal(err)
	}
	if k := keys.keys[licensing.CursorKeyName]; len(k) != licensing.CursorKeySize || bytes.Equal(k, make([]byte, len(k))) {
		t.Fatalf("LoadCursors stored the key %x, want %d random bytes", k, licensing.CursorKeySize)
	}
	again, err := licensing.LoadCursors(t.Context(), keys)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := again.Open("a", "l", first.Seal("a", "l", position)); err != nil || p != position {
		t.Errorf("Cursors loaded again do not open the first ones' cursors: %q, %v", p, err)
	}
	// A key of another size in the store is an error, not a panic.
	keys.keys[licensing.CursorKeyName] = []byte("short")
	if _, err := licensing.LoadCursors(t.Context(), keys); err == nil {
		t.Error("LoadCursors over a 5-byte key: no error")
	}
	keys.err = errors.New("database down")
	if _, err := licensing.LoadCursors(t.Context(), keys); !errors.Is(err, keys.err) {
		t.Errorf("LoadCursors with a failing store = %v, want its error wrapped", err)
	}
}

func TestEphemeralCursorsHaveKeysOfTheirOwn(t *testing.T) {
	a, b := licensing.EphemeralCursors(), licensing.EphemeralCursors()
	sealed := a.Seal("acct", "l", position)
	if p, err := a.Open("acct", "l", sealed); err != nil || p != position {
		t.Fatalf("EphemeralCursors: Open(Seal(p)) = %q, %v", p, err)
	}
	if _, err := b.Open("acct", "l", sealed); !errors.Is(err, licensing.ErrBadCursor) {
		t.Errorf("two EphemeralCursors share a key: %v", err)
	}
}

// BenchmarkCursorSealOpen measures what sealing adds to a list page: one
// Seal of its next position and one Open of the cursor it was asked with.
func BenchmarkCursorSealOpen(b *testing.B) {
	c := newCursors(b, 1)
	for b.Loop() {
		if _, err := c.Open("acct-a", "scim/Users", c.Seal("acct-a", "scim/Users", position)); err != nil {
			b.Fatal(err)
		}
	}
}

// otherSpelling spells a base64url text whose last character has unused
// bits with one of them set: the same bytes to a lenient decoder.
func otherSpelling(t *testing.T, s string) string {
	t.Helper()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	unused, ok := map[int]int{2: 4, 3: 2}[len(s)%4]
	if !ok {
		t.Fatalf("%q has no unused bits", s)
	}
	last := strings.IndexByte(alphabet, s[len(s)-1])
	other := s[:len(s)-1] + string(alphabet[last|1<<(unused-1)])
	if lenient, _ := base64.RawURLEncoding.DecodeString(other); !bytes.Equal(lenient, must(base64.RawURLEncoding.DecodeString(s))) {
		t.Fatalf("%q and %q are not two spellings of the same bytes", s, other)
	}
	return other
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
