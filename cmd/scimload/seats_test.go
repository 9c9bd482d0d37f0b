package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/scimd/scimd/agent"
	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/server"
	"github.com/scimd/scimd/storage/sqlstore"
)

// TestSeatsAPIConstants checks that the load tool calls the paths and
// reads the problem code the servers use.
func TestSeatsAPIConstants(t *testing.T) {
	if agentAPIPath != server.AgentPath || adminAPIPath != server.AdminPath || codeAllSharedInUse != agent.CodeAllSharedInUse {
		t.Errorf("scimload's %q %q %q differ from the servers' %q %q %q", agentAPIPath, adminAPIPath, codeAllSharedInUse,
			server.AgentPath, server.AdminPath, agent.CodeAllSharedInUse)
	}
}

// seatsDatabase is a database for the seats tests: its name and a
// function making its URL for a test.
type seatsDatabase struct {
	name string
	url  func(t *testing.T) string
}

// seatsDatabases returns SQLite in a temporary directory and, with
// SCIMD_TEST_POSTGRES set (under CI=true it must be), a PostgreSQL
// database of the test's own.
func seatsDatabases(t *testing.T) []seatsDatabase {
	dbs := []seatsDatabase{{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "seats.db") }}}
	for _, b := range testenv.Backends(t) {
		if b.Name == "postgres" {
			dbs = append(dbs, seatsDatabase{"postgres", func(t *testing.T) string { return testenv.IsolatedPostgresURL(t) }})
		}
	}
	return dbs
}

// openMigrated opens and migrates the database, as scimd serve does.
func openMigrated(t testing.TB, url string) *sqlstore.Store {
	t.Helper()
	store, err := sqlstore.Open(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if _, err := store.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return store
}

// TestSeatsAgainstTwoReplicas races 20 agents for 3 seats through two
// servers on one database and checks the counts and the oversell check;
// on PostgreSQL with the raw-SQL baseline too.
func TestSeatsAgainstTwoReplicas(t *testing.T) {
	for _, db := range seatsDatabases(t) {
		t.Run(db.name, func(t *testing.T) {
			ctx := context.Background()
			dbURL := db.url(t)
			store := openMigrated(t, dbURL)
			u1, u2 := startScimd(t, store), startScimd(t, store)
			args := []string{"seats", "--url", u1 + "," + u2, "--database-url", dbURL, "--account", "seats",
				"--agents", "20", "--seats", "3", "--rounds", "3", "--hold", "5ms", "--monitor-interval", "2ms"}
			if db.name == "postgres" {
				args = append(args, "--baseline-sql", dbURL)
			}
			rep, err := load(t, "", args...)
			if err != nil {
				t.Fatalf("seats: %v\n%+v", err, rep)
			}
			if len(rep.Targets) != 2 || strings.HasSuffix(rep.Targets[0], server.SCIMPath) {
				t.Errorf("targets %v, want the two servers' roots", rep.Targets)
			}
			s := rep.Seats
			if s == nil {
				t.Fatalf("no seats in the report: %+v", rep)
			}
			checkSeats(t, "scimd", s.Scimd, 60)
			for _, name := range []string{"start granted", "connect", "heartbeat", "end", "seat cycle"} {
				if o := op(t, rep, name); o.OK != 60 || o.Requests != 60 {
					t.Errorf("%s: %+v, want 60 successes and no failure", name, o)
				}
			}
			if o := op(t, rep, "start denied (409)"); o.OK != s.Scimd.Denials || o.OK == 0 {
				t.Errorf("denials: %+v, check says %d; want some: 20 agents for 3 seats", o, s.Scimd.Denials)
			}
			if o := op(t, rep, "admin poll"); o.OK == 0 || o.OK != s.Scimd.Readings || o.Requests != o.OK {
				t.Errorf("admin poll: %+v, check says %d readings", o, s.Scimd.Readings)
			}

			acct, err := store.AccountByName(ctx, "seats")
			if err != nil {
				t.Fatal(err)
			}
			page, err := store.Tokens(ctx, acct.ID, licensing.TokenQuery{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			tokens := page.Items
			for _, tok := range tokens {
				if tok.RevokedAt == nil {
					t.Errorf("token %s (%s) left active after the run", tok.ID, tok.Name)
				}
			}
			if len(tokens) != 21 {
				t.Errorf("%d tokens made, want 20 agents' and the monitor's", len(tokens))
			}

			if db.name == "postgres" {
				checkBaseline(t, dbURL, rep)
			}

			// Again, reusing the agents, with starts that wait on the server.
			rep, err = load(t, "", "seats", "--url", u2+","+u1, "--database-url", dbURL, "--account", "seats",
				"--agents", "20", "--seats", "3", "--rounds", "2", "--hold", "5ms", "--wait", "2")
			if err != nil {
				t.Fatalf("seats --wait: %v\n%+v", err, rep)
			}
			checkSeats(t, "scimd --wait", rep.Seats.Scimd, 40)
			if !strings.Contains(strings.Join(rep.Notes, " "), "20 agents (0 made now)") {
				t.Errorf("second run's notes %q: want the agents reused", rep.Notes)
			}
		})
	}
}

// checkSeats checks a phase's counts: every cycle done, no oversell,
// the seats all free afterwards.
func checkSeats(t *testing.T, phase string, c SeatsCheck, cycles int) {
	t.Helper()
	if c.Cycles != cycles || c.CyclesPerSec <= 0 {
		t.Errorf("%s: %d cycles at %.1f/s, want %d", phase, c.Cycles, c.CyclesPerSec, cycles)
	}
	if c.Violations != 0 || c.HeldViolations != 0 || c.MaxOccupied > 3 || c.MaxHeld > 3 || c.MaxHeld < 1 {
		t.Errorf("%s: %+v, want no oversell of 3 seats", phase, c)
	}
	if c.Readings == 0 || c.FinalOccupied != 0 || c.FinalWaiting != 0 {
		t.Errorf("%s: %+v, want readings and every seat free after the run", phase, c)
	}
	if h := c.Handoff; h.Grants != cycles || h.Handoffs+h.Direct != h.Grants || h.Unmatched != 0 || h.Handoffs == 0 || h.MaxMs < h.P50Ms {
		t.Errorf("%s: hand-off %+v, want every grant matched, some to agents that asked before the seat was freed", phase, h)
	}
}

// checkBaseline checks the raw-SQL phase and that its scratch tables are
// gone.
func checkBaseline(t *testing.T, url string, rep Report) {
	t.Helper()
	if rep.Seats.RawSQL == nil || rep.Baseline == nil {
		t.Fatalf("no raw-SQL phase in %+v", rep)
	}
	checkSeats(t, "raw SQL", *rep.Seats.RawSQL, 60)
	b := rep.Baseline
	if b.Op.Name != "raw SQL seat cycle" || b.Op.OK != 60 || !b.SameDatabase || b.ThroughputRatio <= 0 {
		t.Errorf("baseline %+v", b)
	}
	if o := op(t, rep, "raw SQL claim"); o.OK != 60 || o.Requests != 60 {
		t.Errorf("raw SQL claims: %+v", o)
	}
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	left := -1
	if err := db.QueryRow(`SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'scimload_seats_%'`).Scan(&left); err != nil || left != 0 {
		t.Errorf("scratch schemas left: %d (%v)", left, err)
	}
}

// TestSeatsReportsOversell serves an admin API that shows one seat more
// than the plan has once the run started: the run must fail and say so.
func TestSeatsReportsOversell(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "seats.db")
	store := openMigrated(t, db)
	real := scimdHandler(t, store)
	var readings atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, adminAPIPath+"/products/") && readings.Add(1) > 1 {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"id":"remote-support-v5","name":"Remote Support v5","named":{"assigned":0,"total":0},"concurrent":{"occupied":4,"total":3,"waiting":0}}`)
			return
		}
		real.ServeHTTP(w, r)
	}))
	defer ts.Close()
	var out bytes.Buffer
	err := run(context.Background(), []string{"seats", "--url", ts.URL, "--database-url", db, "--agents", "4", "--seats", "3", "--rounds", "2", "--hold", "1ms"},
		&out, io.Discard, noEnv, testDNS)
	if !errors.Is(err, errSeatCheck) || !strings.Contains(err.Error(), "OVERSELL") || !strings.Contains(err.Error(), "4 seats still occupied") {
		t.Errorf("error %v, want a failed seat check naming the oversell and the seats left occupied", err)
	}
	for _, want := range []string{"start granted", "seat start+end cycles", "occupied at most 4 of 3", "OVERSELL (scimd)", "scimd hand-off"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}

// TestSeatsRefusesAForeignPlan checks the monitor's first reading: a
// token of another account (or servers on another database) shows other
// seats, and the run stops before loading anything.
func TestSeatsRefusesAForeignPlan(t *testing.T) {
	ctx := context.Background()
	db := "sqlite:" + filepath.Join(t.TempDir(), "seats.db")
	store := openMigrated(t, db)
	url := startScimd(t, store)
	other, err := licensing.CreateAccount(ctx, store, licensing.SystemClock{}, "other")
	if err != nil {
		t.Fatal(err)
	}
	_, bearer, err := licensing.IssueAdminToken(ctx, store, licensing.SystemClock{}, other.ID, "other", []licensing.Privilege{licensing.PrivRead})
	if err != nil {
		t.Fatal(err)
	}
	err = run(ctx, []string{"seats", "--url", url, "--database-url", db, "--agents", "2", "--seats", "1", "--rounds", "1"}, io.Discard, io.Discard,
		env(map[string]string{"SCIMLOAD_ADMIN_TOKEN": bearer}), testDNS)
	if err == nil || !strings.Contains(err.Error(), "shows 0 concurrent seats") {
		t.Errorf("seats with another account's admin token: %v, want a refusal before the run", err)
	}
}

func TestHeldSeats(t *testing.T) {
	h := &heldSeats{limit: 2}
	h.take()
	h.take()
	h.give()
	h.take()
	if h.max.Load() != 2 || h.over.Load() != 0 {
		t.Errorf("max %d over %d, want 2 and 0", h.max.Load(), h.over.Load())
	}
	h.take()
	if h.max.Load() != 3 || h.over.Load() != 1 || h.now.Load() != 3 {
		t.Errorf("max %d over %d now %d, want 3, 1, 3", h.max.Load(), h.over.Load(), h.now.Load())
	}
}
