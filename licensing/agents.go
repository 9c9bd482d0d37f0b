package licensing

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// AgentConfig sets the lifetimes of the agent app's sessions.
type AgentConfig struct {
	// KeyLifetime is how long a pending session (support key issued, not
	// yet connected) holds its seat. Default 10 minutes.
	KeyLifetime time.Duration
	// Lease is how long a connected session holds its seat without a
	// heartbeat. Default 2 minutes.
	Lease time.Duration
	// MaxWait bounds how long a start request may wait for a seat.
	// Default 60 seconds.
	MaxWait time.Duration
	// MaxWaiters caps the live waiters of a product's line; an agent
	// who would be one more is denied at once. Default 1000.
	MaxWaiters int
	// Poll is how often a waiting start request tries again. Default 250
	// ms. With Watch, waiters also try again as soon as the store tells
	// that a seat may be theirs; polling makes up for changes lost.
	Poll time.Duration
}

func (c AgentConfig) withDefaults() AgentConfig {
	if c.KeyLifetime <= 0 {
		c.KeyLifetime = 10 * time.Minute
	}
	if c.Lease <= 0 {
		c.Lease = 2 * time.Minute
	}
	if c.MaxWait <= 0 {
		c.MaxWait = 60 * time.Second
	}
	if c.Poll <= 0 {
		c.Poll = 250 * time.Millisecond
	}
	if c.MaxWaiters <= 0 {
		c.MaxWaiters = 1000
	}
	return c
}

// Agents runs the agent app's use cases over the store: starting,
// connecting, keeping and ending support sessions, and waiting for a
// shared seat.
type Agents struct {
	store   Store
	clock   Clock
	catalog Catalog
	cfg     AgentConfig
	// sleep waits d or until ctx ends; tests replace it to move a fake
	// clock instead of sleeping. nil sleeps in real time.
	sleep func(ctx context.Context, d time.Duration) error

	// mu guards the waiters of this process (see Watch).
	mu sync.Mutex
	// lines are this process's start requests waiting for a seat, by
	// account and product, in the order they began.
	lines map[lineKey][]*waiter
	// tickets are those of lines' waiters that joined the store's line
	// (several requests of one user share the user's ticket).
	tickets map[string][]*waiter
	// told are tickets that seat changes named lately and that no waiter
	// here had (yet): a waiter whose ticket was named before JoinQueue
	// returned it is woken when it gets it. maxTold bounds their number,
	// dropping the oldest first.
	told     map[string]bool
	toldRing []string
	toldNext int
	// watching counts the running Watch loops. Without one, End wakes
	// this process's waiters itself.
	watching atomic.Int32
}

// maxTold bounds Agents.told.
const maxTold = 1024

// lineKey names a line of waiters: an account's product.
type lineKey struct{ account, product string }

// waiter is a start request of this process waiting for a seat.
type waiter struct {
	// wake holds a wake-up not yet taken: the waiter tries again at once
	// instead of at its next poll.
	wake chan struct{}
	// ticket is its place in the store's line, "" until it joined.
	ticket string
}

// poke gives the waiter a wake-up, unless one is pending already; it
// reports whether it did.
func (w *waiter) poke() bool {
	select {
	case w.wake <- struct{}{}:
		return true
	default:
		return false
	}
}

// NewAgents returns the agent use cases. sleep may be nil (real time).
func NewAgents(store Store, clock Clock, catalog Catalog, cfg AgentConfig, sleep func(context.Context, time.Duration) error) *Agents {
	return &Agents{store: store, clock: clock, catalog: catalog, cfg: cfg.withDefaults(), sleep: sleep,
		lines: map[lineKey][]*waiter{}, tickets: map[string][]*waiter{}, told: map[string]bool{}}
}

// Config returns the effective configuration.
func (a *Agents) Config() AgentConfig { return a.cfg }

// StartRequest asks for a support session of a product.
type StartRequest struct {
	ProductID string
	Attended  bool
	Platform  Platform
	// Wait, when positive, waits up to that long (at most MaxWait) for a
	// shared seat instead of failing at once; waiters are served first
	// come, first served, across processes.
	Wait time.Duration
}

// ErrUnknownProduct refuses a product the catalog does not have.
var ErrUnknownProduct = errors.New("unknown product")

// ErrLineFull refuses to join a line of waiters that holds the most
// waiters it may (AgentConfig.MaxWaiters). Agents answers it as a full
// pool (*SharedSeatsInUseError): the agent is denied, not queued.
var ErrLineFull = errors.New("line of waiters full")

// Start starts a session for the user. With a named assignment it always
// succeeds; with a concurrent one it claims the user's shared seat or
// answers a *SharedSeatsInUseError (after waiting, if asked). Errors carry
// the catalog's product names.
func (a *Agents) Start(ctx context.Context, accountID, userID string, req StartRequest) (Session, error) {
	product, ok := a.catalog.Product(req.ProductID)
	if !ok {
		return Session{}, fmt.Errorf("%w %q", ErrUnknownProduct, req.ProductID)
	}
	if req.Wait <= 0 {
		s, err := a.tryStart(ctx, accountID, userID, req, "")
		return s, a.named(err)
	}
	// A request that may wait is in this process's line from its first
	// attempt on, so that a seat freed before it joined the store's line
	// still wakes it.
	k := lineKey{accountID, req.ProductID}
	w := a.enter(k)
	defer a.leave(k, w)
	s, err := a.tryStart(ctx, accountID, userID, req, "")
	var full *SharedSeatsInUseError
	if !errors.As(err, &full) {
		return s, a.named(err)
	}
	return a.wait(ctx, accountID, userID, req, product, w)
}

func (a *Agents) tryStart(ctx context.Context, accountID, userID string, req StartRequest, ticket string) (Session, error) {
	now := a.clock.Now()
	s := Session{
		ID: NewID(), AccountID: accountID, ProductID: req.ProductID, UserID: userID,
		Attended: req.Attended, Platform: req.Platform,
		CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(a.cfg.KeyLifetime),
	}
	err := a.store.StartSession(ctx, &s, ticket)
	return s, err
}

// wait joins the product's line and retries until the ticket is first and
// a seat is free, the wait is over, or ctx ends: at each poll, and at once
// when woken (see Watch). The retries carry the ticket, so they record no
// denied seat event: the wait counts as the one denial that Start's first
// attempt, without a ticket, recorded.
func (a *Agents) wait(ctx context.Context, accountID, userID string, req StartRequest, product Product, w *waiter) (Session, error) {
	start := a.clock.Now()
	deadline := start.Add(min(req.Wait, a.cfg.MaxWait))
	// A waiter that stops refreshing (its request died) drops out of the
	// line after a few polls, so it blocks nobody for long.
	ttl := 4 * a.cfg.Poll
	ticket, err := a.joinQueue(ctx, accountID, req.ProductID, userID, start, ttl, deadline)
	if errors.Is(err, ErrLineFull) {
		return Session{}, a.named(&SharedSeatsInUseError{Product: product})
	}
	if err != nil {
		return Session{}, err
	}
	a.joined(w, ticket, false)
	claimed := false
	defer func() {
		if !claimed { // a claim takes its ticket out of the line itself
			_ = a.store.LeaveQueue(context.WithoutCancel(ctx), accountID, ticket)
		}
	}()
	var lastErr error = &SharedSeatsInUseError{Product: product}
	refreshed := start
	for {
		if left := deadline.Sub(a.clock.Now()); left > 0 {
			if err := a.pause(ctx, min(a.cfg.Poll, left), w); err != nil {
				return Session{}, err
			}
		}
		now := a.clock.Now()
		if !now.Before(deadline) {
			return Session{}, a.named(lastErr)
		}
		// The ticket is kept live at each poll; the tries in between,
		// woken, leave it be (it lives four polls).
		if now.Sub(refreshed) >= a.cfg.Poll {
			err := a.store.RefreshTicket(ctx, accountID, ticket, now, now.Add(ttl))
			if errors.Is(err, ErrNotFound) {
				// The ticket expired (a pause longer than its time to
				// live): it lost its place; join again, at the back.
				if ticket, err = a.joinQueue(ctx, accountID, req.ProductID, userID, now, ttl, deadline); err == nil {
					a.joined(w, ticket, true)
				}
			}
			if errors.Is(err, ErrLineFull) {
				return Session{}, a.named(lastErr)
			}
			if err != nil {
				return Session{}, err
			}
			refreshed = now
		}
		s, err := a.tryStart(ctx, accountID, userID, req, ticket)
		var full *SharedSeatsInUseError
		if !errors.As(err, &full) {
			claimed = err == nil
			return s, a.named(err)
		}
		lastErr = err
	}
}

// joinQueue puts the user in the product's line for ttl from now, waiting
// for a place until deadline at most (joining may wait: the joins of a
// line take turns). ErrLineFull if the line is full or no place came in
// time: the agent then hears that every seat is taken, as at the end of a
// wait.
//
// A join that fails once the deadline has passed got no place in time,
// whatever its error says: the store may fail for the deadline before the
// context's timer fires and the context tells it (a connection dialled
// with a deadline already passed fails with an i/o timeout, which the
// store reports as ErrUnavailable), and that is no outage to answer 503.
// So is one the store ended itself, a moment before the deadline, for
// lack of time (its error matches context.DeadlineExceeded: see
// Store.JoinQueue).
func (a *Agents) joinQueue(ctx context.Context, accountID, productID, userID string, now time.Time, ttl time.Duration, deadline time.Time) (string, error) {
	jctx, cancel := WithChosenTimeout(ctx, deadline.Sub(now))
	defer cancel()
	ticket, err := a.store.JoinQueue(jctx, accountID, productID, userID, now, now.Add(ttl), a.cfg.MaxWaiters)
	outOfTime := jctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || !a.clock.Now().Before(deadline)
	if err != nil && ctx.Err() == nil && outOfTime {
		return "", fmt.Errorf("%w: no place within the wait", ErrLineFull)
	}
	return ticket, err
}

// pause waits d, until the waiter is woken, or until ctx ends. A wake-up
// already pending ends it at once. The tests' sleep, moving a fake clock,
// is not interrupted by a wake-up.
func (a *Agents) pause(ctx context.Context, d time.Duration, w *waiter) error {
	select {
	case <-w.wake:
		return nil
	default:
	}
	if a.sleep != nil {
		return a.sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	case <-w.wake:
		return nil
	}
}

// Watch wakes this process's waiting start requests as soon as the store
// tells of a change that may let them in (a seat of their product freed,
// in this process or another sharing the database, waiters ahead leaving
// the line, the plan growing), instead of at their next poll. It starts
// watching and returns; watching ends with ctx. It returns the store's
// error if watching cannot start, and nil at once if the store is not a
// SeatWatcher (waiters then poll, and End wakes this process's own).
//
// Only the waiters the change lets in try again: those whose tickets it
// names (the first of the store's line, as many as seats are free,
// wherever they wait), or, if it names none, the first of this process's
// line that have no wake-up pending. The others sleep on, so a freed seat
// costs a try or so, not one per waiter. Waking bypasses nothing: the
// store still admits only the first waiters of its line, as many as
// seats are free.
func (a *Agents) Watch(ctx context.Context) error {
	sw, ok := a.store.(SeatWatcher)
	if !ok {
		return nil
	}
	changes, err := sw.WatchSeats(ctx)
	if err != nil {
		return err
	}
	a.watching.Add(1)
	go func() {
		defer a.watching.Add(-1)
		for c := range changes {
			a.seatsChanged(c)
		}
	}()
	return nil
}

// seatsChanged wakes the waiters of this process that the change lets
// in; a change of any line wakes every waiter once.
func (a *Agents) seatsChanged(c SeatChange) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c.AccountID == "" {
		for _, line := range a.lines {
			for _, w := range line {
				w.poke()
			}
		}
		return
	}
	k := lineKey{c.AccountID, c.ProductID}
	if c.Tickets == nil {
		a.wakeFirst(k, max(c.Seats, 1))
		return
	}
	for _, t := range c.Tickets {
		for _, w := range a.tickets[t] {
			w.poke()
		}
		if len(a.tickets[t]) == 0 {
			a.remember(t)
		}
	}
	if c.Seats > len(c.Tickets) {
		// More seats free than waiters named: those still joining the
		// line may take them.
		for _, w := range a.lines[k] {
			if w.ticket == "" {
				w.poke()
			}
		}
	}
}

// wakeFirst gives a wake-up to the first n waiters of this process's
// line that have none pending (one woken while it was trying keeps the
// wake-up, and tries again once more: its try may have read the seats
// before they were freed). a.mu must be held.
func (a *Agents) wakeFirst(k lineKey, n int) {
	for _, w := range a.lines[k] {
		if n == 0 {
			return
		}
		if w.poke() {
			n--
		}
	}
}

// remember notes a ticket named by a change with no waiter here to wake.
// a.mu must be held.
func (a *Agents) remember(ticket string) {
	if a.told[ticket] {
		return
	}
	a.told[ticket] = true
	if len(a.toldRing) < maxTold {
		a.toldRing = append(a.toldRing, ticket)
		return
	}
	delete(a.told, a.toldRing[a.toldNext])
	a.toldRing[a.toldNext] = ticket
	a.toldNext = (a.toldNext + 1) % maxTold
}

// enter puts a new waiter at the back of this process's line.
func (a *Agents) enter(k lineKey) *waiter {
	w := &waiter{wake: make(chan struct{}, 1)}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.lines[k] = append(a.lines[k], w)
	return w
}

// joined records the waiter's ticket in the store's line (again, at the
// back, after its ticket expired), and wakes it if a change named the
// ticket before it was known here.
func (a *Agents) joined(w *waiter, ticket string, again bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.dropTicket(w)
	w.ticket = ticket
	a.tickets[ticket] = append(a.tickets[ticket], w)
	if a.told[ticket] {
		w.poke()
	}
	if again {
		for k, line := range a.lines {
			if i := slices.Index(line, w); i >= 0 {
				a.lines[k] = append(slices.Delete(line, i, i+1), w)
			}
		}
	}
}

// leave takes the waiter out of this process's line.
func (a *Agents) leave(k lineKey, w *waiter) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.dropTicket(w)
	line := a.lines[k]
	if i := slices.Index(line, w); i >= 0 {
		line = slices.Delete(line, i, i+1)
	}
	if len(line) == 0 {
		delete(a.lines, k)
	} else {
		a.lines[k] = line
	}
}

// dropTicket forgets that the waiter holds its ticket. a.mu must be held.
func (a *Agents) dropTicket(w *waiter) {
	held := slices.DeleteFunc(a.tickets[w.ticket], func(o *waiter) bool { return o == w })
	if len(held) == 0 {
		delete(a.tickets, w.ticket)
	} else {
		a.tickets[w.ticket] = held
	}
}

// Connect records that the agent connected to a customer: the session
// holds its seat while heartbeats arrive within the lease. Like Heartbeat
// and End, it cannot revive a session whose time ran out.
func (a *Agents) Connect(ctx context.Context, accountID, userID, sessionID string) (Session, error) {
	now := a.clock.Now()
	s, err := a.store.TouchSession(ctx, accountID, userID, sessionID, true, now, now.Add(a.cfg.Lease))
	return s, a.named(err)
}

// Heartbeat keeps a session alive: a connected one for another lease, a
// pending one until its support key's lifetime. A heartbeat after that
// time, whether or not the reaper has run since, ends the session and
// frees its seat, and is told the session expired (*SessionEndedError).
func (a *Agents) Heartbeat(ctx context.Context, accountID, userID, sessionID string) (Session, error) {
	cur, err := a.store.Session(ctx, accountID, sessionID)
	if err != nil {
		return Session{}, err
	}
	if cur.UserID != userID {
		return Session{}, ErrNotFound
	}
	now := a.clock.Now()
	expires := now.Add(a.cfg.Lease)
	if cur.State == SessionPending {
		expires = cur.CreatedAt.Add(a.cfg.KeyLifetime)
	}
	s, err := a.store.TouchSession(ctx, accountID, userID, sessionID, false, now, expires)
	return s, a.named(err)
}

// End ends the agent's own session and frees the seat if it was the
// agent's last session of the product. A session whose time ran out ends
// as expired instead, and the agent is told so (*SessionEndedError).
func (a *Agents) End(ctx context.Context, accountID, userID, sessionID string) (Session, error) {
	s, err := a.store.EndSession(ctx, accountID, userID, sessionID, EndedByAgent, "", a.clock.Now())
	if err == nil && s.License == LicenseConcurrent && a.watching.Load() == 0 {
		// Nothing tells this process of the seat freed: its waiters
		// learn it here. (With Watch they learn it from the store.)
		a.seatsChanged(SeatChange{AccountID: accountID, ProductID: s.ProductID, Seats: 1})
	}
	return s, a.named(err)
}

// named fills the product names of seat errors from the catalog.
func (a *Agents) named(err error) error {
	return a.catalog.NameProducts(err)
}

// Reap ends expired sessions in batches until none is left, and returns
// how many it ended. Run it periodically from any number of processes.
func Reap(ctx context.Context, store Store, clock Clock, batch int) (int, error) {
	total := 0
	for {
		n, err := store.ExpireSessions(ctx, clock.Now(), batch)
		total += n
		if err != nil || n < batch {
			return total, err
		}
	}
}

// ProductStatus tells an agent, per product they hold, whether they can
// start a session now, and if not why (AllSharedInUse for a full pool).
type ProductStatus struct {
	Product  Product
	License  LicenseType
	CanStart bool
	Message  string
}

// Status reports, for each product the user holds in force (in catalog
// order, u.Licenses as the store reads them),
// whether a session can start now: always with a named license; with a
// concurrent one when the user already holds the seat, or more seats are
// free than agents wait for one.
func (a *Agents) Status(ctx context.Context, u User) ([]ProductStatus, error) {
	if !u.Active {
		return nil, &NotEntitledError{Inactive: true}
	}
	var usage map[string]Usage
	var open map[string]bool
	var out []ProductStatus
	for _, p := range a.catalog.Products {
		t := InForce(u.Licenses, p.ID) // direct or inherited
		if t == LicenseNone {
			continue
		}
		st := ProductStatus{Product: p, License: t, CanStart: true}
		if t == LicenseConcurrent {
			if usage == nil {
				var err error
				if usage, open, err = a.seatState(ctx, u); err != nil {
					return nil, err
				}
			}
			if !open[p.ID] {
				us := usage[p.ID]
				waiting, err := a.store.Waiting(ctx, u.AccountID, p.ID, a.clock.Now())
				if err != nil {
					return nil, err
				}
				if us.ConcurrentOccupied+waiting >= us.ConcurrentSeats {
					st.CanStart, st.Message = false, AllSharedInUse
				}
			}
		}
		out = append(out, st)
	}
	return out, nil
}

// seatState reads the account's usage by product and the products the
// user has open sessions of.
func (a *Agents) seatState(ctx context.Context, u User) (map[string]Usage, map[string]bool, error) {
	list, err := a.store.Usage(ctx, u.AccountID)
	if err != nil {
		return nil, nil, err
	}
	usage := make(map[string]Usage, len(list))
	for _, us := range list {
		usage[us.ProductID] = us
	}
	sessions, err := a.store.UserOpenSessions(ctx, u.AccountID, u.ID)
	if err != nil {
		return nil, nil, err
	}
	open := map[string]bool{}
	for _, s := range sessions {
		open[s.ProductID] = true
	}
	return usage, open, nil
}
