package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os/user"
	"text/tabwriter"
	"time"

	"github.com/scimd/scimd/config"
	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/storage/sqlstore"
)

// openStore opens the store for a management command and applies pending
// migrations, so the commands work on a fresh database.
func openStore(ctx context.Context, cfg config.Config) (*sqlstore.Store, error) {
	store, err := sqlstore.Open(cfg.DatabaseURL, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	if _, err := store.Migrate(ctx); err != nil {
		store.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return store, nil
}

// openAccount opens the store as openStore does and looks up the account
// a management command works on.
func openAccount(ctx context.Context, cfg config.Config, accountName string) (*sqlstore.Store, licensing.Account, error) {
	store, err := openStore(ctx, cfg)
	if err != nil {
		return nil, licensing.Account{}, err
	}
	acct, err := store.AccountByName(ctx, accountName)
	if err != nil {
		store.Close()
		return nil, licensing.Account{}, fmt.Errorf("account %q: %w", accountName, err)
	}
	return store, acct, nil
}

func migrate(ctx context.Context, args []string, stdout, stderr io.Writer, getenv env) error {
	cfg := config.Default()
	fs := newFlagSet("migrate", "Apply pending database migrations, each in its own transaction, and exit.", stderr)
	cfg.BindDatabase(fs)
	if err := config.Parse(fs, args, getenv); err != nil {
		return err
	}
	store, err := sqlstore.Open(cfg.DatabaseURL, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer store.Close()
	n, err := store.Migrate(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "applied %d migration(s) to %s\n", n, sqlstore.Redact(cfg.DatabaseURL))
	return nil
}

func account(ctx context.Context, args []string, stdout, stderr io.Writer, getenv env) error {
	if len(args) == 0 {
		return fmt.Errorf("account needs a subcommand: create or list")
	}
	cfg := config.Default()
	switch args[0] {
	case "create":
		fs := newFlagSet("account create NAME", "Make an account (a tenant). Print its id.", stderr)
		cfg.BindDatabase(fs)
		cfg.BindCatalog(fs)
		trial := fs.Bool("trial", false, fmt.Sprintf("give the account the trial plan: %d named and %d concurrent seats of every product (default: no seats)",
			licensing.TrialNamedSeats, licensing.TrialConcurrentSeats))
		if err := config.Parse(fs, args[1:], getenv); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return fmt.Errorf("account create takes one NAME")
		}
		catalog, err := loadCatalog(cfg.Catalog)
		if err != nil {
			return err
		}
		store, err := openStore(ctx, cfg)
		if err != nil {
			return err
		}
		defer store.Close()
		clock := licensing.SystemClock{}
		a, err := licensing.CreateAccount(asOperator(ctx, "", getenv), store, clock, fs.Arg(0))
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created account %s (id %s)\n", a.Name, a.ID)
		if *trial {
			if _, err := licensing.GrantTrial(asOperator(ctx, a.ID, getenv), store, clock, catalog, a.ID); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "trial plan: %s\n", trialNote(catalog))
		}
		fmt.Fprintf(stdout, "make a SCIM token with: scimd token create --account %s --scope scim --name okta\n", a.Name)
		return nil
	case "list":
		fs := newFlagSet("account list", "List accounts.", stderr)
		cfg.BindDatabase(fs)
		if err := config.Parse(fs, args[1:], getenv); err != nil {
			return err
		}
		store, err := openStore(ctx, cfg)
		if err != nil {
			return err
		}
		defer store.Close()
		accounts, err := store.Accounts(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tID\tCREATED")
		for _, a := range accounts {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", a.Name, a.ID, a.CreatedAt.Format("2006-01-02 15:04:05Z"))
		}
		return tw.Flush()
	}
	return fmt.Errorf("unknown account subcommand %q (want create or list)", args[0])
}

func token(ctx context.Context, args []string, stdout, stderr io.Writer, getenv env) error {
	if len(args) == 0 {
		return fmt.Errorf("token needs a subcommand: create, list or revoke")
	}
	cfg := config.Default()
	var accountName, scope, name, userName, privileges string
	agentTTL := cfg.AgentTokenTTL
	sub := args[0]
	purposes := map[string]string{
		"create": "Make a token for an account and print it once; only its hash is stored.",
		"list":   "List an account's tokens (never their secrets).",
		"revoke": "Revoke a token by id: scimd token revoke --account NAME ID",
	}
	purpose, ok := purposes[sub]
	if !ok {
		return fmt.Errorf("unknown token subcommand %q (want create, list or revoke)", sub)
	}
	fs := newFlagSet("token "+sub, purpose, stderr)
	cfg.BindDatabase(fs)
	fs.StringVar(&accountName, "account", licensing.DefaultAccountName, "account name")
	if sub == "create" {
		fs.StringVar(&scope, "scope", string(licensing.ScopeSCIM), "scope: scim (for an identity provider), admin (the admin API, with --privileges) or agent (signs in to the agent app as --user)")
		fs.StringVar(&name, "name", "", "a name that says who uses the token, e.g. okta")
		fs.StringVar(&userName, "user", "", "with --scope agent: the userName the token signs in as")
		fs.StringVar(&privileges, "privileges", "", "with --scope admin: comma-separated privileges of users, products, sessions, billing, read, tokens, or all")
		fs.DurationVar(&agentTTL, "agent-token-ttl", agentTTL, "with --scope agent: how long the token lives (0: until revoked)")
	}
	if err := config.Parse(fs, args[1:], getenv); err != nil {
		return err
	}
	store, acct, err := openAccount(ctx, cfg, accountName)
	if err != nil {
		return err
	}
	defer store.Close()
	ctx = asOperator(ctx, acct.ID, getenv)
	switch sub {
	case "create":
		sc, err := licensing.ParseScope(scope)
		if err != nil {
			return err
		}
		var t licensing.Token
		var bearer string
		if privileges != "" && sc != licensing.ScopeAdmin {
			return fmt.Errorf("--privileges goes with --scope admin only")
		}
		switch {
		case sc == licensing.ScopeAdmin && userName == "":
			privs, perr := licensing.ParsePrivileges(privileges)
			if perr != nil {
				return perr
			}
			if len(privs) == 0 {
				return fmt.Errorf("an admin token needs --privileges (users, products, sessions, billing, read, tokens, or all)")
			}
			t, bearer, err = licensing.IssueAdminToken(ctx, store, licensing.SystemClock{}, acct.ID, name, privs)
		case sc == licensing.ScopeSCIM && userName == "":
			t, bearer, err = licensing.IssueToken(ctx, store, licensing.SystemClock{}, acct.ID, name, sc)
		case sc == licensing.ScopeAgent && userName != "":
			var u licensing.User
			if u, err = licensing.UserByName(ctx, store, acct.ID, userName); err != nil {
				return fmt.Errorf("user %q of account %s: %w", userName, acct.Name, err)
			}
			if name == "" {
				name = "agent " + u.UserName
			}
			if agentTTL < 0 {
				return fmt.Errorf("--agent-token-ttl %s must not be negative", agentTTL)
			}
			t, bearer, err = licensing.IssueAgentToken(ctx, store, licensing.SystemClock{}, acct.ID, u.ID, name, agentTTL)
		case sc == licensing.ScopeAgent:
			return fmt.Errorf("an agent token needs --user USERNAME")
		default: // a user with another scope
			return fmt.Errorf("--user goes with --scope agent only")
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\n", bearer)
		fmt.Fprintf(stderr, "token %s (%s, scope %s%s) for account %s: shown only now\n", t.ID, t.Name, t.Scope, privilegeNote(t), acct.Name)
		return nil
	case "list":
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tSCOPE\tPRIVILEGES\tCREATED\tEXPIRES\tREVOKED")
		for q := (licensing.TokenQuery{Limit: 500}); ; {
			page, err := store.Tokens(ctx, acct.ID, q)
			if err != nil {
				return err
			}
			for _, t := range page.Items {
				privs := licensing.FormatPrivileges(t.Privileges)
				if privs == "" {
					privs = "-"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Scope, privs,
					t.CreatedAt.Format(listTime), orDash(t.ExpiresAt), orDash(t.RevokedAt))
			}
			if q.After = page.Next; q.After == "" {
				break
			}
		}
		return tw.Flush()
	default:
		if fs.NArg() != 1 {
			return fmt.Errorf("token revoke takes one token ID (see scimd token list)")
		}
		now := licensing.SystemClock{}.Now()
		t, err := store.Token(ctx, fs.Arg(0))
		if err != nil || t.AccountID != acct.ID {
			return fmt.Errorf("token %s of account %s: %w", fs.Arg(0), acct.Name, licensing.ErrNotFound)
		}
		entry := licensing.NewAuditEntry(ctx, now, "token.revoke", "token", t.ID, t.AuditDetail())
		if err := store.RevokeToken(ctx, acct.ID, t.ID, now, entry); err != nil {
			return fmt.Errorf("token %s: %w", fs.Arg(0), err)
		}
		fmt.Fprintf(stdout, "revoked token %s\n", fs.Arg(0))
		return nil
	}
}

// listTime is how the command line prints times.
const listTime = "2006-01-02 15:04:05Z"

// orDash prints an optional time, "-" when absent.
func orDash(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(listTime)
}

// asOperator returns ctx carrying the principal of a command-line write
// to the account: the operating system user running the command, recorded
// as the actor of the write's audit entries (scope cli).
func asOperator(ctx context.Context, accountID string, getenv env) context.Context {
	name := getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	return licensing.WithPrincipal(ctx, licensing.CLIPrincipal(accountID, name))
}

// privilegeNote names an admin token's privileges for the creation message.
func privilegeNote(t licensing.Token) string {
	if len(t.Privileges) == 0 {
		return ""
	}
	return ", privileges " + licensing.FormatPrivileges(t.Privileges)
}
