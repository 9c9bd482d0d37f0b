package sqlstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// migrationLock is the key of the PostgreSQL advisory lock that serialises
// migrations across processes ("scimd" in ASCII).
const migrationLock = 0x7363696d64

// migration is one versioned SQL file.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the dialect's migrations in version order. Files are
// named NNNN_description.sql; versions must be unique.
func migrations(dialect string) ([]migration, error) {
	dir := path.Join("migrations", dialect)
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: read migrations: %w", err)
	}
	var ms []migration
	seen := map[int]string{}
	for _, e := range entries {
		prefix, _, ok := strings.Cut(e.Name(), "_")
		version, err := strconv.Atoi(prefix)
		if !ok || err != nil || version <= 0 {
			return nil, fmt.Errorf("sqlstore: migration file %s/%s is not named NNNN_description.sql", dir, e.Name())
		}
		if other, dup := seen[version]; dup {
			return nil, fmt.Errorf("sqlstore: migrations %s and %s share version %d", other, e.Name(), version)
		}
		seen[version] = e.Name()
		body, err := fs.ReadFile(migrationFiles, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("sqlstore: read migration %s: %w", e.Name(), err)
		}
		ms = append(ms, migration{version: version, name: e.Name(), sql: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// Migrate brings the schema up to date and returns how many migrations it
// applied; on an up-to-date database it applies none and returns 0. Each
// migration runs in its own transaction together with its row in
// schema_migrations. On PostgreSQL every step holds a transaction-scoped
// advisory lock, so several processes may migrate one database at once:
// each migration is applied exactly once.
func (s *Store) Migrate(ctx context.Context) (applied int, err error) {
	return s.migrate(ctx, 0)
}

// migrate is Migrate stopping after the migration of version last (0:
// none left out), so that tests can put data in an older schema.
func (s *Store) migrate(ctx context.Context, last int) (applied int, err error) {
	ms, err := migrations(s.dialect)
	if err != nil {
		return 0, err
	}
	createTable := `CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at text NOT NULL)`
	if s.dialect == DialectPostgres {
		createTable = `CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL)`
	}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		if err := s.lockMigrations(tx); err != nil {
			return err
		}
		_, err := exec(tx, "create schema_migrations", createTable)
		return err
	})
	if err != nil {
		return 0, err
	}
	for _, m := range ms {
		if last > 0 && m.version > last {
			break
		}
		done := false
		err := s.tx(ctx, func(tx *gorm.DB) error {
			if err := s.lockMigrations(tx); err != nil {
				return err
			}
			var n int64
			if err := tx.Raw(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, m.version).Scan(&n).Error; err != nil {
				return dbErr("read schema_migrations", err)
			}
			if n > 0 {
				return nil
			}
			// Straight to the driver: the script may hold several
			// statements and must not pass through gorm's placeholder
			// rewriting.
			if _, err := tx.Statement.ConnPool.ExecContext(tx.Statement.Context, m.sql); err != nil {
				return err
			}
			if _, err := exec(tx, "record migration",
				`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
				m.version, s.timeArg(time.Now().UTC())); err != nil {
				return err
			}
			done = true
			return nil
		})
		if err != nil {
			return applied, fmt.Errorf("sqlstore: migration %s: %w", m.name, err)
		}
		if done {
			applied++
			s.log.Info("migration applied", "dialect", s.dialect, "version", m.version, "name", m.name)
		}
	}
	return applied, nil
}

// lockMigrations takes the migration lock for the rest of the transaction
// on PostgreSQL. SQLite needs none: its write transactions are exclusive.
func (s *Store) lockMigrations(tx *gorm.DB) error {
	if s.dialect != DialectPostgres {
		return nil
	}
	_, err := exec(tx, "lock migrations", `SELECT pg_advisory_xact_lock(?)`, int64(migrationLock))
	return err
}
