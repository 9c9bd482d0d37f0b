package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/storage/sqlstore"
)

// syncBuffer is a bytes.Buffer safe for a writer and a poller.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func envFor(db string) env {
	return func(k string) string {
		if k == "SCIMD_DATABASE_URL" {
			return db
		}
		return ""
	}
}

var listening = regexp.MustCompile(`scimd listening" addr=(\S+)`)

// startServe runs serve until the test ends and returns its address and
// what it printed on stdout.
func startServe(t *testing.T, db string) (addr string, stdout *syncBuffer, stop func() error) {
	t.Helper()
	addr, stdout, _, stop = startServeWith(t, db)
	return addr, stdout, stop
}

// startServeWith is startServe with more flags, also returning the log.
func startServeWith(t *testing.T, db string, flags ...string) (addr string, stdout, stderr *syncBuffer, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr = &syncBuffer{}, &syncBuffer{}
	done := make(chan error, 1)
	args := append([]string{"serve", "--listen", "127.0.0.1:0"}, flags...)
	go func() { done <- run(ctx, args, stdout, stderr, envFor(db)) }()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if m := listening.FindStringSubmatch(stderr.String()); m != nil {
			stop = func() error { cancel(); return <-done }
			t.Cleanup(func() { cancel() })
			return m[1], stdout, stderr, stop
		}
		select {
		case err := <-done:
			t.Fatalf("serve stopped early: %v\n%s", err, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	t.Fatalf("serve did not start:\n%s", stderr.String())
	return
}

func TestFirstStartPrintsATokenOnceThatWorks(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "scimd.db")
	addr, stdout, stop := startServe(t, db)
	out := stdout.String()
	token := regexp.MustCompile(`Bearer token:\s+(scimd_\S+)`).FindStringSubmatch(out)
	if token == nil || !strings.Contains(out, `created account "default"`) || !strings.Contains(out, "/scim/v2") ||
		!strings.Contains(out, "scimd admin create --account default --user you@example.com") {
		t.Fatalf("first start printed:\n%s", out)
	}
	req, _ := http.NewRequest("GET", "http://"+addr+"/scim/v2/Users?startIndex=1&count=2", nil)
	req.Header.Set("Authorization", "Bearer "+token[1])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("printed token answered %d", resp.StatusCode)
	}
	if err := stop(); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}

	_, stdout, stop = startServe(t, db)
	if out := stdout.String(); strings.Contains(out, "scimd_") {
		t.Fatalf("second start printed a token again:\n%s", out)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestAccountAndTokenCommands(t *testing.T) {
	ctx := context.Background()
	e := envFor("sqlite:" + filepath.Join(t.TempDir(), "scimd.db"))
	cmd := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(ctx, args, &out, &errOut, e)
		return out.String() + errOut.String(), err
	}
	if out, err := cmd("account", "create", "acme"); err != nil || !strings.Contains(out, "created account acme") {
		t.Fatalf("account create: %v %s", err, out)
	}
	if _, err := cmd("account", "create", "acme"); err == nil {
		t.Fatal("a second account acme was accepted")
	}
	if _, err := cmd("account", "create", "Bad Name!"); err == nil {
		t.Fatal("a malformed account name was accepted")
	}
	if out, err := cmd("account", "list"); err != nil || !strings.Contains(out, "acme") {
		t.Fatalf("account list: %v %s", err, out)
	}
	out, err := cmd("token", "create", "--account", "acme", "--name", "okta")
	bearer := regexp.MustCompile(`scimd_[0-9a-f]{16}_\S+`).FindString(out)
	if err != nil || bearer == "" {
		t.Fatalf("token create: %v %s", err, out)
	}
	id := bearer[len("scimd_") : len("scimd_")+16]
	out, err = cmd("token", "list", "--account", "acme")
	if err != nil || !strings.Contains(out, id) || strings.Contains(out, bearer) {
		t.Fatalf("token list must show the id and never the secret: %v %s", err, out)
	}
	out, err = cmd("token", "create", "--account", "acme", "--scope", "admin", "--name", "console", "--privileges", "sessions, read")
	if err != nil || !strings.Contains(out, "privileges read,sessions") {
		t.Fatalf("admin token create: %v %s", err, out)
	}
	if out, _ := cmd("token", "list", "--account", "acme"); !strings.Contains(out, "read,sessions") {
		t.Fatalf("token list does not show the admin token's privileges:\n%s", out)
	}
	for _, bad := range [][]string{
		{"--scope", "admin", "--name", "x"},
		{"--scope", "admin", "--name", "x", "--privileges", "root"},
		{"--scope", "scim", "--name", "x", "--privileges", "read"},
	} {
		if out, err := cmd(append([]string{"token", "create", "--account", "acme"}, bad...)...); err == nil {
			t.Errorf("token create %v was accepted: %s", bad, out)
		}
	}
	if _, err := cmd("token", "revoke", "--account", "acme", "ffffffffffffffff"); err == nil {
		t.Fatal("revoking an unknown token succeeded")
	}
	if out, err := cmd("token", "revoke", "--account", "acme", id); err != nil {
		t.Fatalf("token revoke: %v %s", err, out)
	}
	if out, _ := cmd("token", "list", "--account", "acme"); !regexp.MustCompile(id + `.*\d{4}-\d\d-\d\d.*\d{4}-\d\d-\d\d`).MatchString(out) {
		t.Fatalf("revoked token not shown as revoked:\n%s", out)
	}
}

func TestHelpSaysWhatCommandsDo(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"--help"}, &out, &errOut, envFor("")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"serve", "migrate", "account create", "token create", "token revoke", "version", "SCIMD_DATABASE_URL"} {
		if !strings.Contains(out.String(), c) {
			t.Errorf("help does not mention %q", c)
		}
	}
	errOut.Reset()
	_ = run(context.Background(), []string{"serve", "--help"}, &out, &errOut, envFor(""))
	for _, f := range []string{"-database-url", "-listen", "-max-body-bytes", "Run the scimd server"} {
		if !strings.Contains(errOut.String(), f) {
			t.Errorf("serve --help does not mention %q:\n%s", f, errOut.String())
		}
	}
}

func TestPlanCommands(t *testing.T) {
	ctx := context.Background()
	e := envFor("sqlite:" + filepath.Join(t.TempDir(), "scimd.db"))
	cmd := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(ctx, args, &out, &errOut, e)
		return out.String() + errOut.String(), err
	}
	if _, err := cmd("account", "create", "acme"); err != nil {
		t.Fatal(err)
	}
	if out, err := cmd("plan", "set", "--account", "acme", "--product", "remote-support-v5", "--named", "3", "--concurrent", "10"); err != nil || !strings.Contains(out, "3 named, 10 concurrent") {
		t.Fatalf("plan set: %v %s", err, out)
	}
	if out, err := cmd("plan", "set", "--account", "acme", "--product", "remote-support-v5", "--concurrent", "12"); err != nil || !strings.Contains(out, "3 named, 12 concurrent") {
		t.Fatalf("plan set keeps named when not given: %v %s", err, out)
	}
	if _, err := cmd("plan", "set", "--account", "acme", "--product", "chat", "--named", "1"); err == nil || !strings.Contains(err.Error(), "remote-support-v5") {
		t.Fatalf("unknown product: %v", err)
	}
	if _, err := cmd("plan", "set", "--account", "acme", "--product", "service-desk", "--named", "-2"); err == nil {
		t.Fatal("negative seats accepted")
	}
	out, err := cmd("plan", "list", "--account", "acme")
	if err != nil || !regexp.MustCompile(`remote-support-v5\s+Remote Support v5\s+0/3\s+0/12`).MatchString(out) {
		t.Fatalf("plan list: %v\n%s", err, out)
	}
}

func TestCatalogFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(good, []byte(`{"products":[{"id":"chat","name":"Chat"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte(`{"products":[{"id":"Chat!","name":""}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := loadCatalog(good)
	if err != nil || len(c.Products) != 1 || c.Products[0].Attribute() != "chat" {
		t.Fatalf("loadCatalog(good) = %+v %v", c, err)
	}
	if _, err := loadCatalog(bad); err == nil || !strings.Contains(err.Error(), "bad.json") || !strings.Contains(err.Error(), "name must not be empty") {
		t.Fatalf("loadCatalog(bad) = %v", err)
	}
	if c, err := loadCatalog(""); err != nil || len(c.Products) != 3 {
		t.Fatalf("built-in catalog: %v %v", c, err)
	}
}

// TestCLIWritesAreAudited proves that the command line's writes (account
// create, token create and revoke, plan set, and the first start's
// account, trial plan and token, and account create --trial) land in the account's audit log, with the cli actor
// naming the operating system user.
func TestCLIWritesAreAudited(t *testing.T) {
	ctx := context.Background()
	db := "sqlite:" + filepath.Join(t.TempDir(), "scimd.db")
	_, _, stop := startServe(t, db)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	e := envFor(db)
	cmd := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if err := run(ctx, args, &out, &errOut, e); err != nil {
			t.Fatalf("%v: %v %s", args, err, errOut.String())
		}
		return out.String() + errOut.String()
	}
	cmd("account", "create", "acme")
	bearer := regexp.MustCompile(`scimd_[0-9a-f]{16}_\S+`).FindString(cmd("token", "create", "--account", "acme", "--name", "okta"))
	id := bearer[len("scimd_") : len("scimd_")+16]
	cmd("token", "revoke", "--account", "acme", id)
	cmd("token", "revoke", "--account", "acme", id) // revoked already: not recorded again
	cmd("plan", "set", "--account", "acme", "--product", "remote-support-v5", "--named", "3")
	cmd("account", "create", "--trial", "trial")

	me, err := user.Current()
	if err != nil {
		t.Skipf("no current OS user to compare with: %v", err)
	}
	store, err := sqlstore.Open(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	for account, want := range map[string][]string{
		"default": {"account.create", "plan.change", "plan.change", "plan.change", "token.create"},
		"acme":    {"account.create", "token.create", "token.revoke", "plan.change"},
		"trial":   {"account.create", "plan.change", "plan.change", "plan.change"},
	} {
		a, err := store.AccountByName(ctx, account)
		if err != nil {
			t.Fatal(err)
		}
		page, err := store.AuditLog(ctx, a.ID, licensing.AuditQuery{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, entry := range slices.Backward(page.Items) {
			got = append(got, entry.Action)
			if entry.ActorScope != licensing.ActorCLI || entry.ActorID != "cli" || entry.ActorName != me.Username {
				t.Errorf("%s: %s by %s/%s/%s, want the cli actor %s", account, entry.Action, entry.ActorScope, entry.ActorID, entry.ActorName, me.Username)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("audit log of %s = %v, want %v", account, got, want)
		}
	}
}

// TestMain checks, after the tests passed, that every statement they ran
// on PostgreSQL stayed within one account (testenv.Main).
func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
