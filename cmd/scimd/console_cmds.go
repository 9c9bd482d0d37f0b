package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"

	"github.com/scimd/scimd/config"
	"github.com/scimd/scimd/licensing"
)

// consolePasswordPath is where a one-time password link leads; the token
// travels in the query (request logs record paths, not queries).
const consolePasswordPath = "/console/password"

// consoleAdmin runs "scimd admin create|grant|revoke": console users, the
// account's users who hold admin privileges.
func consoleAdmin(ctx context.Context, args []string, stdout, stderr io.Writer, getenv env) error {
	if len(args) == 0 {
		return fmt.Errorf("admin needs a subcommand: create, grant or revoke")
	}
	purposes := map[string]string{
		"create": "Make (or promote) a console user holding every privilege, and print a one-time link, valid 24 hours, where they choose a password.",
		"grant":  "Grant console privileges to a user of the account.",
		"revoke": "Revoke console privileges from a user of the account; their console sessions end at once.",
	}
	sub := args[0]
	purpose, ok := purposes[sub]
	if !ok {
		return fmt.Errorf("unknown admin subcommand %q (want create, grant or revoke)", sub)
	}
	cfg := config.Default()
	var accountName, userName, privileges string
	fs := newFlagSet("admin "+sub, purpose, stderr)
	cfg.BindDatabase(fs)
	if sub == "create" {
		cfg.BindCatalog(fs)
	}
	fs.StringVar(&accountName, "account", licensing.DefaultAccountName, "account name")
	fs.StringVar(&userName, "user", "", "the userName (usually an email address)")
	if sub != "create" {
		fs.StringVar(&privileges, "privileges", "", "comma-separated privileges of users, products, sessions, billing, read, tokens, or all")
	}
	fs.StringVar(&cfg.BaseURL, "base-url", cfg.BaseURL, "public base URL of the server, for the password link (default http://localhost:8080)")
	if err := config.Parse(fs, args[1:], getenv); err != nil {
		return err
	}
	if userName == "" {
		return fmt.Errorf("admin %s needs --user USERNAME", sub)
	}
	privs := licensing.AllPrivileges
	if sub != "create" {
		var err error
		if privs, err = licensing.ParsePrivileges(privileges); err != nil {
			return err
		}
		if len(privs) == 0 {
			return fmt.Errorf("admin %s needs --privileges (users, products, sessions, billing, read, tokens, or all)", sub)
		}
	}
	if sub == "create" {
		// On an empty database the first admin's command does what the
		// first start of serve does: it makes the account "default" and
		// prints its SCIM token, once.
		catalog, err := loadCatalog(cfg.Catalog)
		if err != nil {
			return err
		}
		store, err := openStore(ctx, cfg)
		if err != nil {
			return err
		}
		err = firstStart(asOperator(ctx, "", getenv), store, cfg, catalog, nil, stdout)
		store.Close()
		if err != nil {
			return err
		}
	}
	store, acct, err := openAccount(ctx, cfg, accountName)
	if err != nil {
		return err
	}
	defer store.Close()
	ctx = asOperator(ctx, acct.ID, getenv)
	clock := licensing.SystemClock{}
	u, err := licensing.UserByName(ctx, store, acct.ID, userName)
	switch {
	case errors.Is(err, licensing.ErrNotFound) && sub == "create":
		if u, err = createConsoleUser(ctx, store, clock, acct.ID, userName); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created user %s\n", u.UserName)
	case err != nil:
		return fmt.Errorf("user %q of account %s: %w", userName, acct.Name, err)
	}
	held, err := store.ConsolePrivileges(ctx, acct.ID, u.ID)
	if err != nil {
		return err
	}
	want := licensing.NormalizePrivileges(append(held, privs...))
	if sub == "revoke" {
		want = nil
		for _, p := range held {
			if !slices.Contains(privs, p) {
				want = append(want, p)
			}
		}
	}
	g, err := licensing.SetConsolePrivileges(ctx, store, clock, acct.ID, u.ID, want)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s of account %s holds console privileges: %s\n", u.UserName, acct.Name, orNoneText(licensing.FormatPrivileges(g.New)))
	link, expires := g.Link, g.LinkExpires
	if link == "" && sub == "create" {
		// A promoted user who has a password gets a link too: the
		// first admin's command always ends with a way in.
		if link, expires, err = licensing.IssuePasswordLink(ctx, store, clock, acct.ID, u.ID); err != nil {
			return err
		}
	}
	if link != "" {
		fmt.Fprintf(stdout, "Choose a password (link shown only now, valid until %s):\n  %s\n",
			expires.UTC().Format(listTime), passwordLinkURL(cfg.BaseURL, link))
	}
	return nil
}

// createConsoleUser makes an active user with the userName (and, when it
// is an email address, that email), audited as the operator's.
func createConsoleUser(ctx context.Context, store licensing.Store, clock licensing.Clock, accountID, userName string) (licensing.User, error) {
	now := clock.Now()
	doc := map[string]any{}
	if strings.Contains(userName, "@") {
		doc["emails"] = []map[string]any{{"value": userName, "primary": true}}
	}
	raw, _ := json.Marshal(doc)
	u := licensing.User{AccountID: accountID, ID: licensing.NewID(), UserName: userName, Active: true, Doc: raw,
		Created: now, LastModified: now, Version: 1}
	if err := store.CreateUser(ctx, u, licensing.NewAuditEntry(ctx, now, "user.create", "user", u.ID, u.UserName)); err != nil {
		return u, fmt.Errorf("create user %q: %w", userName, err)
	}
	return u, nil
}

// passwordLinkURL is the link where a console user chooses a password.
func passwordLinkURL(base, token string) string {
	base = strings.TrimSuffix(base, "/")
	if base == "" {
		base = "http://localhost:8080"
	}
	return base + consolePasswordPath + "?token=" + url.QueryEscape(token)
}

func orNoneText(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
