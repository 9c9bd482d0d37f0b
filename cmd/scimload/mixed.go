package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

const mixedPurpose = `A blend of what identity providers do against an account that already holds
--users users (seeded with the same pattern): userName lookups, creates of new
users and index pages (a random startIndex, count=100, as an import or a
reconciliation reads), in the proportions of --mix, with --concurrency workers
each drawing the next operation at random. Reports each kind and all together.`

// The operations of the mixed scenario.
const (
	opLookup    = "lookup"
	opProvision = "provision"
	opPage      = "page"
)

var mixedOps = []string{opLookup, opProvision, opPage}

// mixConfig is what the mixed scenario is asked.
type mixConfig struct {
	common
	accountFlags
	requests   int
	mix        string
	attributes bool
	seed       uint64
	// weights are the parsed --mix, in the order of mixedOps.
	weights []int
}

func (c *mixConfig) bindAll(fs *flag.FlagSet) {
	c.common.bind(fs, 16)
	c.accountFlags.bind(fs)
	fs.IntVar(&c.requests, "requests", 10000, "how many operations to make in all")
	fs.StringVar(&c.mix, "mix", "lookup=80,provision=15,page=5", "relative weights of the operations lookup, provision and page")
	fs.BoolVar(&c.attributes, "attributes", false, "create richer users (as provision --attributes)")
	fs.Uint64Var(&c.seed, "seed", 1, "seed of the random draws")
}

func parseMixed(ctx context.Context, args []string, stderr io.Writer, getenv func(string) string, resolve resolver) (mixConfig, error) {
	var c mixConfig
	fs := newFlagSet("mixed", mixedPurpose, stderr)
	c.bindAll(fs)
	if err := parseFlags(fs, args, getenv); err != nil {
		return c, err
	}
	return c, c.validate(ctx, resolve)
}

func (c *mixConfig) validate(ctx context.Context, resolve resolver) error {
	w, err := parseMix(c.mix)
	c.weights = w
	return errors.Join(c.common.validate(ctx, resolve), c.accountFlags.validate(), checkCount("requests", c.requests), err)
}

// parseMix reads "lookup=80,provision=15,page=5" into weights in the order
// of mixedOps; operations not named weigh 0, and at least one must weigh
// more.
func parseMix(s string) ([]int, error) {
	weights := make([]int, len(mixedOps))
	total := 0
	for _, part := range strings.Split(s, ",") {
		name, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		n, err := strconv.Atoi(v)
		i := indexOf(mixedOps, name)
		if !ok || err != nil || n < 0 || i < 0 {
			return nil, fmt.Errorf("mix %q: each part must be OPERATION=WEIGHT with OPERATION one of %v and WEIGHT a whole number >= 0", s, mixedOps)
		}
		weights[i] = n
		total += n
	}
	if total == 0 {
		return nil, fmt.Errorf("mix %q: the weights add up to 0", s)
	}
	return weights, nil
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// draw picks an operation index for r in [0, sum of weights).
func draw(weights []int, r int) int {
	for i, w := range weights {
		if r < w {
			return i
		}
		r -= w
	}
	return len(weights) - 1
}

func (c mixConfig) run(ctx context.Context, cl *client) (Report, error) {
	rep := Report{Scenario: "mixed", Started: time.Now(), Targets: c.bases, Concurrency: c.concurrency}
	ctx, cancel := context.WithTimeout(ctx, c.duration)
	defer cancel()
	total := 0
	for _, w := range c.weights {
		total += w
	}
	pattern := "mix-" + runID() + "-%07d@example.com"
	var next, created atomic.Int64
	recs, elapsed := runWorkers(c.concurrency, mixedOps, func(w int, mine []*recorder) {
		rng := rand.New(rand.NewPCG(c.seed, uint64(w)))
		for ctx.Err() == nil {
			if next.Add(1) > int64(c.requests) {
				return
			}
			switch i := draw(c.weights, rng.IntN(total)); mixedOps[i] {
			case opLookup:
				lookup(ctx, cl, mine[i], c.name(rng.IntN(c.users)), 1)
			case opProvision:
				n := created.Add(1) - 1
				body, _ := json.Marshal(userBody(fmt.Sprintf(pattern, n), int(n), c.attributes, nil))
				a, err := cl.do(ctx, "POST", "/Users", body)
				if outcome(ctx, mine[i], a, err, 201) {
					mine[i].ok(a.took)
				}
			case opPage:
				startIndex := 1 + rng.IntN(c.users)
				a, err := cl.do(ctx, "GET", fmt.Sprintf("/Users?startIndex=%d&count=100", startIndex), nil)
				if outcome(ctx, mine[i], a, err, 200) {
					mine[i].ok(a.took)
				}
			}
		}
	})
	all := newRecorder("all")
	for i, r := range recs {
		all.merge(r)
		if c.weights[i] > 0 {
			rep.Ops = append(rep.Ops, r.report(elapsed))
		}
	}
	rep.Ops = append(rep.Ops, all.report(elapsed))
	rep.Seconds = elapsed.Seconds()
	rep.Stopped = stoppedBy(ctx, c.duration)
	return rep, nil
}
