package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/scimd/scimd/licensing"
)

const seatsPurpose = `Agents race for the concurrent seats of one product across replicas, as at a
shift change. Each of --agents agents (a user of --account holding a
concurrent license of --product) loops: start a session (POST
/api/v1/agent/sessions with "wait": --wait), connect, one heartbeat, hold the
seat for --hold, end. A start denied with 409 all_shared_licenses_in_use
pauses --pause and tries again. Every request goes to the next --url in
turn, so one cycle crosses replicas. When --duration is up, cycles under way
still end their sessions.

Checking: a monitor reads GET /api/v1/admin/products/PRODUCT every
--monitor-interval and counts readings with occupied > --seats, and the
agents count how many of them hold a seat at once (from the grant received
to the end sent, which lies inside the seat's true time). Any excess is an
OVERSELL and fails the run, as does a seat still occupied once every agent
has ended.

Hand-off: from the agents' clocks, each grant is matched first in, first
out to the release that freed its seat; a grant to an agent that asked
before that release is a hand-off, reported as percentiles from the end
request sent to the start's answer (an upper bound of the time from the
release's commit to the claim's) and from the end's answer, with the share
of seat-time a seat stood free while an agent asked (seats_handoff.go).

Setup, straight into --database-url (the servers' database, opened as seed
opens it): the account if missing, the agents (agent00000@example.com, ...,
made once and reused), a token per agent (as scimd token create --scope agent
makes them; revoked afterwards), the plan's concurrent seats set to --seats
(named seats kept), and the product's sessions left open by an earlier run
ended: give the load an account of its own. Without --admin-token the setup
makes an admin token with privilege read for the monitor, revoked afterwards.

With --baseline-sql, then run the same cycle as raw SQL on the same
PostgreSQL with one worker per agent, in scratch tables of a schema of its
own that is dropped afterwards: a claim transaction (seat row upsert,
conditional UPDATE of the plan counter, session INSERT), connect and
heartbeat UPDATEs, the same hold, a release transaction (end the session,
decrement or delete the seat row, decrement the counter); and print scimd's
seat cycles per second over raw SQL's. Each phase is bounded by --duration
and, if given, --rounds.`

// The agent and admin APIs as a client sees them: server.AgentPath,
// server.AdminPath and agent.CodeAllSharedInUse (a test checks that they
// agree).
const (
	agentAPIPath       = "/api/v1/agent"
	adminAPIPath       = "/api/v1/admin"
	codeAllSharedInUse = "all_shared_licenses_in_use"
)

// seatsConfig is what the seats scenario is asked.
type seatsConfig struct {
	common
	databaseURL string
	account     string
	adminToken  string
	agents      int
	seats       int
	product     string
	rounds      int
	hold        time.Duration
	retryPause  time.Duration
	wait        int
	every       time.Duration
	baselineSQL string
}

func (c *seatsConfig) bindAll(fs *flag.FlagSet) {
	c.noToken = true
	c.common.bind(fs, 0)
	fs.Lookup("url").Usage = "base URL of a scimd server (its root; a trailing " + scimPath + " is dropped), loopback only; repeat or separate by commas: each agent request goes to the next one in turn (default http://127.0.0.1:8080)"
	fs.StringVar(&c.databaseURL, "database-url", "", "the servers' database, postgres://... (loopback or Unix socket only) or sqlite:PATH: the setup makes the agents, their tokens and the plan there")
	fs.StringVar(&c.account, "account", "seats", "account of the agents, created if missing; one of the load's own (the setup ends its open sessions of the product)")
	fs.StringVar(&c.adminToken, "admin-token", "", "admin token of the account with privilege read, products, sessions or billing, for the monitor; better set as SCIMLOAD_ADMIN_TOKEN (default: the setup makes one, revoked afterwards)")
	fs.IntVar(&c.agents, "agents", 50, "agents racing for seats, each a user of its own with one request in flight")
	fs.IntVar(&c.seats, "seats", 5, "concurrent seats of the product's plan (the setup sets them)")
	fs.StringVar(&c.product, "product", "remote-support-v5", "id of the product the agents hold a concurrent license of")
	fs.IntVar(&c.rounds, "rounds", 0, "seat cycles each agent completes before it stops (0: until --duration)")
	fs.DurationVar(&c.hold, "hold", 50*time.Millisecond, "how long an agent holds its seat after the heartbeat")
	fs.DurationVar(&c.retryPause, "pause", 50*time.Millisecond, "how long an agent pauses after a denied (or failed) start before it tries again")
	fs.IntVar(&c.wait, "wait", 0, "seconds a start waits on the server for a seat (the agent API's wait; 0: denied at once)")
	fs.DurationVar(&c.every, "monitor-interval", 20*time.Millisecond, "how often the monitor reads the product's seats through the admin API")
	fs.StringVar(&c.baselineSQL, "baseline-sql", "", "postgres:// URL of the servers' database: also run the same seat cycle as raw SQL there and print scimd/raw-SQL")
}

func parseSeats(ctx context.Context, args []string, stderr io.Writer, getenv func(string) string, resolve resolver) (seatsConfig, error) {
	var c seatsConfig
	fs := newFlagSet("seats", seatsPurpose, stderr)
	c.bindAll(fs)
	if err := parseFlags(fs, args, getenv); err != nil {
		return c, err
	}
	return c, c.validate(ctx, getenv, resolve)
}

// maxSeats bounds --seats (the admin API's bound of a plan).
const maxSeats = 1_000_000

func (c *seatsConfig) validate(ctx context.Context, getenv func(string) string, resolve resolver) error {
	// The client keeps a connection per agent; the range is checked below.
	c.concurrency = min(max(c.agents, 1), maxConcurrency)
	errs := []error{c.common.validate(ctx, resolve), licensing.ValidateAccountName(c.account)}
	for i, b := range c.bases {
		c.bases[i] = strings.TrimSuffix(b, scimPath)
	}
	if c.agents < 1 || c.agents > maxConcurrency {
		errs = append(errs, fmt.Errorf("agents %d must be between 1 and %d", c.agents, maxConcurrency))
	}
	if c.seats < 1 || c.seats > maxSeats {
		errs = append(errs, fmt.Errorf("seats %d must be between 1 and %d", c.seats, maxSeats))
	}
	if c.product == "" {
		errs = append(errs, errors.New("product must be set (a product id such as remote-support-v5)"))
	}
	if c.rounds < 0 || c.rounds > maxCount {
		errs = append(errs, fmt.Errorf("rounds %d must be between 0 and %d", c.rounds, maxCount))
	}
	if c.hold < 0 || c.hold > time.Hour {
		errs = append(errs, fmt.Errorf("hold %s must be between 0 and 1h", c.hold))
	}
	if c.retryPause < 0 || c.retryPause > time.Hour {
		errs = append(errs, fmt.Errorf("pause %s must be between 0 and 1h", c.retryPause))
	}
	if c.wait < 0 || c.wait > 600 {
		errs = append(errs, fmt.Errorf("wait %d must be between 0 and 600 seconds", c.wait))
	} else if c.timeout > 0 && c.timeout <= time.Duration(c.wait)*time.Second {
		errs = append(errs, fmt.Errorf("timeout %s must exceed --wait (%ds): a start may wait that long", c.timeout, c.wait))
	}
	if c.every <= 0 || c.every > time.Minute {
		errs = append(errs, fmt.Errorf("monitor-interval %s must be positive and at most 1m", c.every))
	}
	if c.databaseURL == "" {
		errs = append(errs, errors.New("database-url must be set (the servers' database: the setup makes the agents and the plan there)"))
	} else {
		errs = append(errs, checkLocalDatabase(ctx, c.databaseURL, getenv, resolve))
	}
	if c.baselineSQL != "" {
		errs = append(errs, checkBaselineURL(ctx, c.baselineSQL, getenv, resolve))
	}
	return errors.Join(errs...)
}

// The operations of a seat cycle, in the order of seatOps and rawSeatOps.
const (
	opGranted = iota
	opDenied
	opConnect
	opHeartbeat
	opEnd
	opCycle
)

var (
	seatOps    = []string{"start granted", "start denied (409)", "connect", "heartbeat", "end", "seat cycle"}
	rawSeatOps = []string{"raw SQL claim", "raw SQL claim denied", "raw SQL connect", "raw SQL heartbeat", "raw SQL release", "raw SQL seat cycle"}
)

// run sets the load up, runs the agents against the servers, then the
// raw-SQL baseline if asked, and undoes the setup's tokens.
func (c seatsConfig) run(ctx context.Context, cl *client) (Report, error) {
	rep := Report{Scenario: "seats", Started: time.Now(), Targets: c.bases, Concurrency: c.agents}
	setupStart := time.Now()
	s, note, err := c.setup(ctx)
	if err != nil {
		return rep, fmt.Errorf("setup: %w", err)
	}
	defer s.close()
	rep.Notes = append(rep.Notes, fmt.Sprintf("%s (%.1fs)", note, time.Since(setupStart).Seconds()))
	var raw *rawSeats
	if c.baselineSQL != "" {
		// Connect before the measured run, so that a wrong URL fails
		// before the servers are loaded.
		if raw, err = openRawSeats(ctx, c, min(c.agents, scimdPoolPerReplica*len(c.bases))); err != nil {
			return rep, err
		}
		defer raw.close()
	}

	read := adminReader(cl, "Bearer "+s.adminToken, c.product)
	first, r := read(ctx)
	switch {
	case r.class != "":
		return rep, fmt.Errorf("the monitor cannot read GET %s%s/products/%s: %s %s", cl.targets.pick(), adminAPIPath, c.product, r.class, r.detail)
	case first.total != c.seats:
		return rep, fmt.Errorf("the admin API shows %d concurrent seats of %s, want %d: do the servers use --database-url, and is --admin-token of account %s?", first.total, c.product, c.seats, c.account)
	case first.occupied != 0:
		return rep, fmt.Errorf("%d seats of %s are occupied before the run: is another client using account %s?", first.occupied, c.product, c.account)
	}

	drivers := make([]seatDriver, c.agents)
	start, _ := json.Marshal(map[string]any{"product": c.product, "platform": "windows", "wait": c.wait})
	for i, bearer := range s.agentTokens {
		drivers[i] = agentClient{cl: cl, auth: "Bearer " + bearer, startBody: start}
	}
	scimd := c.seatPhase(ctx, seatOps, drivers, "admin poll", read)
	rep.Ops = scimd.ops
	rep.Seconds = scimd.elapsed.Seconds()
	rep.Stopped = scimd.stopped
	rep.Seats = &SeatsReport{Product: c.product, Agents: c.agents, Seats: c.seats, HoldMs: ms(c.hold), PauseMs: ms(c.retryPause),
		WaitSeconds: c.wait, Rounds: c.rounds, Scimd: scimd.check}

	if raw != nil {
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
		note, err := raw.fit(ctx)
		if err != nil {
			return rep, err
		}
		if note != "" {
			rep.Notes = append(rep.Notes, note)
		}
		base := c.seatPhase(ctx, rawSeatOps, raw.agents(c), "raw SQL poll", raw.read)
		rep.Seats.RawSQL = &base.check
		for i, o := range base.ops {
			if i != opCycle { // the cycle is the baseline's own row
				rep.Ops = append(rep.Ops, o)
			}
		}
		cycle := base.ops[opCycle]
		rep.Baseline = &BaselineReport{
			What:            raw.what(c),
			Op:              cycle,
			ThroughputRatio: ratio(scimd.ops[opCycle].RatePerSec, cycle.RatePerSec),
			P50Ratio:        ratio(scimd.ops[opCycle].P50Ms, cycle.P50Ms),
			P99Ratio:        ratio(scimd.ops[opCycle].P99Ms, cycle.P99Ms),
			SameDatabase:    raw.holdsAccount(ctx, s.account.ID),
		}
		if !rep.Baseline.SameDatabase {
			rep.Notes = append(rep.Notes, "the --baseline-sql database does not hold the load's account: it is not the servers' database, so the ratio compares different databases")
		}
		if base.stopped != "" {
			rep.Notes = append(rep.Notes, "raw SQL phase stopped early: "+base.stopped)
		}
	}
	return rep, nil
}

// seatDriver takes and gives back one agent's seat: through the agent API
// (agentClient) or with raw SQL (rawAgent).
type seatDriver interface {
	// start asks for a seat, waiting if so configured; denied reports a
	// refusal because every seat is taken (a success of its own kind).
	start(ctx context.Context) (id string, denied bool, r result)
	connect(ctx context.Context, id string) result
	heartbeat(ctx context.Context, id string) result
	end(ctx context.Context, id string) result
}

// result is the outcome of one operation.
type result struct {
	took time.Duration
	// class is "" for a success, else the failure's status or class
	// (as in Errors), with a detail.
	class, detail string
	// cut says that the run was interrupted during the operation: it is
	// not recorded.
	cut bool
}

// record records r in rec and says whether it was a success.
func (r result) record(rec *recorder) bool {
	switch {
	case r.cut:
		return false
	case r.class != "":
		rec.failDetail(r.class, r.detail)
		return false
	}
	rec.ok(r.took)
	return true
}

// phase is one measured run of seat cycles.
type phase struct {
	ops     []OpReport // the cycle's operations, then the monitor's readings
	check   SeatsCheck
	elapsed time.Duration
	stopped string
}

// seatPhase runs an agent per driver until each has done --rounds cycles
// or --duration is up, with a monitor reading the seats, then reads them
// once more after every agent ended. The requests run under ctx, not
// under the run's time limit, so that a cycle under way when the time is
// up still ends its session (an interrupt cuts it short).
func (c seatsConfig) seatPhase(ctx context.Context, names []string, drivers []seatDriver, monitorName string, read readFunc) phase {
	stop, cancel := context.WithTimeout(ctx, c.duration)
	defer cancel()
	held := &heldSeats{limit: int64(c.seats)}
	monitor := newRecorder(monitorName)
	stopWatch := watch(ctx, c.every, c.seats, monitor, read)
	cycles := make([][]seatCycle, len(drivers))
	begin := time.Now()
	recs, elapsed := runWorkers(len(drivers), names, func(w int, recs []*recorder) {
		cycles[w] = c.agent(stop, ctx, drivers[w], recs, held)
	})
	seen := stopWatch()
	handoff := handoffs(slices.Concat(cycles...), c.seats, begin, begin.Add(elapsed))
	p := phase{elapsed: elapsed, stopped: stoppedBy(stop, c.duration)}
	for _, r := range recs {
		p.ops = append(p.ops, r.report(elapsed))
	}
	p.ops = append(p.ops, monitor.report(elapsed))
	p.check = SeatsCheck{
		Cycles: p.ops[opCycle].OK, CyclesPerSec: p.ops[opCycle].RatePerSec, Denials: p.ops[opDenied].OK,
		Readings: seen.readings, MaxOccupied: seen.maxOccupied, MaxWaiting: seen.maxWaiting, Violations: seen.violations,
		MaxHeld: int(held.max.Load()), HeldViolations: int(held.over.Load()), Handoff: handoff,
	}
	last, r := read(ctx)
	if r.class != "" || r.cut {
		p.check.FinalOccupied, p.check.FinalError = -1, strings.TrimSpace(r.class+" "+r.detail)
	} else {
		p.check.FinalOccupied, p.check.FinalWaiting = last.occupied, last.waiting
	}
	return p
}

// agent runs one agent's seat cycles until its rounds are done or stop
// ends: start (a denial pauses --pause and tries again), connect, one
// heartbeat, hold, end. Requests run under ctx (see seatPhase). It returns
// the cycles by the agent's clock (see seats_handoff.go).
func (c seatsConfig) agent(stop, ctx context.Context, d seatDriver, recs []*recorder, held *heldSeats) []seatCycle {
	var cycles []seatCycle
	var cur seatCycle // the cycle under way: asked is set from its first start on
	defer func() {
		if !cur.asked.IsZero() { // asked for a seat and stopped without one
			cur.left = time.Now()
			cycles = append(cycles, cur)
		}
	}()
	for done := 0; stop.Err() == nil && (c.rounds == 0 || done < c.rounds); {
		began := time.Now()
		if cur.asked.IsZero() {
			cur.asked = began
		}
		id, denied, r := d.start(ctx)
		switch {
		case r.cut:
			return cycles
		case denied:
			r.record(recs[opDenied])
			pause(stop, c.retryPause)
			continue
		case !r.record(recs[opGranted]):
			pause(stop, c.retryPause)
			continue
		}
		cur.granted = time.Now()
		held.take()
		d.connect(ctx, id).record(recs[opConnect])
		d.heartbeat(ctx, id).record(recs[opHeartbeat])
		pause(ctx, c.hold)
		held.give()
		cur.endSent = time.Now()
		r = d.end(ctx, id)
		if !r.cut && r.record(recs[opEnd]) {
			cur.ended = time.Now()
			recs[opCycle].ok(time.Since(began))
			done++
		}
		cycles = append(cycles, cur)
		cur = seatCycle{}
		if r.cut {
			return cycles
		}
	}
	return cycles
}

// pause waits d or until ctx ends.
func pause(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// heldSeats counts the agents holding a seat as the agents see it: from
// the grant received to the end sent. That lies inside the time the
// database counts the seat as occupied (from the claim's commit to the
// release's commit), so more holders than seats at any moment is an
// oversell, whatever the counters say.
type heldSeats struct {
	limit          int64
	now, max, over atomic.Int64
}

func (h *heldSeats) take() {
	n := h.now.Add(1)
	for m := h.max.Load(); n > m && !h.max.CompareAndSwap(m, n); m = h.max.Load() {
	}
	if n > h.limit {
		h.over.Add(1)
	}
}

func (h *heldSeats) give() { h.now.Add(-1) }

// seatReading is one reading of a product's seats.
type seatReading struct{ occupied, total, waiting int }

// readFunc reads the product's seats: through the admin API, or the raw
// SQL counter.
type readFunc func(ctx context.Context) (seatReading, result)

// watched is what a monitor saw.
type watched struct {
	readings, maxOccupied, maxWaiting, violations int
}

// watch reads the seats every interval, recording each reading's latency
// in rec, until the returned function is called; that function returns
// what the monitor saw. A reading with occupied > limit is a violation.
func watch(ctx context.Context, every time.Duration, limit int, rec *recorder, read readFunc) func() watched {
	done := make(chan struct{})
	out := make(chan watched, 1)
	go func() {
		var w watched
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			s, r := read(ctx)
			if r.record(rec) {
				w.readings++
				w.maxOccupied = max(w.maxOccupied, s.occupied)
				w.maxWaiting = max(w.maxWaiting, s.waiting)
				if s.occupied > limit {
					w.violations++
				}
			}
			select {
			case <-done:
				out <- w
				return
			case <-ctx.Done():
				out <- w
				return
			case <-t.C:
			}
		}
	}()
	return func() watched {
		close(done)
		return <-out
	}
}

// adminReader reads the product's seats from the admin API, each reading
// from the next replica.
func adminReader(cl *client, auth, product string) readFunc {
	path := adminAPIPath + "/products/" + url.PathEscape(product)
	return func(ctx context.Context) (seatReading, result) {
		a, err := cl.send(ctx, http.MethodGet, cl.targets.pick()+path, auth, jsonMediaType, nil)
		r := httpResult(ctx, a, err, http.StatusOK)
		if r.class != "" || r.cut {
			return seatReading{}, r
		}
		var v struct {
			Concurrent *struct{ Occupied, Total, Waiting int } `json:"concurrent"`
		}
		if json.Unmarshal(a.body, &v) != nil || v.Concurrent == nil {
			return seatReading{}, result{class: errUnexpected, detail: "no concurrent seats in " + snippet(a.body)}
		}
		return seatReading{v.Concurrent.Occupied, v.Concurrent.Total, v.Concurrent.Waiting}, r
	}
}

// agentClient is one agent on the agent API; each request goes to the
// next replica.
type agentClient struct {
	cl        *client
	auth      string
	startBody []byte
}

func (a agentClient) call(ctx context.Context, path string) (answer, error) {
	var body []byte
	if path == "/sessions" {
		body = a.startBody
	}
	return a.cl.send(ctx, http.MethodPost, a.cl.targets.pick()+agentAPIPath+path, a.auth, jsonMediaType, body)
}

func (a agentClient) start(ctx context.Context) (string, bool, result) {
	ans, err := a.call(ctx, "/sessions")
	switch {
	case err != nil:
	case ans.status == http.StatusCreated:
		var s struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(ans.body, &s) != nil || s.ID == "" {
			return "", false, result{class: errUnexpected, detail: "201 without a session id: " + snippet(ans.body)}
		}
		return s.ID, false, result{took: ans.took}
	case ans.status == http.StatusConflict:
		var p struct {
			Code string `json:"code"`
		}
		if json.Unmarshal(ans.body, &p) == nil && p.Code == codeAllSharedInUse {
			return "", true, result{took: ans.took}
		}
	}
	return "", false, httpResult(ctx, ans, err, http.StatusCreated)
}

func (a agentClient) connect(ctx context.Context, id string) result {
	return a.session(ctx, id, "connect")
}

func (a agentClient) heartbeat(ctx context.Context, id string) result {
	return a.session(ctx, id, "heartbeat")
}

func (a agentClient) end(ctx context.Context, id string) result { return a.session(ctx, id, "end") }

func (a agentClient) session(ctx context.Context, id, action string) result {
	ans, err := a.call(ctx, "/sessions/"+url.PathEscape(id)+"/"+action)
	return httpResult(ctx, ans, err, http.StatusOK)
}
