package licensing

import (
	"context"
	"errors"
	"fmt"
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
	// Poll is how often a waiting start request tries again. Default 250 ms.
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
	// clock instead of sleeping.
	sleep func(ctx context.Context, d time.Duration) error
}

// NewAgents returns the agent use cases. sleep may be nil (real time).
func NewAgents(store Store, clock Clock, catalog Catalog, cfg AgentConfig, sleep func(context.Context, time.Duration) error) *Agents {
	if sleep == nil {
		sleep = func(ctx context.Context, d time.Duration) error {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
				return nil
			}
		}
	}
	return &Agents{store: store, clock: clock, catalog: catalog, cfg: cfg.withDefaults(), sleep: sleep}
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

// Start starts a session for the user. With a named assignment it always
// succeeds; with a concurrent one it claims the user's shared seat or
// answers a *SharedSeatsInUseError (after waiting, if asked). Errors carry
// the catalog's product names.
func (a *Agents) Start(ctx context.Context, accountID, userID string, req StartRequest) (Session, error) {
	product, ok := a.catalog.Product(req.ProductID)
	if !ok {
		return Session{}, fmt.Errorf("%w %q", ErrUnknownProduct, req.ProductID)
	}
	s, err := a.tryStart(ctx, accountID, userID, req, "")
	var full *SharedSeatsInUseError
	if !errors.As(err, &full) || req.Wait <= 0 {
		return s, a.named(err)
	}
	return a.wait(ctx, accountID, userID, req, product)
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
// a seat is free, the wait is over, or ctx ends. The retries carry the
// ticket, so they record no denied seat event: the wait counts as the one
// denial that Start's first attempt, without a ticket, recorded.
func (a *Agents) wait(ctx context.Context, accountID, userID string, req StartRequest, product Product) (Session, error) {
	start := a.clock.Now()
	deadline := start.Add(min(req.Wait, a.cfg.MaxWait))
	// A waiter that stops refreshing (its request died) drops out of the
	// line after a few polls, so it blocks nobody for long.
	ttl := 4 * a.cfg.Poll
	ticket, err := a.store.JoinQueue(ctx, accountID, req.ProductID, userID, start, start.Add(ttl))
	if err != nil {
		return Session{}, err
	}
	defer func() {
		_ = a.store.LeaveQueue(context.WithoutCancel(ctx), accountID, ticket)
	}()
	var lastErr error = &SharedSeatsInUseError{Product: product}
	for {
		if err := a.sleep(ctx, a.cfg.Poll); err != nil {
			return Session{}, err
		}
		now := a.clock.Now()
		if !now.Before(deadline) {
			return Session{}, a.named(lastErr)
		}
		if err := a.store.RefreshTicket(ctx, accountID, ticket, now, now.Add(ttl)); err != nil && !errors.Is(err, ErrNotFound) {
			return Session{}, err
		} else if errors.Is(err, ErrNotFound) {
			// The ticket expired (a pause longer than its time to live): it
			// lost its place; join again, at the back.
			if ticket, err = a.store.JoinQueue(ctx, accountID, req.ProductID, userID, now, now.Add(ttl)); err != nil {
				return Session{}, err
			}
		}
		s, err := a.tryStart(ctx, accountID, userID, req, ticket)
		var full *SharedSeatsInUseError
		if !errors.As(err, &full) {
			return s, a.named(err)
		}
		lastErr = err
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
	return s, a.named(err)
}

// named fills the product names of seat errors from the catalog.
func (a *Agents) named(err error) error {
	var full *SharedSeatsInUseError
	var ne *NotEntitledError
	switch {
	case errors.As(err, &full):
		full.Product = a.catalog.Named(full.Product)
	case errors.As(err, &ne):
		ne.Product = a.catalog.Named(ne.Product)
	}
	return err
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

// Status reports, for each product the user holds (in catalog order),
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
		t := u.Assignments.Of(p.ID)
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
