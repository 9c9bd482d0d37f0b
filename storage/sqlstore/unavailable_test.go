package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"

	"github.com/scimd/scimd/licensing"
)

// sqliteCodeErr is an error carrying an SQLite result code, as the
// driver's errors do.
type sqliteCodeErr int

func (e sqliteCodeErr) Error() string { return fmt.Sprintf("sqlite error %d", int(e)) }
func (e sqliteCodeErr) Code() int     { return int(e) }

func TestDBErrClassifiesUnavailable(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, true},
		{"connection reset", fmt.Errorf("read: %w", syscall.ECONNRESET), true},
		{"lost mid-query", fmt.Errorf("unexpected EOF: %w", io.ErrUnexpectedEOF), true},
		{"conn closed", fmt.Errorf("begin: %w", pgconn.ErrConnClosed), true},
		{"bad conn", driver.ErrBadConn, true},
		{"conn done", sql.ErrConnDone, true},
		{"admin shutdown", &pgconn.PgError{Code: "57P01"}, true},
		{"cannot connect now", &pgconn.PgError{Code: "57P03"}, true},
		{"too many connections", &pgconn.PgError{Code: "53300"}, true},
		{"connection failure", &pgconn.PgError{Code: "08006"}, true},
		{"sqlite busy", sqliteCodeErr(5), true},
		{"sqlite busy snapshot", sqliteCodeErr(517), true},
		{"sqlite locked", sqliteCodeErr(6), true},
		{"sqlite constraint", sqliteCodeErr(19), false},
		{"serialization failure", &pgconn.PgError{Code: "40001"}, true},
		{"deadlock detected", &pgconn.PgError{Code: "40P01"}, true},
		{"lock not available", &pgconn.PgError{Code: "55P03"}, true},
		{"syntax error", &pgconn.PgError{Code: "42601"}, false},
		{"unique violation", &pgconn.PgError{Code: "23505"}, false},
		{"client went away", fmt.Errorf("read: %w", context.Canceled), false},
		{"cancelled while dialling", &net.OpError{Op: "dial", Err: context.Canceled}, false},
		{"anything else", errors.New("boom"), false},
	}
	for _, c := range cases {
		err := dbErr("op", c.err)
		if got := errors.Is(err, licensing.ErrUnavailable); got != c.want {
			t.Errorf("%s: dbErr(%v) = %v, ErrUnavailable %v; want %v", c.name, c.err, err, got, c.want)
		}
		if again := dbErr("again", err); c.want && again != err {
			t.Errorf("%s: dbErr of its own answer = %v, want it unchanged", c.name, again)
		}
	}
	if err := dbErr("op", nil); err != nil {
		t.Errorf("dbErr(nil) = %v", err)
	}
}

func TestPostgresURLGetsConnectTimeout(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:pw@db/scimd":                              "connect_timeout=5",
		"postgres://db/scimd?sslmode=disable":                   "connect_timeout=5",
		"postgresql://db/scimd?connect_timeout=30&x=y":          "connect_timeout=30",
		"postgres://db/scimd?sslmode=disable&connect_timeout=1": "connect_timeout=1",
	} {
		got, err := parseDatabaseURL(in)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Count(got.dsn, "connect_timeout=") != 1 || !strings.Contains(got.dsn, want) {
			t.Errorf("parseDatabaseURL(%q).dsn = %q, want one %s", in, got.dsn, want)
		}
		if strings.Contains(got.display, "pw") {
			t.Errorf("display %q shows the password", got.display)
		}
	}
}

func TestShouldPingAfterFailure(t *testing.T) {
	h := &health{}
	recent := stdlib.ShouldPingParams{IdleDuration: 10 * time.Millisecond}
	if h.shouldPing(context.Background(), recent) {
		t.Error("a connection used 10ms ago is pinged though nothing failed")
	}
	if !h.shouldPing(context.Background(), stdlib.ShouldPingParams{IdleDuration: 2 * time.Second}) {
		t.Error("a connection idle for 2s is not pinged")
	}
	var told atomic.Int32
	count := func(error) { told.Add(1) }
	h.report.Store(&count)
	h.failed(licensing.ErrUnavailable)
	if !h.shouldPing(context.Background(), recent) {
		t.Error("a connection last used before a failure is not pinged")
	}
	if told.Load() != 1 {
		t.Errorf("the failure was reported %d times, want 1", told.Load())
	}
	time.Sleep(5 * time.Millisecond)
	if h.shouldPing(context.Background(), stdlib.ShouldPingParams{IdleDuration: time.Millisecond}) {
		t.Error("a connection used since the failure is pinged")
	}
}

// TestListenerBackoff: a lost listener reconnects at once, then after
// 50 ms, doubling up to a second, so that it is back within a second of
// the database.
func TestListenerBackoff(t *testing.T) {
	want := []time.Duration{0, 50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond,
		400 * time.Millisecond, 800 * time.Millisecond, time.Second, time.Second}
	var d time.Duration
	for i, w := range want {
		if d != w {
			t.Fatalf("wait %d = %v, want %v", i, d, w)
		}
		d = nextBackoff(d)
	}
}

// TestDeadlockIsUnavailable makes PostgreSQL break a real deadlock
// between two transactions of the Store and checks that the one it
// aborts is reported as ErrUnavailable (a 503 the client may retry) but
// not as an outage, and that the other commits.
func TestDeadlockIsUnavailable(t *testing.T) {
	s := openPostgres(t)
	ctx := context.Background()
	table := "deadlock_" + randomHex(4)
	if err := s.db.Exec(`CREATE TABLE ` + table + ` (id int PRIMARY KEY, n int NOT NULL)`).Error; err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.db.Exec(`DROP TABLE ` + table) })
	if err := s.db.Exec(`INSERT INTO ` + table + ` VALUES (1, 0), (2, 0)`).Error; err != nil {
		t.Fatal(err)
	}
	// Each transaction locks one row, waits until the other holds its
	// row too, then asks for the other's: one of them must be aborted.
	failedBefore := s.health.failedAt.Load()
	var held sync.WaitGroup
	held.Add(2)
	errs := make(chan error, 2)
	for _, order := range [][2]int{{1, 2}, {2, 1}} {
		go func() {
			errs <- s.tx(ctx, func(tx *gorm.DB) error {
				if _, err := exec(tx, "lock first", `UPDATE `+table+` SET n = n + 1 WHERE id = ?`, order[0]); err != nil {
					held.Done()
					return err
				}
				held.Done()
				held.Wait()
				_, err := exec(tx, "lock second", `UPDATE `+table+` SET n = n + 1 WHERE id = ?`, order[1])
				return err
			})
		}()
	}
	var failed, committed int
	for range 2 {
		err := <-errs
		switch {
		case err == nil:
			committed++
		case errors.Is(err, licensing.ErrUnavailable):
			failed++
		default:
			t.Errorf("a deadlocked transaction failed with %v, want ErrUnavailable", err)
		}
	}
	if failed != 1 || committed != 1 {
		t.Errorf("%d transactions aborted and %d committed, want 1 and 1", failed, committed)
	}
	if s.health.failedAt.Load() != failedBefore {
		t.Error("a deadlock was taken for a database outage")
	}
	var sum int
	if err := s.db.Raw(`SELECT sum(n) FROM ` + table).Scan(&sum).Error; err != nil {
		t.Fatal(err)
	}
	if sum != 2 {
		t.Errorf("after the deadlock the rows count %d updates, want the committed transaction's 2", sum)
	}
}

// TestNoOutageWhenTheCallerChoseToStop: an unavailable error of a
// statement whose context ran past a deadline its caller chose (a waiting
// start's join, licensing.WithChosenTimeout) is not reported as an
// outage; the same error before that deadline is, and so is one past an
// ordinary deadline, or past a shorter deadline of a context derived from
// one chosen for later.
func TestNoOutageWhenTheCallerChoseToStop(t *testing.T) {
	h := &health{}
	var told atomic.Int32
	count := func(error) { told.Add(1) }
	h.report.Store(&count)
	// What a dial made as the deadline passed answers (i/o timeout).
	dial := dbErr("transaction", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ETIMEDOUT})
	if !errors.Is(dial, licensing.ErrUnavailable) {
		t.Fatalf("dial error %v is not ErrUnavailable", dial)
	}
	chosen, cancel := licensing.WithChosenTimeout(context.Background(), time.Millisecond)
	defer cancel()
	later, cancelLater := licensing.WithChosenTimeout(context.Background(), time.Hour)
	defer cancelLater()
	shorter, cancelShorter := context.WithTimeout(later, time.Millisecond)
	defer cancelShorter()
	ordinary, cancelOrdinary := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancelOrdinary()
	time.Sleep(5 * time.Millisecond)
	for _, c := range []struct {
		name string
		ctx  context.Context
		want int32
	}{
		{"past the chosen deadline", chosen, 0},
		{"before the chosen deadline", later, 1},
		{"past a shorter deadline under a chosen one", shorter, 1},
		{"past an ordinary deadline", ordinary, 1},
	} {
		told.Store(0)
		if err := note(withHealth(c.ctx, h), dial); err != dial {
			t.Errorf("%s: note changed the error to %v", c.name, err)
		}
		if told.Load() != c.want {
			t.Errorf("%s: reported %d times, want %d", c.name, told.Load(), c.want)
		}
	}
}
