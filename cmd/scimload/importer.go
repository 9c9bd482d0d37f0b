package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net/url"
	"slices"
	"time"
)

// Import modes.
const (
	modeIndex  = "index"
	modeCursor = "cursor"
	modeRandom = "index-random"
)

var importModes = []string{modeIndex, modeCursor, modeRandom}

const importPurpose = `Page through all users of the token's account as an identity provider's import
does, one page at a time: by index (startIndex=1, 101, ... with count=100, as
Okta does) and by RFC 9865 cursor (cursor=, then each nextCursor). Each walk
reports its pages' latency, users per second, the latency of its last (deepest)
page and whether it saw every user exactly once (run it while nothing else
writes). index-random fetches --samples pages at random startIndex values over
the whole account: the latency of deep index pages without walking them all.`

// importConfig is what the import scenario is asked.
type importConfig struct {
	common
	modes    listFlag
	pageSize int
	maxPages int
	samples  int
	seed     uint64
}

func (c *importConfig) bindAll(fs *flag.FlagSet) {
	c.common.bind(fs, 0)
	fs.Var(&c.modes, "mode", "walks to make, in order: index, cursor, index-random (repeatable or comma-separated; default index,cursor)")
	fs.IntVar(&c.pageSize, "page-size", 100, "count of each page request")
	fs.IntVar(&c.maxPages, "max-pages", 0, "stop a walk after this many pages (0: walk to the end)")
	fs.IntVar(&c.samples, "samples", 200, "pages the index-random mode fetches")
	fs.Uint64Var(&c.seed, "seed", 1, "seed of the random startIndex values")
}

func parseImport(ctx context.Context, args []string, stderr io.Writer, getenv func(string) string, resolve resolver) (importConfig, error) {
	var c importConfig
	fs := newFlagSet("import", importPurpose, stderr)
	c.bindAll(fs)
	if err := parseFlags(fs, args, getenv); err != nil {
		return c, err
	}
	return c, c.validate(ctx, resolve)
}

func (c *importConfig) validate(ctx context.Context, resolve resolver) error {
	errs := []error{c.common.validate(ctx, resolve), checkCount("samples", c.samples)}
	if len(c.modes) == 0 {
		c.modes = listFlag{modeIndex, modeCursor}
	}
	for _, m := range c.modes {
		if !slices.Contains(importModes, m) {
			errs = append(errs, fmt.Errorf("mode %q must be one of %v", m, importModes))
		}
	}
	if c.pageSize < 1 || c.pageSize > 10000 {
		errs = append(errs, fmt.Errorf("page-size %d must be between 1 and 10000", c.pageSize))
	}
	if c.maxPages < 0 {
		errs = append(errs, fmt.Errorf("max-pages %d must not be negative", c.maxPages))
	}
	return errors.Join(errs...)
}

// WalkReport is one walk through the users.
type WalkReport struct {
	Mode  string `json:"mode"`
	Pages int    `json:"pages"`
	// Total is totalResults as the first page said.
	Total     int `json:"total"`
	UsersSeen int `json:"users_seen"`
	// Complete is true if the walk reached the end and saw Total distinct
	// users, none twice.
	Complete    bool    `json:"complete"`
	Seconds     float64 `json:"seconds"`
	UsersPerSec float64 `json:"users_per_sec"`
	LastPageMs  float64 `json:"last_page_ms"`
}

// listPage is the part of a ListResponse a walk reads.
type listPage struct {
	TotalResults int    `json:"totalResults"`
	NextCursor   string `json:"nextCursor"`
	Resources    []struct {
		ID string `json:"id"`
	} `json:"Resources"`
}

func (c importConfig) run(ctx context.Context, cl *client) (Report, error) {
	rep := Report{Scenario: "import", Started: time.Now(), Targets: c.bases, Concurrency: 1}
	ctx, cancel := context.WithTimeout(ctx, c.duration)
	defer cancel()
	for _, m := range c.modes {
		if ctx.Err() != nil {
			break
		}
		var rec *recorder
		start := time.Now()
		switch m {
		case modeRandom:
			rec = c.random(ctx, cl)
		default:
			var walk WalkReport
			rec, walk = c.walk(ctx, cl, m)
			rep.Walks = append(rep.Walks, walk)
		}
		rep.Ops = append(rep.Ops, rec.report(time.Since(start)))
	}
	rep.Seconds = time.Since(rep.Started).Seconds()
	rep.Stopped = stoppedBy(ctx, c.duration)
	return rep, nil
}

// walk pages through all users by index or by cursor.
func (c importConfig) walk(ctx context.Context, cl *client, mode string) (*recorder, WalkReport) {
	rec := newRecorder(mode + " page")
	walk := WalkReport{Mode: mode, Total: -1}
	seen := map[uint64]struct{}{}
	dup := false
	start := time.Now()
	startIndex, cursor, ended := 1, "", false
	for ctx.Err() == nil && (c.maxPages == 0 || walk.Pages < c.maxPages) {
		q := fmt.Sprintf("/Users?startIndex=%d&count=%d", startIndex, c.pageSize)
		if mode == modeCursor {
			q = fmt.Sprintf("/Users?cursor=%s&count=%d", url.QueryEscape(cursor), c.pageSize)
		}
		a, err := cl.do(ctx, "GET", q, nil)
		if !outcome(ctx, rec, a, err, 200) {
			break // a walk cannot go on past a failed page
		}
		var page listPage
		if err := json.Unmarshal(a.body, &page); err != nil {
			rec.failDetail(errUnexpected, "page is not a ListResponse: "+err.Error())
			break
		}
		rec.ok(a.took)
		walk.Pages++
		walk.LastPageMs = ms(a.took)
		if walk.Total < 0 {
			walk.Total = page.TotalResults
		}
		for _, r := range page.Resources {
			h := fnv.New64a()
			h.Write([]byte(r.ID))
			if _, ok := seen[h.Sum64()]; ok {
				dup = true
			}
			seen[h.Sum64()] = struct{}{}
		}
		walk.UsersSeen += len(page.Resources)
		if mode == modeCursor {
			cursor = page.NextCursor
			ended = cursor == ""
		} else {
			startIndex += len(page.Resources)
			ended = len(page.Resources) == 0 || startIndex > page.TotalResults
		}
		if ended {
			break
		}
	}
	elapsed := time.Since(start)
	walk.Seconds = elapsed.Seconds()
	if walk.Seconds > 0 {
		walk.UsersPerSec = float64(walk.UsersSeen) / walk.Seconds
	}
	walk.Complete = ended && !dup && walk.UsersSeen == walk.Total && len(seen) == walk.Total
	return rec, walk
}

// random fetches pages at random startIndex values over the account.
func (c importConfig) random(ctx context.Context, cl *client) *recorder {
	rec := newRecorder(modeRandom + " page")
	a, err := cl.do(ctx, "GET", "/Users?count=0", nil)
	if !outcome(ctx, rec, a, err, 200) {
		return rec
	}
	var page listPage
	if err := json.Unmarshal(a.body, &page); err != nil || page.TotalResults < 1 {
		rec.failDetail(errUnexpected, "count=0 gave no totalResults")
		return rec
	}
	rng := rand.New(rand.NewPCG(c.seed, 0x1d))
	for range c.samples {
		if ctx.Err() != nil {
			break
		}
		start := 1 + rng.IntN(page.TotalResults)
		a, err := cl.do(ctx, "GET", fmt.Sprintf("/Users?startIndex=%d&count=%d", start, c.pageSize), nil)
		if !outcome(ctx, rec, a, err, 200) {
			continue
		}
		var p listPage
		if json.Unmarshal(a.body, &p) != nil || len(p.Resources) == 0 {
			rec.failDetail(errUnexpected, fmt.Sprintf("startIndex=%d gave no users", start))
			continue
		}
		rec.ok(a.took)
	}
	return rec
}
