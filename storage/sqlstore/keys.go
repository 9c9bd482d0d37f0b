package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"gorm.io/gorm"

	"github.com/scimd/scimd/licensing"
)

// SecretKey returns the key with the name, storing fresh under it first
// if the database has none: the insert does nothing when the name is
// taken (by an earlier call, or a concurrent one of another process that
// committed first, which the insert waits for), and the read that follows
// in the same transaction sees the key that won. ErrInvalid if the name or
// fresh is empty.
func (s *Store) SecretKey(ctx context.Context, name string, fresh []byte) ([]byte, error) {
	if name == "" || len(fresh) == 0 {
		return nil, fmt.Errorf("sqlstore: secret key: %w: a key needs a name and bytes", licensing.ErrInvalid)
	}
	var key []byte
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if _, err := exec(tx, "store secret key",
			`INSERT INTO secret_keys (name, key) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, name, fresh); err != nil {
			return err
		}
		return query(tx, "read secret key", `SELECT key FROM secret_keys WHERE name = ?`, []any{name},
			func(rows *sql.Rows) error { return rows.Scan(&key) })
	})
	if err != nil {
		return nil, err
	}
	if len(key) == 0 {
		return nil, fmt.Errorf("sqlstore: secret key %q missing after its insert", name)
	}
	return key, nil
}
