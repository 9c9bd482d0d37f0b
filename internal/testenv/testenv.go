// Package testenv opens the real databases tests run against: SQLite in a
// temporary directory always, and PostgreSQL when SCIMD_TEST_POSTGRES
// holds a URL. With CI=true a missing or unreachable PostgreSQL fails the
// test instead of skipping it. Only tests import this package.
package testenv

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the pgx database/sql driver, for CREATE DATABASE

	"github.com/scimd/scimd/internal/sqlscope"
	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/storage/sqlstore"
)

// PostgresEnv names the variable holding the PostgreSQL test URL.
const PostgresEnv = "SCIMD_TEST_POSTGRES"

// Backend is a named way to open a migrated store for a test.
type Backend struct {
	Name string
	Open func(t testing.TB) *sqlstore.Store
	// URL returns a database URL for the test: a new SQLite file, or the
	// PostgreSQL database Open would open. Tests that open several stores
	// on one database (a restart, processes side by side) pass it to
	// OpenURL.
	URL func(t testing.TB) string
}

// Backends returns SQLite and, when configured, PostgreSQL. Under CI=true
// PostgreSQL must be configured.
func Backends(t testing.TB) []Backend {
	t.Helper()
	backends := []Backend{{Name: "sqlite", Open: SQLite, URL: sqliteURL}}
	if os.Getenv(PostgresEnv) != "" {
		backends = append(backends, Backend{Name: "postgres", Open: Postgres, URL: postgresURL})
	} else if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true but %s is not set: the PostgreSQL tests must run in CI", PostgresEnv)
	}
	return backends
}

// SQLite opens a migrated SQLite store in a fresh temporary directory.
func SQLite(t testing.TB) *sqlstore.Store {
	t.Helper()
	return open(t, sqliteURL(t))
}

func sqliteURL(t testing.TB) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "scimd.db")
}

// Postgres opens a migrated store on the PostgreSQL of SCIMD_TEST_POSTGRES.
// Tests share that database: each must work in accounts of its own.
func Postgres(t testing.TB) *sqlstore.Store {
	t.Helper()
	return open(t, postgresURL(t))
}

func postgresURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv(PostgresEnv)
	if url == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but %s is not set", PostgresEnv)
		}
		t.Skipf("%s not set", PostgresEnv)
	}
	return url
}

// OpenURL opens a migrated store on the database of url (a Backend's
// URL), closed when the test ends.
func OpenURL(t testing.TB, url string) *sqlstore.Store {
	t.Helper()
	return open(t, url)
}

func open(t testing.TB, url string) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(url, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("open %s: %v", sqlstore.Redact(url), err)
	}
	t.Cleanup(func() { s.Close() })
	if s.Dialect() == sqlstore.DialectPostgres {
		if err := s.ObserveStatements(statements.Record); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Ping(context.Background()); err != nil {
		t.Fatalf("database %s unreachable: %v", sqlstore.Redact(url), err)
	}
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate %s: %v", sqlstore.Redact(url), err)
	}
	return s
}

// IsolatedBackends is Backends for tests that need a database of their
// own on PostgreSQL: those that run the session reaper, which works across
// accounts and would end other tests' sessions in the shared database.
func IsolatedBackends(t testing.TB) []Backend {
	t.Helper()
	bs := Backends(t)
	for i := range bs {
		if bs[i].Name == "postgres" {
			bs[i].Open = func(t testing.TB) *sqlstore.Store { return open(t, IsolatedPostgresURL(t)) }
			bs[i].URL = IsolatedPostgresURL
		}
	}
	return bs
}

// IsolatedPostgresURL creates a new, empty database next to the one of
// SCIMD_TEST_POSTGRES, drops it when the test ends, and returns its URL.
func IsolatedPostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		t.Fatalf("%s not set", PostgresEnv)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", PostgresEnv, err)
	}
	name := "scimd_t_" + strings.ReplaceAll(licensing.NewID()[:18], "-", "")
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec(`CREATE DATABASE ` + name); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer admin.Close()
		if _, err := admin.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`); err != nil {
			t.Logf("drop database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

// Account makes a fresh account with a random name and a SCIM token for
// it, returning the account and the bearer string. Fixtures are stored
// without audit entries: no one made them, and tests of the audit log
// find only the writes they make.
func Account(t testing.TB, store licensing.Store) (licensing.Account, string) {
	t.Helper()
	a := licensing.Account{ID: licensing.NewID(), Name: "t-" + licensing.NewID()[:13], CreatedAt: time.Now().UTC()}
	if err := store.CreateAccount(context.Background(), a); err != nil {
		t.Fatalf("create account: %v", err)
	}
	return a, Token(t, store, a.ID, licensing.ScopeSCIM)
}

// Token stores a token of the account with the scope (and, for scope
// admin, the privileges), without an audit entry, and returns its bearer
// string.
func Token(t testing.TB, store licensing.Store, accountID string, scope licensing.Scope, privileges ...licensing.Privilege) string {
	t.Helper()
	tok, bearer, err := licensing.NewToken(accountID, "test", scope, time.Now().UTC())
	if err != nil {
		t.Fatal(err)
	}
	if scope == licensing.ScopeAdmin {
		tok.Name, tok.Privileges = "test admin", licensing.NormalizePrivileges(privileges)
	}
	if err := store.CreateToken(context.Background(), tok); err != nil {
		t.Fatalf("create token: %v", err)
	}
	return bearer
}

// LockSQLite takes the write lock of the SQLite database file at path
// from a connection of its own, as another process writing would, until
// the returned function is called (or the test ends).
func LockSQLite(t testing.TB, path string) (release func()) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
				t.Errorf("unlock %s: %v", path, err)
			}
			conn.Close()
			db.Close()
		})
	}
	t.Cleanup(release)
	return release
}

// statements records what every PostgreSQL store opened here runs, for
// Main to check.
var statements = sqlscope.NewLog()

// Main runs a package's tests, then, when they passed on PostgreSQL,
// checks every statement they ran there: each must stay within one
// account it was given, or say it runs over all accounts and still never
// combine two accounts' rows (package sqlscope, docs/scaling.md). It
// returns the exit code for os.Exit.
func Main(m *testing.M) int {
	code := m.Run()
	base := os.Getenv(PostgresEnv)
	if code != 0 || base == "" {
		return code
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testenv: statements not checked:", err)
		return 1
	}
	defer db.Close()
	tables, err := sqlscope.AccountTables(context.Background(), db)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testenv: statements not checked:", err)
		return 1
	}
	rep := statements.Check(tables)
	fmt.Fprintf(os.Stderr, "testenv: %d statements on accounts' tables checked, %d not within one account\n", rep.Scoped, len(rep.Problems))
	for _, p := range rep.Problems {
		fmt.Fprintln(os.Stderr, "statement not within one account:", p)
	}
	if len(rep.Problems) > 0 {
		return 1
	}
	return 0
}
