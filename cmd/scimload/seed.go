package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/storage/sqlstore"
)

const seedPurpose = `Seed an account with --users users fast, straight into the database through the
store's bulk path (sqlstore.SeedUsers: multi-row INSERTs, one transaction per
--batch users), writing rows exactly as a SCIM create would. The userNames are
fmt.Sprintf(--pattern, n) for n = --start ... --start+--users-1, by default
user0000000@example.com, user0000001@example.com, ...; lookup and mixed pick
from the same names with the same flags. Grow an account by seeding again
with --start at the count it holds. The account is created if missing (and
the database migrated, as scimd's own commands do); make a token for it with
scimd token create --account NAME --scope scim --name load.
On PostgreSQL it then runs VACUUM (ANALYZE) on users and the tables a
user's read joins (--analyze=false skips it):
without statistics a freshly seeded account looks tiny to the planner, which
then pages it with on-disk sorts; autovacuum would analyze it in time, but
may be late or (as on some test machines) off.
Seeding is setup, not a measurement: measured operations go through HTTP.`

// seedConfig is what the seed command is asked.
type seedConfig struct {
	accountFlags
	databaseURL string
	account     string
	batch       int
	workers     int
	attributes  bool
	analyze     bool
	duration    time.Duration
}

func (c *seedConfig) bindAll(fs *flag.FlagSet) {
	fs.StringVar(&c.databaseURL, "database-url", "", "the scimd database: postgres://... (loopback or Unix socket only) or sqlite:PATH")
	fs.StringVar(&c.account, "account", "load", "name of the account to seed (created if missing)")
	c.accountFlags.bind(fs)
	fs.IntVar(&c.batch, "batch", 10000, "users per transaction")
	fs.IntVar(&c.workers, "workers", 1, "transactions in flight at once (more than 1 helps on PostgreSQL only)")
	fs.BoolVar(&c.attributes, "attributes", false, "give the users the richer document of provision --attributes")
	fs.BoolVar(&c.analyze, "analyze", true, "afterwards, refresh the planner's statistics as autovacuum would in time (VACUUM (ANALYZE) of users and the tables read with them on PostgreSQL; nothing on SQLite)")
	fs.DurationVar(&c.duration, "duration", time.Hour, "stop seeding after this long; whole batches stay, the rest is not written")
}

func parseSeed(ctx context.Context, args []string, stderr io.Writer, getenv func(string) string, resolve resolver) (seedConfig, error) {
	var c seedConfig
	fs := newFlagSet("seed", seedPurpose, stderr)
	c.bindAll(fs)
	if err := parseFlags(fs, args, getenv); err != nil {
		return c, err
	}
	return c, c.validate(ctx, getenv, resolve)
}

func (c *seedConfig) validate(ctx context.Context, getenv func(string) string, resolve resolver) error {
	errs := []error{c.accountFlags.validate(), licensing.ValidateAccountName(c.account)}
	if c.databaseURL == "" {
		errs = append(errs, errors.New("database-url must be set (the database the scimd servers use)"))
	} else {
		errs = append(errs, checkLocalDatabase(ctx, c.databaseURL, getenv, resolve))
	}
	if c.batch < 1 || c.batch > 1_000_000 {
		errs = append(errs, fmt.Errorf("batch %d must be between 1 and 1000000", c.batch))
	}
	if c.workers < 1 || c.workers > 64 {
		errs = append(errs, fmt.Errorf("workers %d must be between 1 and 64", c.workers))
	}
	if c.duration <= 0 || c.duration > maxDuration {
		errs = append(errs, fmt.Errorf("duration %s must be positive and at most %s", c.duration, maxDuration))
	}
	return errors.Join(errs...)
}

// seedUsers makes the users n = from ... to-1 of the account.
func (c seedConfig) seedUsers(accountID string, from, to int, at time.Time) ([]licensing.User, error) {
	users := make([]licensing.User, 0, to-from)
	for n := from; n < to; n++ {
		body := userBody(fmt.Sprintf(c.pattern, n), n, c.attributes, nil)
		doc, err := storedDoc(body)
		if err != nil {
			return nil, err
		}
		users = append(users, licensing.User{
			AccountID: accountID, ID: licensing.NewID(), UserName: body["userName"].(string),
			ExternalID: body["externalId"].(string), DisplayName: body["displayName"].(string), Active: true,
			Doc: doc, Created: at, LastModified: at, Version: 1,
		})
	}
	return users, nil
}

func (c seedConfig) run(ctx context.Context, stdout, stderr io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, c.duration)
	defer cancel()
	store, err := sqlstore.Open(c.databaseURL, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer store.Close()
	if _, err := store.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	acct, err := store.AccountByName(ctx, c.account)
	if errors.Is(err, licensing.ErrNotFound) {
		acct, err = licensing.CreateAccount(ctx, store, licensing.SystemClock{}, c.account)
		if err == nil {
			fmt.Fprintf(stderr, "created account %s (id %s)\n", acct.Name, acct.ID)
		}
	}
	if err != nil {
		return fmt.Errorf("account %q: %w", c.account, err)
	}

	start := time.Now()
	var next, done atomic.Int64
	next.Store(int64(c.start))
	end := int64(c.start + c.users)
	errc := make(chan error, c.workers)
	var wg sync.WaitGroup
	for range c.workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				from := next.Add(int64(c.batch)) - int64(c.batch)
				if from >= end {
					return
				}
				to := min(from+int64(c.batch), end)
				users, err := c.seedUsers(acct.ID, int(from), int(to), time.Now())
				if err == nil {
					err = store.SeedUsers(ctx, acct.ID, users)
				}
				if err != nil {
					errc <- fmt.Errorf("users %d to %d: %w", from, to-1, err)
					return
				}
				done.Add(to - from)
			}
		})
	}
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				n := done.Load()
				fmt.Fprintf(stderr, "seeded %d of %d users (%.0f/s)\n", n, c.users, float64(n)/time.Since(start).Seconds())
			}
		}
	}()
	wg.Wait()
	close(stop)
	close(errc)
	elapsed := time.Since(start)
	n := done.Load()
	fmt.Fprintf(stdout, "seeded %d users into account %s (id %s) in %.1fs (%.0f users/s)\n", n, acct.Name, acct.ID, elapsed.Seconds(), float64(n)/elapsed.Seconds())
	if n > 0 {
		fmt.Fprintf(stdout, "userNames: %s ... %s\n", c.name(0), c.name(c.users-1))
	}
	if err := <-errc; err != nil {
		return err
	}
	if n < int64(c.users) {
		return fmt.Errorf("stopped after %d of %d users: %s", n, c.users, stoppedBy(ctx, c.duration))
	}
	if c.analyze && store.Dialect() == sqlstore.DialectPostgres {
		start := time.Now()
		if err := store.AnalyzeUsers(ctx); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "VACUUM (ANALYZE) users and their tables: %.1fs\n", time.Since(start).Seconds())
	}
	return nil
}
