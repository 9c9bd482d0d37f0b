package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/scimd/scimd/licensing"
)

// The dialects a Store speaks, as Dialect reports them.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// Store is the gorm implementation of licensing.Store. It is safe for
// concurrent use by many goroutines and, on PostgreSQL, by many processes
// sharing one database.
type Store struct {
	db      *gorm.DB
	sqlDB   *sql.DB
	dialect string
	log     *slog.Logger
	// writer admits one transaction at a time on SQLite (nil on
	// PostgreSQL); see tx.
	writer chan struct{}
	// dsn is the PostgreSQL URL, for the connection that listens for
	// seat changes (see watch.go).
	dsn string
	// pending are the seat changes of the running SQLite transaction,
	// published once it commits; guarded by the writer turn.
	pending []licensing.SeatChange
	watch   watchers
	// joins lets this process's joins of a line of waiters wait for the
	// line's advisory lock one at a time (PostgreSQL; see JoinQueue).
	joins lineTurns
	// observer is told of the seat events once committed and of the
	// audit entries that could not be written (monitor.go).
	observer atomic.Pointer[observer]
	// health tracks the failures of an unavailable database
	// (unavailable.go).
	health *health
	// tokens are the tokens read recently (tokencache.go).
	tokens tokenCache
}

var _ licensing.Store = (*Store)(nil)

// Open connects to the database that databaseURL names. A postgres:// or
// postgresql:// URL opens PostgreSQL; sqlite:PATH (sqlite:scimd.db,
// sqlite:///abs/scimd.db), file:PATH or a bare path opens an SQLite file,
// created if missing. Any other scheme is an error. Open checks that the
// database answers but does not migrate it: call Migrate for that. log may
// be nil.
func Open(databaseURL string, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	target, err := parseDatabaseURL(databaseURL)
	if err != nil {
		return nil, err
	}
	h := &health{}
	var dialector gorm.Dialector
	switch target.dialect {
	case DialectPostgres:
		dialector = postgres.New(postgres.Config{
			DSN:          target.dsn,
			OptionOpenDB: []stdlib.OptionOpenDB{stdlib.OptionShouldPing(h.shouldPing)},
		})
	default:
		dialector = sqlite.Open(target.dsn)
	}
	db, err := gorm.Open(dialector, &gorm.Config{
		TranslateError:         true,
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true,
		// On SQLite, statements are prepared once per connection and
		// reused: a lookup is otherwise dominated by parsing its SQL.
		// pgx already caches prepared statements on PostgreSQL.
		PrepareStmt:        target.dialect == DialectSQLite,
		PrepareStmtMaxSize: 512,
		PrepareStmtTTL:     time.Hour,
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open %s database %s: %w", target.dialect, target.display, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open %s database %s: %w", target.dialect, target.display, err)
	}
	switch {
	case target.dialect == DialectPostgres:
		// As many idle connections as open ones: a burst beyond the idle
		// count would otherwise close connections as it ends and open new
		// ones (a PostgreSQL backend each) at the next burst. Connections
		// idle for 5 minutes still close.
		sqlDB.SetMaxOpenConns(25)
		sqlDB.SetMaxIdleConns(25)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	case target.memory:
		// Every connection to an in-memory database sees its own
		// database: keep exactly one, forever.
		sqlDB.SetMaxOpenConns(1)
		sqlDB.SetMaxIdleConns(1)
		sqlDB.SetConnMaxLifetime(0)
		sqlDB.SetConnMaxIdleTime(0)
	default:
		// WAL lets readers run beside the one writer; writers queue on
		// the busy timeout because every transaction begins IMMEDIATE.
		n := min(max(runtime.NumCPU(), 2), 8)
		sqlDB.SetMaxOpenConns(n)
		sqlDB.SetMaxIdleConns(n)
	}
	s := &Store{db: db, sqlDB: sqlDB, dialect: target.dialect, log: log, watch: newWatchers(), health: h}
	if target.dialect == DialectSQLite {
		s.writer = make(chan struct{}, 1)
	} else {
		s.dsn = target.dsn
	}
	log.Info("database opened", "dialect", target.dialect, "database", target.display)
	return s, nil
}

// Dialect returns "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.dialect }

// Ping reports whether the database answers; an error matching
// licensing.ErrUnavailable means it does not, for now.
func (s *Store) Ping(ctx context.Context) error {
	return note(withHealth(ctx, s.health), dbErr("ping", s.sqlDB.PingContext(ctx)))
}

// Close ends the watches of seat changes and releases the database.
func (s *Store) Close() error {
	s.watch.stop()
	if err := s.sqlDB.Close(); err != nil {
		return fmt.Errorf("sqlstore: close: %w", err)
	}
	return nil
}

// target is a parsed database URL.
type target struct {
	dialect string
	dsn     string
	// display names the database in logs and errors, without secrets.
	display string
	memory  bool
}

// sqliteParams are the connection settings every SQLite connection gets:
// a busy timeout so that writers wait for each other instead of failing,
// WAL so that readers do not block the writer, enforced foreign keys, and
// IMMEDIATE transactions so that a transaction that reads before it writes
// takes the write lock up front and cannot deadlock on the upgrade.
const sqliteParams = "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_txlock=immediate"

func parseDatabaseURL(raw string) (target, error) {
	if strings.TrimSpace(raw) == "" {
		return target{}, errors.New("sqlstore: empty database URL (want postgres://..., sqlite:PATH, file:PATH or a file path)")
	}
	scheme, rest := splitScheme(raw)
	switch scheme {
	case "postgres", "postgresql":
		u, err := url.Parse(raw)
		if err != nil {
			return target{}, fmt.Errorf("sqlstore: malformed PostgreSQL URL: %w", err)
		}
		t := target{dialect: DialectPostgres, dsn: raw, display: u.Redacted()}
		if q := u.Query(); !q.Has("connect_timeout") {
			q.Set("connect_timeout", defaultConnectTimeout)
			u.RawQuery = q.Encode()
			t.dsn = u.String()
		}
		return t, nil
	case "file":
		// Keep the URI form: SQLite itself understands file: URIs and
		// their parameters (mode=ro, ...).
		path, _, _ := strings.Cut(rest, "?")
		if path == "" {
			return target{}, fmt.Errorf("sqlstore: database URL %q names no file", raw)
		}
		sep := "?"
		if strings.Contains(raw, "?") {
			sep = "&"
		}
		return target{
			dialect: DialectSQLite,
			dsn:     raw + sep + sqliteParams,
			display: raw,
			memory:  path == ":memory:" || strings.Contains(raw, "mode=memory"),
		}, nil
	case "sqlite", "":
		if scheme == "" {
			rest = raw
		} else if r, ok := strings.CutPrefix(rest, "//"); ok {
			// sqlite:///abs/path and sqlite://relative/path.
			rest = r
		}
		path, query, _ := strings.Cut(rest, "?")
		if path == "" {
			return target{}, fmt.Errorf("sqlstore: database URL %q names no file", raw)
		}
		dsn := path + "?" + sqliteParams
		if query != "" {
			dsn += "&" + query
		}
		return target{dialect: DialectSQLite, dsn: dsn, display: path, memory: path == ":memory:"}, nil
	}
	return target{}, fmt.Errorf("sqlstore: unsupported database URL scheme %q (want postgres://, postgresql://, sqlite:, file: or a file path)", scheme)
}

// splitScheme returns the lower-cased URL scheme of raw and what follows
// the colon, or "" and raw if raw does not start with a scheme. A single
// letter before the colon is a Windows drive, not a scheme.
func splitScheme(raw string) (scheme, rest string) {
	i := strings.IndexByte(raw, ':')
	if i < 2 {
		return "", raw
	}
	for j, c := range raw[:i] {
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (j == 0 || !(c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return "", raw
		}
	}
	return strings.ToLower(raw[:i]), raw[i+1:]
}

// tx runs fn in a transaction: committed if fn returns nil, rolled back
// otherwise. On SQLite it begins IMMEDIATE (see sqliteParams), and the
// transactions of this Store queue for their turn in Go before they take a
// connection: SQLite runs one writer at a time anyway, and a transaction
// waiting in the busy handler would hold a pool connection, sleep in
// steps of up to 100ms, and could starve the statements of the
// transaction it waits for (the busy timeout still covers other
// processes sharing the file).
//
// On SQLite a statement text must run either always inside transactions
// or always outside: gorm's prepared statement cache shares a statement
// being prepared, and a statement prepared outside a transaction waits for
// a pool connection, so a transaction holding the write lock could wait
// for it while the pool is full (an in-memory database has a single
// connection).
//
// The seat changes an SQLite transaction collects (seatsChanged) are
// published once it commits, still in its writer turn. The seat events
// it records are told to the observer once it committed (monitor.go).
func (s *Store) tx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	ctx, events := collectSeatEvents(withHealth(ctx, s.health))
	ctx, ends := markTokenEnds(ctx)
	defer func() {
		if ends.any {
			s.tokens.forget()
		}
	}()
	if s.writer == nil {
		err := s.transaction(ctx, fn)
		s.committed(err, events)
		return err
	}
	select {
	case s.writer <- struct{}{}:
		defer func() { <-s.writer }()
	case <-ctx.Done():
		return fmt.Errorf("sqlstore: waiting to write: %w", ctx.Err())
	}
	s.pending = nil // left by a transaction that panicked, if any
	err := s.transaction(ctx, fn)
	changes := s.pending
	s.pending = nil
	if err == nil {
		s.publish(changes...)
	}
	s.committed(err, events)
	return err
}

// transaction runs fn in a transaction of ctx. The errors of fn's
// statements are translated already (exec, query); those of the begin and
// the commit are translated here, so that a database that cannot be
// reached or went away as the transaction ended is ErrUnavailable.
func (s *Store) transaction(ctx context.Context, fn func(tx *gorm.DB) error) error {
	var fnErr error
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		fnErr = fn(tx)
		return fnErr
	})
	if err != nil && err != fnErr {
		return note(ctx, dbErr("transaction", err))
	}
	return err
}

// ObserveStatements calls fn with every statement the Store runs from now
// on through gorm (as the database receives it, with its variables), after
// it ran. Tests use it to check what the statements touch; fn must be
// safe for concurrent use and quick.
func (s *Store) ObserveStatements(fn func(sql string, vars []any)) error {
	observe := func(db *gorm.DB) { fn(db.Statement.SQL.String(), db.Statement.Vars) }
	cb := s.db.Callback()
	for _, err := range []error{
		cb.Create().After("gorm:create").Register("scimd:observe", observe),
		cb.Query().After("gorm:query").Register("scimd:observe", observe),
		cb.Update().After("gorm:update").Register("scimd:observe", observe),
		cb.Delete().After("gorm:delete").Register("scimd:observe", observe),
		cb.Row().After("gorm:row").Register("scimd:observe", observe),
		cb.Raw().After("gorm:raw").Register("scimd:observe", observe),
	} {
		if err != nil {
			return fmt.Errorf("sqlstore: observe statements: %w", err)
		}
	}
	return nil
}

// conn returns the handle for statements outside a transaction.
func (s *Store) conn(ctx context.Context) *gorm.DB {
	return s.db.WithContext(withHealth(ctx, s.health))
}

// exec runs a statement and returns the number of rows it affected, with
// errors translated by dbErr.
func exec(db *gorm.DB, op, query string, args ...any) (int64, error) {
	res := db.Exec(query, args...)
	if res.Error != nil {
		return 0, note(db.Statement.Context, dbErr(op, res.Error))
	}
	return res.RowsAffected, nil
}

// query runs a query and calls scan for each row, with errors translated
// by dbErr.
func query(db *gorm.DB, op, query string, args []any, scan func(*sql.Rows) error) error {
	ctx := db.Statement.Context
	rows, err := db.Raw(query, args...).Rows()
	if err != nil {
		return note(ctx, dbErr(op, translate(db, err)))
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return note(ctx, dbErr(op, translate(db, err)))
		}
	}
	return note(ctx, dbErr(op, translate(db, rows.Err())))
}

// translate turns a driver error into gorm's error for it (a unique or
// foreign key violation, ...), as gorm does for the statements it runs
// itself: the errors of a statement read through Rows (an INSERT or
// UPDATE ... RETURNING) reach the caller only while the rows are read.
func translate(db *gorm.DB, err error) error {
	if t, ok := db.Dialector.(gorm.ErrorTranslator); ok && err != nil {
		return t.Translate(err)
	}
	return err
}

// dbErr is the one place where driver errors become domain errors: a
// missing row is ErrNotFound, a unique index violation ErrConflict, a
// foreign key violation (the account or group referred to is missing)
// ErrNotFound, a check constraint violation ErrInvalid and a database
// that cannot serve now (unavailable) ErrUnavailable. Domain errors pass
// through unchanged; anything else is wrapped with the operation.
func dbErr(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, licensing.ErrNotFound), errors.Is(err, licensing.ErrConflict),
		errors.Is(err, licensing.ErrStale), errors.Is(err, licensing.ErrInvalid),
		errors.Is(err, licensing.ErrUnauthenticated), errors.Is(err, licensing.ErrUnavailable):
		return err
	case errors.Is(err, gorm.ErrRecordNotFound), errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("sqlstore: %s: %w", op, licensing.ErrNotFound)
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return fmt.Errorf("sqlstore: %s: %w", op, licensing.ErrConflict)
	case errors.Is(err, gorm.ErrForeignKeyViolated):
		return fmt.Errorf("sqlstore: %s: referenced object missing: %w", op, licensing.ErrNotFound)
	case errors.Is(err, gorm.ErrCheckConstraintViolated):
		return fmt.Errorf("sqlstore: %s: %w: %w", op, licensing.ErrInvalid, err)
	case unavailable(err):
		return fmt.Errorf("sqlstore: %s: %w: %w", op, licensing.ErrUnavailable, err)
	case contended(err):
		return fmt.Errorf("sqlstore: %s: %w: %w: %w", op, licensing.ErrUnavailable, errContention, err)
	}
	return fmt.Errorf("sqlstore: %s: %w", op, err)
}

// sqliteTime is how SQLite columns hold timestamps: UTC, fixed width, so
// that comparing the text compares the times.
const sqliteTime = "2006-01-02T15:04:05.000000Z"

// timeArg converts t into the argument that the dialect's timestamp
// columns take, truncated to the microseconds both dialects keep.
func (s *Store) timeArg(t time.Time) any { return timeArg(s.dialect, t) }

func timeArg(dialect string, t time.Time) any {
	t = t.UTC().Truncate(time.Microsecond)
	if dialect == DialectSQLite {
		return t.Format(sqliteTime)
	}
	return t
}

// nullTimeArg is timeArg for nullable columns.
func (s *Store) nullTimeArg(t *time.Time) any {
	if t == nil {
		return nil
	}
	return s.timeArg(*t)
}

// dbTime scans a timestamp column of either dialect into a UTC time.
type dbTime struct {
	Time  time.Time
	Valid bool
}

// Scan implements sql.Scanner.
func (t *dbTime) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*t = dbTime{}
		return nil
	case time.Time:
		*t = dbTime{Time: v.UTC(), Valid: true}
		return nil
	case string:
		return t.parse(v)
	case []byte:
		return t.parse(string(v))
	}
	return fmt.Errorf("cannot scan %T into a timestamp", v)
}

func (t *dbTime) parse(s string) error {
	p, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("malformed timestamp %q: %w", s, err)
	}
	*t = dbTime{Time: p.UTC(), Valid: true}
	return nil
}

// ptr returns the time, or nil if the column was NULL.
func (t dbTime) ptr() *time.Time {
	if !t.Valid {
		return nil
	}
	v := t.Time
	return &v
}

// nullString stores "" as NULL, for optional text columns.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}
