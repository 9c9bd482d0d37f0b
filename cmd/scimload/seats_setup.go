package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/storage/sqlstore"
)

// agentPattern makes the userNames of the seats scenario's agents.
const agentPattern = "agent%05d@example.com"

// seatsSetup is what the setup made in the servers' database.
type seatsSetup struct {
	store   *sqlstore.Store
	account licensing.Account
	// agentTokens are the agents' bearer strings, one per agent.
	agentTokens []string
	adminToken  string
	// revoke are the ids of the tokens the setup made.
	revoke []string
}

// setup opens the servers' database as seed does and readies the load:
// the account, the agents with a concurrent license of the product, a
// token per agent, the plan, no open session of the product, and an admin
// token unless --admin-token gave one. It returns what it did, for the
// report.
func (c seatsConfig) setup(ctx context.Context) (*seatsSetup, string, error) {
	store, err := sqlstore.Open(c.databaseURL, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, "", err
	}
	s := &seatsSetup{store: store}
	note, err := c.ready(ctx, s)
	if err != nil {
		s.close()
		return nil, "", err
	}
	return s, note, nil
}

// ready does the setup's work on the open store and says what it did;
// see setup.
func (c seatsConfig) ready(ctx context.Context, s *seatsSetup) (string, error) {
	clock := licensing.SystemClock{}
	if _, err := s.store.Migrate(ctx); err != nil {
		return "", fmt.Errorf("migrate: %w", err)
	}
	acct, err := s.store.AccountByName(ctx, c.account)
	if errors.Is(err, licensing.ErrNotFound) {
		acct, err = licensing.CreateAccount(ctx, s.store, clock, c.account)
	}
	if err != nil {
		return "", fmt.Errorf("account %q: %w", c.account, err)
	}
	s.account = acct
	agents, made, err := c.ensureAgents(ctx, s.store, acct.ID)
	if err != nil {
		return "", err
	}
	open, err := s.store.OpenSessions(ctx, acct.ID, c.product)
	if err != nil {
		return "", err
	}
	for _, o := range open {
		_, err := s.store.EndSession(ctx, acct.ID, "", o.ID, licensing.EndedByAdmin, "", clock.Now())
		var ended *licensing.SessionEndedError
		if err != nil && !errors.As(err, &ended) {
			return "", fmt.Errorf("end session %s left open by an earlier run: %w", o.ID, err)
		}
	}
	named := 0
	usage, err := s.store.Usage(ctx, acct.ID)
	if err != nil {
		return "", err
	}
	for _, u := range usage {
		if u.ProductID == c.product {
			named = u.NamedSeats
		}
	}
	if err := s.store.SetPlan(ctx, licensing.Plan{AccountID: acct.ID, ProductID: c.product, NamedSeats: named, ConcurrentSeats: c.seats}); err != nil {
		return "", fmt.Errorf("plan: %w", err)
	}
	// The tokens outlive the run only if the revocation fails.
	ttl := 2*c.duration + c.timeout + time.Hour
	for _, id := range agents {
		t, bearer, err := licensing.IssueAgentToken(ctx, s.store, clock, acct.ID, id, "scimload seats", ttl)
		if err != nil {
			return "", fmt.Errorf("agent token: %w", err)
		}
		s.agentTokens = append(s.agentTokens, bearer)
		s.revoke = append(s.revoke, t.ID)
	}
	note := fmt.Sprintf("setup: account %s, %d agents (%d made now), %d sessions left open ended, plan of %s set to %d concurrent seats",
		acct.Name, len(agents), made, len(open), c.product, c.seats)
	s.adminToken = c.adminToken
	if s.adminToken == "" {
		t, bearer, err := licensing.IssueAdminToken(ctx, s.store, clock, acct.ID, "scimload seats monitor", []licensing.Privilege{licensing.PrivRead})
		if err != nil {
			return "", fmt.Errorf("admin token: %w", err)
		}
		s.adminToken = bearer
		s.revoke = append(s.revoke, t.ID)
		note += ", admin token made for the monitor"
	}
	return note, nil
}

// ensureAgents makes the agents agent00000@example.com, ... that the
// account lacks, each with a concurrent license of the product, and
// returns the ids of all --agents of them and how many it made. An agent made by an earlier
// run is reused if it is active and holds the product concurrently.
func (c seatsConfig) ensureAgents(ctx context.Context, store *sqlstore.Store, accountID string) ([]string, int, error) {
	ids, made := make([]string, 0, c.agents), 0
	for i := range c.agents {
		name := fmt.Sprintf(agentPattern, i)
		doc, err := storedDoc(userBody(name, i, false, nil))
		if err != nil {
			return nil, 0, err
		}
		now := time.Now()
		u := licensing.User{
			AccountID: accountID, ID: licensing.NewID(), UserName: name, ExternalID: fmt.Sprintf("agent-%d", i),
			DisplayName: fmt.Sprintf("Agent %d", i), Active: true, Doc: doc, Created: now, LastModified: now, Version: 1,
			Assignments: licensing.Assignments{c.product: licensing.LicenseConcurrent},
		}
		err = store.CreateUser(ctx, u)
		if err == nil {
			made++
		} else if errors.Is(err, licensing.ErrConflict) {
			if u, err = licensing.UserByName(ctx, store, accountID, name); err == nil && (!u.Active || u.Assignments.Of(c.product) != licensing.LicenseConcurrent) {
				err = fmt.Errorf("it exists without an active concurrent license of %s: use another --account", c.product)
			}
		}
		if err != nil {
			return nil, 0, fmt.Errorf("agent %s: %w", name, err)
		}
		ids = append(ids, u.ID)
	}
	return ids, made, nil
}

// close revokes the tokens the setup made and closes the store.
func (s *seatsSetup) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	now := time.Now()
	for _, id := range s.revoke {
		if s.store.RevokeToken(ctx, s.account.ID, id, now) != nil {
			break // the database is gone: the tokens expire by themselves
		}
	}
	s.store.Close()
}
