package main

import (
	"bytes"
	"context"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/storage/sqlstore"
)

// TestConsoleAdminCommands proves that admin create makes a user with
// every console privilege and prints a one-time link that sets the
// password, that grant and revoke change the privileges (revoke ending the
// user's console sessions), and that every write is audited with the cli
// actor.
func TestConsoleAdminCommands(t *testing.T) {
	ctx := context.Background()
	db := "sqlite:" + filepath.Join(t.TempDir(), "scimd.db")
	e := envFor(db)
	cmd := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(ctx, args, &out, &errOut, e)
		return out.String() + errOut.String(), err
	}
	// On an empty database it makes the default account first, as the
	// first start of serve would.
	out, err := cmd("admin", "create", "--account", "default", "--user", "you@example.com", "--base-url", "https://scim.example.com/")
	if err != nil {
		t.Fatalf("admin create: %v %s", err, out)
	}
	if !strings.Contains(out, `First start: created account "default".`) || !regexp.MustCompile(`Bearer token:\s+scimd_`).MatchString(out) {
		t.Fatalf("admin create on an empty database printed:\n%s", out)
	}
	link := regexp.MustCompile(`https://scim\.example\.com/console/password\?token=(\S+)`).FindStringSubmatch(out)
	if link == nil || !strings.Contains(out, "created user you@example.com") || !strings.Contains(out, "billing,products,read,sessions,tokens,users") {
		t.Fatalf("admin create printed:\n%s", out)
	}
	store, err := sqlstore.Open(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	acct, _ := store.AccountByName(ctx, "default")
	u, err := licensing.UserByName(ctx, store, acct.ID, "you@example.com")
	if err != nil || !u.Active || !strings.Contains(string(u.Doc), "you@example.com") {
		t.Fatalf("user made: %+v, %v", u, err)
	}
	token, _ := url.QueryUnescape(link[1])
	if _, err := licensing.ChoosePassword(ctx, store, licensing.SystemClock{}, token, "argon-hash"); err != nil {
		t.Fatalf("the printed link does not set a password: %v", err)
	}
	if _, err := licensing.ChoosePassword(ctx, store, licensing.SystemClock{}, token, "argon-hash-2"); err == nil {
		t.Fatal("the link worked twice")
	}

	// Revoking ends the console sessions; granting adds; a second create
	// promotes and prints a new link.
	cs, _ := licensing.NewConsoleSession(acct.ID, u.ID, licensing.SystemClock{}.Now())
	if err := store.CreateConsoleSession(ctx, cs); err != nil {
		t.Fatal(err)
	}
	if out, err := cmd("admin", "revoke", "--user", "you@example.com", "--privileges", "billing,tokens"); err != nil || !strings.Contains(out, "products,read,sessions,users") {
		t.Fatalf("admin revoke: %v %s", err, out)
	}
	now := licensing.SystemClock{}.Now()
	if _, err := store.TouchConsoleSession(ctx, cs.Hash, now, now.Add(-licensing.ConsoleIdle)); err == nil {
		t.Fatal("revoking privileges left the console session live")
	}
	if out, err := cmd("admin", "grant", "--user", "you@example.com", "--privileges", "billing"); err != nil || !strings.Contains(out, "billing,products,read,sessions,users") || strings.Contains(out, "token=") {
		t.Fatalf("admin grant to a user with a password: %v %s", err, out)
	}
	if out, err := cmd("admin", "grant", "--user", "nobody@example.com", "--privileges", "read"); err == nil {
		t.Fatalf("admin grant to no user: %s", out)
	}
	if out, err := cmd("admin", "grant", "--user", "you@example.com", "--privileges", "root"); err == nil {
		t.Fatalf("admin grant of an unknown privilege: %s", out)
	}
	if out, err := cmd("admin", "create", "--user", "you@example.com"); err != nil || !strings.Contains(out, "http://localhost:8080/console/password?token=") || strings.Contains(out, "created user") {
		t.Fatalf("admin create of an existing user: %v %s", err, out)
	}

	page, err := store.AuditLog(ctx, acct.ID, licensing.AuditQuery{Limit: 20})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, entry := range slices.Backward(page.Items) {
		if entry.Action == "account.create" || entry.Action == "token.create" || entry.Action == "plan.change" { // the first start's
			continue
		}
		got = append(got, entry.Action)
		if entry.Action != "user.password" && (entry.ActorScope != licensing.ActorCLI || entry.ActorID != "cli") {
			t.Errorf("%s by %s/%s, want the cli actor", entry.Action, entry.ActorScope, entry.ActorID)
		}
	}
	want := []string{"user.create", "user.privileges", "user.password_link", "user.password", "user.privileges", "user.privileges", "user.privileges", "user.password_link"}
	if !slices.Equal(got, want) {
		t.Errorf("audit log = %v, want %v", got, want)
	}
}
