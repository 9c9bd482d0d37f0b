package licensing

import "context"

// Keys is the part of the Store that keeps the server's secret keys (the
// key that seals cursors, CursorKeyName), in the database so that every
// process sharing it uses the same ones and they outlive restarts.
type Keys interface {
	// SecretKey returns the key with the name. If the database has no key
	// of that name yet, fresh (random bytes the caller made) is stored
	// under it and returned; otherwise the stored key is returned and
	// fresh is dropped. It is race-safe across processes: when several
	// callers make the same key at once, one fresh key is stored and
	// every caller gets that one. It returns ErrInvalid if the name or
	// fresh is empty.
	SecretKey(ctx context.Context, name string, fresh []byte) ([]byte, error)
}
