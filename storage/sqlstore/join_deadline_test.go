package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"net"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimd/scimd/licensing"
)

// TestJoinOutOfTimeKeepsItsConnection holds a line's lock from another
// connection while an agent joins the line with a deadline, as a waiting
// start does, and checks that the join fails as its deadline's (no place
// in time), not as an unavailable database, that no outage is reported,
// and that the store's one connection survives: the wait for the lock is
// ended by the database (lock_timeout), not by pgx interrupting the query,
// which closes the connection.
func TestJoinOutOfTimeKeepsItsConnection(t *testing.T) {
	s := openPostgres(t)
	bg := context.Background()
	a, users := accountWithUsers(t, s, 1)
	now := time.Now()
	var outages atomic.Int32
	s.OnUnavailable(func(error) { outages.Add(1) })
	// One connection: the query after the join runs on the join's
	// connection if it survived, on a new one (another backend) if not.
	s.sqlDB.SetMaxOpenConns(1)
	backend := func() int {
		t.Helper()
		pid := 0
		if err := s.sqlDB.QueryRowContext(bg, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
			t.Fatal(err)
		}
		return pid
	}
	before := backend()

	other, err := sql.Open("pgx", postgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	other.SetMaxOpenConns(1) // the unlock below runs on the locking connection
	const product = "remote-support-v5"
	line := "waiters/" + a.ID + "/" + product
	if _, err := other.ExecContext(bg, `SELECT pg_advisory_lock(hashtextextended($1, 0))`, line); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := licensing.WithChosenTimeout(bg, 300*time.Millisecond)
	defer cancel()
	_, err = s.JoinQueue(ctx, a.ID, product, users[0], now, now.Add(time.Minute), 1000)
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, licensing.ErrUnavailable) {
		t.Errorf("join held up by the line's lock past its deadline: %v, want its deadline's error, not ErrUnavailable", err)
	}
	if n := outages.Load(); n != 0 {
		t.Errorf("%d outages reported for a join out of time", n)
	}
	if after := backend(); after != before {
		t.Errorf("the join's connection (backend %d) was closed; the next query ran on backend %d", before, after)
	}
	if _, err := other.ExecContext(bg, `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, line); err != nil {
		t.Fatal(err)
	}
	if _, err := s.JoinQueue(bg, a.ID, product, users[0], now, now.Add(time.Minute), 1000); err != nil {
		t.Errorf("join once the lock is free: %v", err)
	}
}

// commitProxy forwards TCP connections to a PostgreSQL server and, once
// armed, interferes with the next COMMIT a client sends (a simple query
// message, as pgx sends it): lose its answer (the server commits, the
// client never hears) or lose the COMMIT itself (the server rolls back
// when the client closes). Either way the client's context ends the
// commit, not knowing how it went.
type commitProxy struct {
	ln     net.Listener
	target string
	// armed is the fate of the next commit: loseAnswer or loseCommit.
	armed atomic.Int32
}

const (
	loseAnswer = 1
	loseCommit = 2
)

// commitMessage is pgx's COMMIT on the wire: 'Q', its length, the text.
var commitMessage = []byte("Q\x00\x00\x00\x0bcommit\x00")

func newCommitProxy(t *testing.T, target string) *commitProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &commitProxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", target)
			if err != nil {
				client.Close()
				continue
			}
			go p.pipe(client, server)
		}
	}()
	return p
}

// pipe forwards both ways until either side closes, then closes both.
func (p *commitProxy) pipe(client, server net.Conn) {
	defer client.Close()
	defer server.Close()
	var answersLost atomic.Bool
	go func() {
		defer client.Close()
		buf := make([]byte, 32<<10)
		for {
			n, err := server.Read(buf)
			if n > 0 && !answersLost.Load() {
				if _, err := client.Write(buf[:n]); err != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := client.Read(buf)
		if n > 0 {
			out := buf[:n]
			if bytes.Contains(out, commitMessage) {
				switch p.armed.Swap(0) {
				case loseAnswer:
					answersLost.Store(true)
				case loseCommit:
					out = nil
				}
			}
			if _, err := server.Write(out); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// TestJoinCutShortAsItCommits: a join whose deadline passes while its
// commit's answer is on the way (the commit was made) takes its place
// back, and only its own: the user's other request sharing the place
// keeps it. One whose COMMIT never reached the server leaves that place
// alone too.
func TestJoinCutShortAsItCommits(t *testing.T) {
	openPostgres(t) // migrated
	u, err := url.Parse(postgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	p := newCommitProxy(t, u.Host)
	u.Host = p.ln.Addr().String()
	s, err := Open(u.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	bg := context.Background()
	a, users := accountWithUsers(t, s, 1)
	const product = "remote-support-v5"
	now := time.Now()
	// The user's first request waits in line.
	ticket, err := s.JoinQueue(bg, a.ID, product, users[0], now, now.Add(time.Minute), 1000)
	if err != nil {
		t.Fatal(err)
	}
	holders := func() int {
		t.Helper()
		n := 0
		if err := s.sqlDB.QueryRowContext(bg, `SELECT COALESCE(SUM(holders), 0) FROM waiters WHERE ticket = $1`, ticket).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, c := range []struct {
		name string
		fate int32
	}{{"answer lost", loseAnswer}, {"commit lost", loseCommit}} {
		// A second request of the user joins, sharing the place, and
		// its deadline passes during its commit.
		p.armed.Store(c.fate)
		ctx, cancel := licensing.WithChosenTimeout(bg, 500*time.Millisecond)
		_, err := s.JoinQueue(ctx, a.ID, product, users[0], now, now.Add(time.Minute), 1000)
		cancel()
		if err == nil || p.armed.Load() != 0 {
			t.Fatalf("%s: the join's commit was not interfered with (join error %v)", c.name, err)
		}
		if n := holders(); n != 1 {
			t.Errorf("%s: the place has %d holders after the join cut short, want 1 (the first request)", c.name, n)
		}
	}
}
