package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// provisionConfig is what the provision scenario is asked.
type provisionConfig struct {
	common
	users       int
	pattern     string
	attributes  bool
	password    bool
	licenseArgs listFlag
	licenses    []license
	baselineSQL string
}

const provisionPurpose = `Create --users users with --concurrency requests in flight (POST /Users), as an
identity provider's first push does, and report creates per second and
their latency. Each run uses fresh userNames (prov-RUNID-0000000@example.com)
unless --pattern is given.

With --baseline-sql, then insert as many rows with raw SQL (one INSERT per
user, same columns and document, same concurrency) into that PostgreSQL,
which must be the database the servers use, in an account of its own that
is deleted afterwards, and print scimd/raw-SQL ratios (throughput, p50 and
p99 latency). Each of the two phases is bounded by --duration.`

func (p *provisionConfig) bindAll(fs *flag.FlagSet) {
	p.common.bind(fs, 16)
	fs.IntVar(&p.users, "users", 1000, "how many users to create")
	fs.StringVar(&p.pattern, "pattern", "", "userName pattern with one integer verb, e.g. "+defaultPattern+" (default: prov-RUNID-%07d@example.com, new every run)")
	fs.BoolVar(&p.attributes, "attributes", false, "send richer users: title, phone, address and the enterprise extension besides name and email")
	fs.BoolVar(&p.password, "password", false, "send a password with each user, as Okta does with password sync on (scimd stores its argon2id hash: CPU-bound)")
	fs.Var(&p.licenseArgs, "license", "give every user a licensing extension value, ATTRIBUTE=named|concurrent|none (e.g. remoteSupportV5=concurrent); repeatable; needs the seat engine")
	fs.StringVar(&p.baselineSQL, "baseline-sql", "", "postgres:// URL of the servers' database: also run the same inserts as raw SQL there and print scimd/raw-SQL ratios")
}

func parseProvision(ctx context.Context, args []string, stderr io.Writer, getenv func(string) string, resolve resolver) (provisionConfig, error) {
	var p provisionConfig
	fs := newFlagSet("provision", provisionPurpose, stderr)
	p.bindAll(fs)
	if err := parseFlags(fs, args, getenv); err != nil {
		return p, err
	}
	return p, p.validate(ctx, getenv, resolve)
}

func (p *provisionConfig) validate(ctx context.Context, getenv func(string) string, resolve resolver) error {
	errs := []error{p.common.validate(ctx, resolve), checkCount("users", p.users)}
	if p.pattern == "" {
		p.pattern = "prov-" + runID() + "-%07d@example.com"
	}
	errs = append(errs, checkPattern(p.pattern))
	p.licenses = nil
	for _, s := range p.licenseArgs {
		l, err := parseLicense(s)
		errs = append(errs, err)
		p.licenses = append(p.licenses, l)
	}
	if p.baselineSQL != "" {
		errs = append(errs, checkBaselineURL(ctx, p.baselineSQL, getenv, resolve))
	}
	return errors.Join(errs...)
}

// run creates the users over HTTP, then runs the baseline if asked.
func (p provisionConfig) run(ctx context.Context, cl *client) (Report, error) {
	rep := Report{Scenario: "provision", Started: time.Now(), Targets: p.bases, Concurrency: p.concurrency}
	var baseline *baselineRun
	if p.baselineSQL != "" {
		// Connect before the measured run, so that a wrong URL fails
		// before the servers are loaded.
		b, err := openBaseline(ctx, p.baselineSQL, p.concurrency)
		if err != nil {
			return rep, err
		}
		defer b.close()
		baseline = b
	}
	rec, firstID, elapsed, stopped := p.create(ctx, cl)
	rep.Seconds = elapsed.Seconds()
	rep.Stopped = stopped
	op := rec.report(elapsed)
	rep.Ops = append(rep.Ops, op)
	if baseline != nil {
		b, err := baseline.run(ctx, p, op, firstID)
		if err != nil {
			return rep, fmt.Errorf("baseline: %w", err)
		}
		rep.Baseline = &b
		if !b.SameDatabase {
			rep.Notes = append(rep.Notes, "the --baseline-sql database does not hold the users the servers just created: it is not their database, so the ratio compares different databases")
		}
	}
	return rep, nil
}

// create posts the users; it returns their recorder, the id of one user
// created (for the baseline's check), the length of the run and why it
// stopped early ("" if it did not).
func (p provisionConfig) create(ctx context.Context, cl *client) (*recorder, string, time.Duration, string) {
	ctx, cancel := context.WithTimeout(ctx, p.duration)
	defer cancel()
	var next atomic.Int64
	var firstID atomic.Value
	recs, elapsed := runWorkers(p.concurrency, []string{"create user"}, func(_ int, recs []*recorder) {
		rec := recs[0]
		for ctx.Err() == nil {
			i := next.Add(1) - 1
			if i >= int64(p.users) {
				return
			}
			u := userBody(fmt.Sprintf(p.pattern, i), int(i), p.attributes, p.licenses)
			if p.password {
				u["password"] = fmt.Sprintf("Load-%d-%s!", i, runID())
			}
			body, err := json.Marshal(u)
			if err != nil {
				panic(err) // made-up users always marshal
			}
			a, err := cl.do(ctx, "POST", "/Users", body)
			if !outcome(ctx, rec, a, err, 201) {
				continue
			}
			var created struct{ ID string }
			if json.Unmarshal(a.body, &created) != nil || created.ID == "" {
				rec.fail(errUnexpected)
				continue
			}
			rec.ok(a.took)
			firstID.CompareAndSwap(nil, created.ID)
		}
	})
	id, _ := firstID.Load().(string)
	return recs[0], id, elapsed, stoppedBy(ctx, p.duration)
}

// stoppedBy says whether ctx, bounded by --duration, ended the run.
func stoppedBy(ctx context.Context, d time.Duration) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Sprintf("--duration %s reached", d)
	}
	if ctx.Err() != nil {
		return "interrupted"
	}
	return ""
}
