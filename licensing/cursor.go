package licensing

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"fmt"
)

// ErrBadCursor means a cursor was not issued by this server for this
// account and listing, or was changed since: it cannot be used, and the
// client starts the listing again without one. It is an ErrInvalid.
var ErrBadCursor = fmt.Errorf("%w: the cursor was not issued for this listing", ErrInvalid)

// CursorKeyName names the key that seals cursors in the store's Keys.
const CursorKeyName = "cursors"

// CursorKeySize is the size of the cursor key in bytes (AES-256).
const CursorKeySize = 32

// cursorBlock is the length, in bytes, that positions are padded to a
// multiple of before they are sealed: a cursor's length tells the length
// of its position only to within a block.
const cursorBlock = 64

// cursorVersion is the first byte of every sealed cursor: it says how the
// rest is sealed, so that the key or the scheme can change later without
// mistaking an old cursor for a new one.
const cursorVersion = 1

// Cursors turns the positions a store gives for the next page of a
// listing (Page.Next, or a position an adapter computes itself) into the
// opaque cursors clients see, and back. A cursor is the position sealed
// with AES-GCM under a key every replica shares: the client learns
// nothing from it (no counters, ids or times, of its account or another)
// and cannot change it, and each cursor is bound to the account and the
// listing it was issued for, so that a cursor of another account or of
// another listing is refused. Every adapter seals every cursor it hands
// out with Seal and opens every cursor it receives with Open.
type Cursors struct {
	aead cipher.AEAD
}

// NewCursors returns the Cursors that seal with key, which must be
// CursorKeySize bytes.
func NewCursors(key []byte) (*Cursors, error) {
	if len(key) != CursorKeySize {
		return nil, fmt.Errorf("licensing: the cursor key has %d bytes, want %d", len(key), CursorKeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("licensing: cursor key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("licensing: cursor key: %w", err)
	}
	return &Cursors{aead: aead}, nil
}

// EphemeralCursors returns Cursors with a random key of this process
// only: its cursors do not survive a restart and are refused by other
// processes. For tests and tools that run no server; a server loads the
// key every replica shares with LoadCursors.
func EphemeralCursors() *Cursors {
	c, err := NewCursors(randomKey())
	if err != nil {
		panic(err) // the key has the right size
	}
	return c
}

// LoadCursors returns the Cursors sealing with the store's cursor key,
// which the first caller on the database makes (a random key; later and
// concurrent callers, in this process or another, get the same one).
// Errors are the store's, or a stored key of the wrong size.
func LoadCursors(ctx context.Context, keys Keys) (*Cursors, error) {
	key, err := keys.SecretKey(ctx, CursorKeyName, randomKey())
	if err != nil {
		return nil, fmt.Errorf("licensing: load the cursor key: %w", err)
	}
	return NewCursors(key)
}

func randomKey() []byte {
	key := make([]byte, CursorKeySize)
	if _, err := rand.Read(key); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return key
}

// Seal returns the cursor a client of the account gets for position in
// the listing named list (a name of the adapter's choosing, such as
// "scim.users"; each listing a name of its own). An empty position (the
// last page) gives an empty cursor. Sealing the same position twice gives
// two different cursors, both valid.
func (c *Cursors) Seal(accountID, list, position string) string {
	if position == "" {
		return ""
	}
	// The position, a 0x80 byte and zeros up to a multiple of the block.
	padded := make([]byte, (len(position)/cursorBlock+1)*cursorBlock)
	padded[copy(padded, position)] = 0x80
	n := c.aead.NonceSize()
	out := make([]byte, 1+n, 1+n+len(padded)+c.aead.Overhead())
	out[0] = cursorVersion
	if _, err := rand.Read(out[1:]); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	out = c.aead.Seal(out, out[1:], padded, cursorData(accountID, list))
	return base64.RawURLEncoding.EncodeToString(out)
}

// Open returns the position sealed in a cursor that Seal gave for the
// same account and listing (with the same key). An empty cursor gives an
// empty position (the first page). It returns ErrBadCursor for anything
// else: text that is not a cursor, a cursor changed in any way, one of
// another account or listing, or one sealed with another key.
func (c *Cursors) Open(accountID, list, cursor string) (string, error) {
	if cursor == "" {
		return "", nil
	}
	// Strict: one cursor has one spelling (the bits past the last byte
	// must be zero).
	raw, err := base64.RawURLEncoding.Strict().DecodeString(cursor)
	n := c.aead.NonceSize()
	if err != nil || len(raw) < 1+n+c.aead.Overhead() || raw[0] != cursorVersion {
		return "", ErrBadCursor
	}
	padded, err := c.aead.Open(nil, raw[1:1+n], raw[1+n:], cursorData(accountID, list))
	if err != nil {
		return "", ErrBadCursor
	}
	position, ok := bytes.CutSuffix(bytes.TrimRight(padded, "\x00"), []byte{0x80})
	if !ok || len(position) == 0 {
		return "", ErrBadCursor
	}
	return string(position), nil
}

// cursorData is the additional data a cursor is bound to: its version,
// account and listing, each length-prefixed so that no two pairs read
// alike.
func cursorData(accountID, list string) []byte {
	b := []byte{cursorVersion}
	for _, s := range []string{accountID, list} {
		b = fmt.Appendf(b, "%d:%s", len(s), s)
	}
	return b
}
