package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/scimd/scimd/licensing"
)

// How the Store behaves while its database is unreachable, restarting or
// out of connections: every error that says so leaves the Store matching
// licensing.ErrUnavailable (dbErr, for statements, the begin and commit of
// transactions and Ping), so that the adapters answer 503 rather than
// 500. A transaction that fails so is rolled back by the database (or
// never began), so nothing is half written. The Store recovers by itself:
// database/sql opens new connections when the database is back, and every
// pooled connection is pinged before its first use after a failure
// (shouldPing), so that a connection that died with the outage is dropped
// instead of failing a request. The listener of seat changes reconnects
// on its own (watch.go).

// unavailable reports whether err means that the database cannot serve
// now but may later: it cannot be reached or refuses connections, the
// connection was lost, the server is shutting down or starting, it has no
// connection or resources left, or (SQLite) the file is locked by another
// writer past the busy timeout. A cancelled context is the caller's doing,
// never the database's.
func unavailable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Class 08 is a connection exception, class 53 insufficient
		// resources (too many connections, out of memory, disk full),
		// 57P01-03 a server shutting down, crashed or starting.
		code := pgErr.Code
		return strings.HasPrefix(code, "08") || strings.HasPrefix(code, "53") ||
			code == "57P01" || code == "57P02" || code == "57P03"
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	var sqliteErr interface{ Code() int }
	switch {
	case errors.As(err, &connectErr), errors.As(err, &netErr),
		errors.Is(err, pgconn.ErrConnClosed), errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return true
	case errors.As(err, &sqliteErr):
		// The primary result code is the low byte of an extended one.
		switch sqliteErr.Code() & 0xff {
		case sqliteBusy, sqliteLocked:
			return true
		}
	}
	return false
}

// errContention marks a PostgreSQL transaction that lost a race a retry
// can win: the server aborted it (serialization failure 40001, deadlock
// 40P01) or a lock was not granted in time (55P03). It was rolled back
// whole. dbErr reports it as ErrUnavailable, so that the client gets a 503
// with Retry-After and tries again, but it is not an outage: note leaves
// the database's health alone.
var errContention = errors.New("transaction aborted by contention")

// contended reports whether err is a PostgreSQL transaction aborted by
// contention (see errContention).
func contended(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	switch pgErr.Code {
	case "40001", "40P01", "55P03":
		return true
	}
	return false
}

// lockNotAvailable reports whether err is PostgreSQL's lock_not_available
// (55P03): a lock was not granted within the transaction's lock_timeout.
func lockNotAvailable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "55P03"
}

// The SQLite result codes of a database locked by another connection.
const (
	sqliteBusy   = 5
	sqliteLocked = 6
)

// health is what the Store knows of its database's availability.
type health struct {
	// failedAt is when (UnixNano) an operation last failed because the
	// database was unavailable; 0 if none did.
	failedAt atomic.Int64
	// report, if set, is told of every such failure.
	report atomic.Pointer[func(error)]
}

// OnUnavailable makes the Store call fn with every error it returns that
// matches licensing.ErrUnavailable (from any goroutine, possibly many at
// once; fn must be quick); nil stops it. internal/outage.Monitor.Failed
// is such a function.
func (s *Store) OnUnavailable(fn func(error)) {
	if fn == nil {
		s.health.report.Store(nil)
		return
	}
	s.health.report.Store(&fn)
}

// failed takes note of err, an error that matches licensing.ErrUnavailable.
func (h *health) failed(err error) {
	h.failedAt.Store(time.Now().UnixNano())
	if fn := h.report.Load(); fn != nil {
		(*fn)(err)
	}
}

// noteKey is the context key under which conn and tx leave the Store's
// health for exec and query.
type noteKey struct{}

// withHealth returns ctx carrying h, for note.
func withHealth(ctx context.Context, h *health) context.Context {
	return context.WithValue(ctx, noteKey{}, h)
}

// note takes note of err, an error a statement run with ctx returned, if
// it matches licensing.ErrUnavailable, and returns it. An error of a
// context whose caller chose to stop (licensing.ChoseToStop: a waiting
// start's join cut short by its wait) is no outage: counted as one, every
// join of a busy line that ran out of time logged the database as
// unavailable and made every pooled connection ping before its next use.
func note(ctx context.Context, err error) error {
	if err != nil && errors.Is(err, licensing.ErrUnavailable) && !errors.Is(err, errContention) && !licensing.ChoseToStop(ctx) {
		if h, ok := ctx.Value(noteKey{}).(*health); ok {
			h.failed(err)
		}
	}
	return err
}

// shouldPing tells pgx whether to ping a pooled connection before reusing
// it: when it has been idle for more than a second (pgx's own rule), and
// when the database failed since it was last used, so that connections
// that died in an outage are found out before a request gets them.
func (h *health) shouldPing(_ context.Context, p stdlib.ShouldPingParams) bool {
	if p.IdleDuration > time.Second {
		return true
	}
	failed := h.failedAt.Load()
	return failed != 0 && time.Now().Add(-p.IdleDuration).UnixNano() <= failed
}

// defaultConnectTimeout is the connect_timeout (seconds) of PostgreSQL URLs
// that set none: without one, a request waits for the operating system's
// TCP timeout (minutes) while the database's host does not answer.
const defaultConnectTimeout = "5"
