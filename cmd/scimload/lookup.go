package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"sync/atomic"
	"time"
)

const lookupPurpose = `Look users up by userName, as Okta and Entra ID do before every push:
GET /Users?filter=userName eq "NAME", NAME picked at random among the
--users names the pattern makes from --start on (the names "scimload seed"
writes with the same flags). A hit must find exactly one user; with
--miss-ratio, that share of lookups asks for absent names and must find none.`

// accountFlags name the users of a seeded account.
type accountFlags struct {
	users   int
	start   int
	pattern string
}

func (a *accountFlags) bind(fs *flag.FlagSet) {
	fs.IntVar(&a.users, "users", 10000, "how many users the account holds under the pattern (the seed's --users)")
	fs.IntVar(&a.start, "start", 0, "the pattern's first number (the seed's --start)")
	fs.StringVar(&a.pattern, "pattern", defaultPattern, "userName pattern of the account's users, one integer verb (the seed's --pattern)")
}

func (a accountFlags) validate() error {
	var errs []error
	errs = append(errs, checkCount("users", a.users), checkPattern(a.pattern))
	if a.start < 0 || a.start > maxCount {
		errs = append(errs, fmt.Errorf("start %d must be between 0 and %d", a.start, maxCount))
	}
	return errors.Join(errs...)
}

// name returns the userName of the k-th user of the account (0 <= k < users).
func (a accountFlags) name(k int) string { return fmt.Sprintf(a.pattern, a.start+k) }

// lookupConfig is what the lookup scenario is asked.
type lookupConfig struct {
	common
	accountFlags
	requests  int
	missRatio float64
	seed      uint64
}

func (c *lookupConfig) bindAll(fs *flag.FlagSet) {
	c.common.bind(fs, 8)
	c.accountFlags.bind(fs)
	fs.IntVar(&c.requests, "requests", 10000, "how many lookups to make")
	fs.Float64Var(&c.missRatio, "miss-ratio", 0, "share of lookups for absent userNames, 0 to 1")
	fs.Uint64Var(&c.seed, "seed", 1, "seed of the random picks (each worker derives its own)")
}

func parseLookup(ctx context.Context, args []string, stderr io.Writer, getenv func(string) string, resolve resolver) (lookupConfig, error) {
	var c lookupConfig
	fs := newFlagSet("lookup", lookupPurpose, stderr)
	c.bindAll(fs)
	if err := parseFlags(fs, args, getenv); err != nil {
		return c, err
	}
	return c, c.validate(ctx, resolve)
}

func (c *lookupConfig) validate(ctx context.Context, resolve resolver) error {
	errs := []error{c.common.validate(ctx, resolve), c.accountFlags.validate(), checkCount("requests", c.requests)}
	if c.missRatio < 0 || c.missRatio > 1 {
		errs = append(errs, fmt.Errorf("miss-ratio %g must be between 0 and 1", c.missRatio))
	}
	return errors.Join(errs...)
}

func (c lookupConfig) run(ctx context.Context, cl *client) (Report, error) {
	rep := Report{Scenario: "lookup", Started: time.Now(), Targets: c.bases, Concurrency: c.concurrency}
	ctx, cancel := context.WithTimeout(ctx, c.duration)
	defer cancel()
	tag := runID()
	var next atomic.Int64
	recs, elapsed := runWorkers(c.concurrency, []string{"lookup hit", "lookup miss"}, func(w int, recs []*recorder) {
		hit, miss := recs[0], recs[1]
		rng := rand.New(rand.NewPCG(c.seed, uint64(w)))
		for ctx.Err() == nil {
			k := next.Add(1)
			if k > int64(c.requests) {
				return
			}
			if rng.Float64() < c.missRatio {
				lookup(ctx, cl, miss, fmt.Sprintf("absent-%s-%d@example.invalid", tag, k), 0)
			} else {
				lookup(ctx, cl, hit, c.name(rng.IntN(c.users)), 1)
			}
		}
	})
	hit, miss := recs[0], recs[1]
	rep.Ops = append(rep.Ops, hit.report(elapsed))
	if c.missRatio > 0 {
		rep.Ops = append(rep.Ops, miss.report(elapsed))
	}
	rep.Seconds = elapsed.Seconds()
	rep.Stopped = stoppedBy(ctx, c.duration)
	return rep, nil
}

// lookup asks for the user with the userName and records the answer in
// rec: a success if it found want users.
func lookup(ctx context.Context, cl *client, rec *recorder, userName string, want int) {
	filter := url.QueryEscape(fmt.Sprintf("userName eq %q", userName))
	a, err := cl.do(ctx, "GET", "/Users?filter="+filter, nil)
	if !outcome(ctx, rec, a, err, 200) {
		return
	}
	var page listPage
	if err := json.Unmarshal(a.body, &page); err != nil || page.TotalResults != want || len(page.Resources) != want {
		rec.failDetail(errUnexpected, fmt.Sprintf("userName eq %q found %d users, want %d", userName, page.TotalResults, want))
		return
	}
	rec.ok(a.took)
}
