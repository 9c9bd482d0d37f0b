package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/admin"
	"github.com/scimd/scimd/agent"
	"github.com/scimd/scimd/internal/password"
	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/server"
	"github.com/scimd/scimd/storage/sqlstore"
)

// startScimd serves scimd over the store on a loopback port, wired as
// scimd serve wires it (SCIM, agent and admin APIs), and returns the SCIM
// base URL.
func startScimd(t testing.TB, store *sqlstore.Store) string {
	t.Helper()
	ts := httptest.NewServer(scimdHandler(t, store))
	t.Cleanup(ts.Close)
	return ts.URL + server.SCIMPath
}

// scimdHandler is scimd's HTTP handler over the store. A waiting agent
// tries again every 10 ms instead of 250, to keep the tests short.
func scimdHandler(t testing.TB, store *sqlstore.Store) http.Handler {
	t.Helper()
	clock, catalog := licensing.SystemClock{}, licensing.DefaultCatalog()
	passwords := password.NewPool(password.PoolOptions{})
	s, err := scim.New(store, scim.Options{MountPath: server.SCIMPath, DefaultPageSize: 100, MaxPageSize: 1000,
		MaxBodyBytes: 1 << 20, Clock: clock, Catalog: catalog,
		HashPassword: passwords.Hash, VerifyPassword: passwords.Verifier(password.LaneWrite)})
	if err != nil {
		t.Fatal(err)
	}
	agents := licensing.NewAgents(store, clock, catalog, licensing.AgentConfig{Poll: 10 * time.Millisecond}, nil)
	return server.New(server.Options{Store: store, Clock: clock, Logger: slog.New(slog.DiscardHandler), SCIM: s,
		Agent: agent.New(agent.Options{Store: store, Clock: clock, Catalog: catalog, Agents: agents, Verify: passwords.Verifier(password.LaneSignIn)}),
		Admin: admin.New(admin.Options{Store: store, Clock: clock, Catalog: catalog})})
}

// seeded seeds an SQLite account through "scimload seed" and returns the
// store, a SCIM token of the account and the server's base URL.
func seeded(t *testing.T, users string) (*sqlstore.Store, string, string) {
	t.Helper()
	ctx := context.Background()
	db := "sqlite:" + filepath.Join(t.TempDir(), "load.db")
	var out bytes.Buffer
	if err := run(ctx, []string{"seed", "--database-url", db, "--account", "load", "--users", users, "--batch", "100"}, &out, io.Discard, noEnv, testDNS); err != nil {
		t.Fatalf("seed: %v", err)
	}
	if !strings.Contains(out.String(), "seeded "+users+" users") {
		t.Errorf("seed said %q", out.String())
	}
	store, err := sqlstore.Open(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	acct, err := store.AccountByName(ctx, "load")
	if err != nil {
		t.Fatal(err)
	}
	_, bearer, err := licensing.IssueToken(ctx, store, licensing.SystemClock{}, acct.ID, "load", licensing.ScopeSCIM)
	if err != nil {
		t.Fatal(err)
	}
	return store, bearer, startScimd(t, store)
}

// load runs a scenario with --json and returns its report and error.
func load(t *testing.T, token string, args ...string) (Report, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), append(args, "--json"), &out, io.Discard, env(map[string]string{"SCIMLOAD_TOKEN": token}), testDNS)
	var rep Report
	if out.Len() > 0 {
		if jerr := json.Unmarshal(out.Bytes(), &rep); jerr != nil {
			t.Fatalf("%v: output is not a JSON report: %v\n%s", args, jerr, out.String())
		}
	}
	return rep, err
}

// op returns the report's operation with the name.
func op(t *testing.T, rep Report, name string) OpReport {
	t.Helper()
	for _, o := range rep.Ops {
		if o.Name == name {
			return o
		}
	}
	t.Fatalf("report has no operation %q: %+v", name, rep.Ops)
	return OpReport{}
}

// TestScenariosAgainstScimd runs every scenario against a real scimd on
// SQLite over loopback HTTP and checks what the reports count.
func TestScenariosAgainstScimd(t *testing.T) {
	store, token, url := seeded(t, "250")

	rep, err := load(t, token, "lookup", "--url", url, "--users", "250", "--requests", "100", "--concurrency", "4", "--miss-ratio", "0.3")
	if err != nil {
		t.Fatalf("lookup: %v %+v", err, rep)
	}
	hit, miss := op(t, rep, "lookup hit"), op(t, rep, "lookup miss")
	if hit.OK+miss.OK != 100 || hit.OK == 0 || miss.OK == 0 || hit.P50Ms <= 0 || hit.MaxMs < hit.P99Ms {
		t.Errorf("lookup: %+v %+v", hit, miss)
	}

	rep, err = load(t, token, "import", "--url", url, "--mode", "index,cursor,index-random", "--page-size", "40", "--samples", "5")
	if err != nil {
		t.Fatalf("import: %v %+v", err, rep)
	}
	if len(rep.Walks) != 2 {
		t.Fatalf("import walks: %+v", rep.Walks)
	}
	for _, w := range rep.Walks {
		if !w.Complete || w.Total != 250 || w.UsersSeen != 250 || w.Pages != 7 {
			t.Errorf("%s walk: %+v, want 250 users in 7 pages, complete", w.Mode, w)
		}
	}
	if o := op(t, rep, "index-random page"); o.OK != 5 {
		t.Errorf("index-random: %+v", o)
	}

	rep, err = load(t, token, "provision", "--url", url+","+url, "--users", "20", "--concurrency", "4", "--attributes")
	if err != nil || op(t, rep, "create user").OK != 20 || len(rep.Targets) != 2 {
		t.Fatalf("provision: %v %+v", err, rep)
	}
	rep, err = load(t, token, "provision", "--url", url, "--users", "10", "--concurrency", "2", "--password", "--license", "remoteSupportV5=concurrent")
	if err != nil || op(t, rep, "create user").OK != 10 {
		t.Fatalf("provision --password --license: %v %+v", err, rep)
	}
	acct, _ := store.AccountByName(context.Background(), "load")
	all, err := store.Users(context.Background(), acct.ID, licensing.Query{Limit: 1000, WithoutGroups: true})
	if err != nil {
		t.Fatal(err)
	}
	licensed, hashed := 0, 0
	for _, u := range all.Items {
		if u.Assignments.Of("remote-support-v5") == licensing.LicenseConcurrent {
			licensed++
		}
		if u.PasswordHash != "" {
			hashed++
		}
	}
	if licensed != 10 || hashed != 10 {
		t.Errorf("after provision --password --license: %d users licensed, %d with a password hash, want 10 and 10", licensed, hashed)
	}
	rep, err = load(t, token, "import", "--url", url, "--mode", "cursor")
	if err != nil || rep.Walks[0].Total != 280 || !rep.Walks[0].Complete {
		t.Errorf("after provisioning 30, import: %v %+v", err, rep.Walks)
	}

	rep, err = load(t, token, "mixed", "--url", url, "--users", "250", "--requests", "60", "--concurrency", "3")
	if err != nil || op(t, rep, "all").OK != 60 {
		t.Errorf("mixed: %v %+v", err, rep)
	}
}

// TestScenariosReportFailures checks that failures are counted by status,
// make the run fail, and that --duration bounds a run.
func TestScenariosReportFailures(t *testing.T) {
	_, token, url := seeded(t, "50")

	rep, err := load(t, "scimd_not_a_token", "lookup", "--url", url, "--users", "50", "--requests", "10")
	if !errors.Is(err, errFailures) || op(t, rep, "lookup hit").Errors["401"] != 10 {
		t.Errorf("bad token: %v %+v", err, rep.Ops)
	}

	// Names past the seeded 50 are absent: those lookups find nobody.
	rep, err = load(t, token, "lookup", "--url", url, "--users", "100", "--requests", "200", "--concurrency", "2")
	hit := op(t, rep, "lookup hit")
	if !errors.Is(err, errFailures) || hit.Errors[errUnexpected] == 0 || hit.OK == 0 || !strings.Contains(hit.FirstError, "found 0 users, want 1") {
		t.Errorf("lookups of absent users: %v %+v", err, hit)
	}

	// The same userNames twice: the second run gets 409 for each.
	if _, err := load(t, token, "provision", "--url", url, "--users", "5", "--pattern", "dup%d@example.com"); err != nil {
		t.Fatal(err)
	}
	rep, err = load(t, token, "provision", "--url", url, "--users", "5", "--pattern", "dup%d@example.com")
	if !errors.Is(err, errFailures) || op(t, rep, "create user").Errors["409"] != 5 {
		t.Errorf("duplicate provisioning: %v %+v", err, rep.Ops)
	}

	rep, err = load(t, token, "provision", "--url", url, "--users", "1000000", "--duration", "300ms")
	if err != nil || rep.Stopped == "" || op(t, rep, "create user").OK >= 1000000 || rep.Seconds > 5 {
		t.Errorf("a run bounded by --duration: %v stopped %q %+v", err, rep.Stopped, rep.Ops)
	}
}
