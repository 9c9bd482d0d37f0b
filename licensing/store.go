package licensing

import (
	"context"
	"time"
)

// Store is the storage port. Every method is scoped to an account where
// the object belongs to one: an object of another account is reported as
// ErrNotFound, never as data. Errors not listed in a method's contract are
// internal failures; an error matching ErrUnavailable means the database
// could not be reached and nothing was changed.
//
// Every write method takes the audit entries that record the write
// (usually one, from NewAuditEntry) and stores them in the write's own
// transaction, in the write's account whatever their AccountID says:
// either the write and its entries land, or neither does, whatever
// happens to the caller's context or the process in between. A write that
// changes nothing (a refused one, or RevokeToken of a revoked token)
// records nothing.
type Store interface {
	// CreateAccount stores a new account. It returns ErrConflict if the
	// name is taken.
	CreateAccount(ctx context.Context, a Account, audit ...AuditEntry) error
	// Account returns the account with the id, or ErrNotFound.
	Account(ctx context.Context, id string) (Account, error)
	// AccountByName returns the account with the name, or ErrNotFound.
	AccountByName(ctx context.Context, name string) (Account, error)
	// Accounts lists all accounts by creation.
	Accounts(ctx context.Context) ([]Account, error)

	// CreateToken stores a token, with its user and expiry if it has
	// them. It returns ErrNotFound if the account does not exist (or the
	// token's user is not a user of the account) and ErrConflict if the id
	// is taken.
	CreateToken(ctx context.Context, t Token, audit ...AuditEntry) error
	// Token returns the token with the id, revoked or not, whatever its
	// account, or ErrNotFound. Callers must check the secret with
	// Token.Matches and the revocation with Token.Active. The answer may
	// come from memory: a revocation or deletion made through this store
	// shows at once, one made by another process (another replica, the
	// command line) within a second.
	Token(ctx context.Context, id string) (Token, error)
	// Tokens lists the account's tokens selected by q, revoked and expired
	// ones included, by creation then id. Page.Total is not computed (0).
	// ErrInvalid for a malformed cursor.
	Tokens(ctx context.Context, accountID string, q TokenQuery) (Page[Token], error)
	// RevokeToken marks the account's token as revoked at the given time.
	// It returns ErrNotFound if the account has no token with the id.
	// Revoking a revoked token changes nothing, records nothing and
	// succeeds.
	RevokeToken(ctx context.Context, accountID, id string, at time.Time, audit ...AuditEntry) error

	// CreateUser stores a new user with its assignments; u.Version must
	// be 1 (else ErrInvalid, as for text the database cannot hold: NUL or
	// invalid UTF-8, or an assignment of an empty product id). It returns
	// ErrConflict if the account has a user with the same userName,
	// compared case-insensitively. u.Groups is ignored.
	//
	// Seat rules, applied in the same transaction as the write (and so
	// for ReplaceUser, DeleteUser and every group write and plan change):
	// the store recomputes the licenses in force of the users the write
	// may change (see inforce.go: Grants.Holdings over the direct
	// assignments and the groups, transitively). A user starting to hold a
	// direct named license takes a named seat only if one is free (inside
	// the database, never a read in Go first), else the whole write is
	// undone and the error is a *NamedSeatsExhaustedError with the product
	// id and the numbers; an inherited named license without a free seat
	// is pending instead, queued, and the write goes on. A named license
	// leaving force frees its seat, which goes to the first pending user
	// of the product in the same transaction (so does a plan that grows).
	// The sessions of products whose license in force changes or goes end
	// with reason EndedByDeprovision, freeing their seats, with seat
	// events recorded; a promotion from pending ends none.
	CreateUser(ctx context.Context, u User, audit ...AuditEntry) error
	// User returns the account's user with the id, its Groups and
	// Licenses filled (ordered by group id, by product), or ErrNotFound.
	User(ctx context.Context, accountID, id string) (User, error)
	// ReplaceUser stores u over the user with u.ID if that user's version
	// is still expectVersion; u.Version must be expectVersion+1. u.Groups
	// is ignored: memberships change through the groups. It returns
	// ErrNotFound if there is no such user, ErrStale if the version moved
	// on, ErrConflict if the new userName is taken, and the seat errors of
	// CreateUser. An empty u.PasswordHash keeps the stored one.
	//
	// When RevokesCredentials(old, u) (the password changed, or the user
	// was deactivated), every token of the user is revoked at
	// u.LastModified and every console session of the user ends, in the
	// same transaction.
	ReplaceUser(ctx context.Context, u User, expectVersion int64, audit ...AuditEntry) error
	// DeleteUser deletes the account's user and removes it from every
	// group, bumping those groups' versions and setting their last
	// modification to at, frees the user's seats and ends their sessions
	// (seat rules of CreateUser), and deletes the user's tokens, console
	// privileges, password links and console sessions. It
	// returns ErrNotFound if there is no such user.
	DeleteUser(ctx context.Context, accountID, id string, at time.Time, audit ...AuditEntry) error
	// UsersByID returns the account's users with the ids (those that
	// exist; ids of other accounts are not found), with their assignments
	// but without Groups, in no particular order.
	UsersByID(ctx context.Context, accountID string, ids []string) ([]User, error)
	// Users lists the account's users selected by q, with their Groups
	// filled as User fills them unless q.WithoutGroups; the groups of a
	// whole page are read at once, never with one query per user. A filter
	// may name the groups as Any over ["groups"] whose condition compares
	// ["value"] (the group id) or ["type"] ("direct" for every
	// membership). It returns ErrInvalid for a query it cannot run (a
	// malformed cursor, an attribute of the wrong kind, another
	// sub-attribute of groups).
	Users(ctx context.Context, accountID string, q Query) (Page[User], error)

	// CreateGroup stores a new group with its members and assignments;
	// g.Version must be 1. It returns ErrConflict if the account has a
	// group with the same displayName (case-insensitive) and ErrInvalid if
	// a member is not a user or group of the account (or is the group
	// itself) or an assignment is invalid. The members' licenses in force
	// change in the same transaction (seat rules of CreateUser); a group
	// write never fails for lack of named seats.
	CreateGroup(ctx context.Context, g Group, audit ...AuditEntry) error
	// Group returns the account's group with its members (ordered by
	// member id) and assignments, or ErrNotFound.
	Group(ctx context.Context, accountID, id string) (Group, error)
	// ReplaceGroup stores g, members included, over the group with g.ID if
	// its version is still expectVersion; errors as ReplaceUser and
	// CreateGroup.
	ReplaceGroup(ctx context.Context, g Group, expectVersion int64, audit ...AuditEntry) error
	// DeleteGroup deletes the account's group and its memberships, in
	// other groups too (bumping their versions and setting their last
	// modification to at). It returns ErrNotFound if there is no such group.
	DeleteGroup(ctx context.Context, accountID, id string, at time.Time, audit ...AuditEntry) error
	// Groups lists the account's groups selected by q.
	Groups(ctx context.Context, accountID string, q Query) (Page[Group], error)

	Seats
	SeatTotals
	Observable
	Keys
	Purger
	SignInThrottles
	ConsoleStore

	// AppendAudit stores an audit entry of e.AccountID on its own (its ID
	// is set by the store: e.ID is ignored), for an event that writes
	// nothing else: a write records its entries through its own method.
	// ErrNotFound if the account does not exist.
	AppendAudit(ctx context.Context, e AuditEntry) error
	// AuditLog lists the account's audit entries selected by q, newest
	// first (by time, then id). Page.Total is not computed (0). ErrInvalid
	// for a malformed cursor.
	AuditLog(ctx context.Context, accountID string, q AuditQuery) (Page[AuditEntry], error)

	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
	// Close releases the database.
	Close() error
}

// Seats is the part of the Store that keeps plans, sessions and seats.
// Every limit is enforced inside the database, atomically across any
// number of processes sharing it; times come from the caller's clock.
type Seats interface {
	// SetPlan sets the named and concurrent seats of the account's
	// product, creating the plan if needed. Lowering named seats below the
	// number assigned returns a *PlanBelowAssignedError and changes
	// nothing. Lowering concurrent seats below the number occupied ends
	// nobody: new claims wait until occupancy is below the new number.
	// ErrNotFound if the account does not exist; ErrInvalid for negative
	// numbers.
	SetPlan(ctx context.Context, p Plan, audit ...AuditEntry) error
	// Usage returns the account's plans with their usage, by product id.
	// Products without a plan are absent (they have no seats).
	Usage(ctx context.Context, accountID string) ([]Usage, error)
	// NamedLicenseCounts counts, per product, the account's users holding
	// a named license in force through groups only (their direct
	// assignment of the product is not named) and the users waiting for a
	// named seat, all products in one statement, by product id. Products
	// with neither are absent.
	NamedLicenseCounts(ctx context.Context, accountID string) ([]NamedLicenseCount, error)

	// StartSession stores the new session s (ID, AccountID, ProductID,
	// UserID, Attended, Platform, CreatedAt, LastSeen, ExpiresAt set by the
	// caller) and sets s.License and s.State (pending). In one transaction
	// it reads the user and their assignment of the product: ErrNotFound
	// if there is no such user; a *NotEntitledError if the user is
	// inactive or does not hold the product. A named assignment needs no
	// seat. A concurrent one needs the user's seat of the product: an open
	// session of the same user and product already holds it and is shared;
	// otherwise a seat is taken only if occupied + the live waiters ahead
	// in the product's line < concurrent seats: the free seats go to the
	// waiters in line order, k free seats to the first k (with ticket ""
	// every live waiter is ahead; with a live ticket from JoinQueue, the
	// waiters who joined before it; a ticket not in line or whose time ran
	// out by s.CreatedAt keeps no place, and every live waiter is ahead), else the
	// answer is a *SharedSeatsInUseError with the numbers. A successful
	// claim with a ticket removes the ticket from the line. The occupied
	// event is recorded; a refusal records a denied event only when ticket
	// is "": a waiter retrying with its ticket was counted once, by its
	// first attempt without one, and its retries add no denials.
	StartSession(ctx context.Context, s *Session, ticket string) error
	// Session returns the account's session with the id, whatever its
	// state, or ErrNotFound.
	Session(ctx context.Context, accountID, id string) (Session, error)
	// TouchSession records that the agent is still there: LastSeen = now
	// and ExpiresAt = expiresAt, and with connect the state becomes
	// connected (ConnectedAt = now the first time). userID "" matches any
	// user; otherwise the session must be that user's. ErrNotFound if no
	// such session; a *SessionEndedError if it has ended.
	//
	// A session whose lease ran out (ExpiresAt <= now) is not revived,
	// whether or not the reaper has run: TouchSession ends it right there
	// as ExpireSessions would, in the same transaction (reason
	// EndedByExpiry, EndedAt = now, the seat freed if it was the user's
	// last open session of a concurrent product, an expired seat event),
	// and returns a *SessionEndedError with EndedByExpiry. EndedAt is now,
	// the moment the seat was freed, as for the reaper: until then the seat
	// counted as occupied, and the seat events say so.
	TouchSession(ctx context.Context, accountID, userID, id string, connect bool, now, expiresAt time.Time) (Session, error)
	// EndSession ends the session with the reason, actor (a token id, or
	// "") and time, and frees the seat if it was the user's last open
	// session of a concurrent product, recording the events. userID as for
	// TouchSession. ErrNotFound if no such session; a *SessionEndedError if
	// it had already ended.
	//
	// A session whose lease ran out (ExpiresAt <= now) ends as expired
	// instead, exactly as TouchSession ends it (the reason and actor asked
	// for are not recorded), and the answer is a *SessionEndedError with
	// EndedByExpiry: the caller learns the session had expired, the same
	// answer it gets once the reaper has run.
	EndSession(ctx context.Context, accountID, userID, id string, reason EndReason, actor string, now time.Time) (Session, error)
	// EndSeat ends every open session of the user's product and so frees
	// the seat (an admin clearing a shared license), returning the sessions
	// ended. ErrNotFound if the user has no open session of the product.
	EndSeat(ctx context.Context, accountID, productID, userID string, reason EndReason, actor string, now time.Time, audit ...AuditEntry) ([]Session, error)
	// ExpireSessions ends, with reason EndedByExpiry, up to limit sessions
	// of any account whose ExpiresAt <= now, freeing their seats, and
	// returns how many it ended. Several processes may run it at once;
	// each session is ended once.
	ExpireSessions(ctx context.Context, now time.Time, limit int) (int, error)
	// OpenSessions lists the account's pending and connected sessions, of
	// one product or (productID "") all, ordered by creation.
	OpenSessions(ctx context.Context, accountID, productID string) ([]Session, error)
	// UserOpenSessions lists the pending and connected sessions of the
	// account's user, of every product, ordered by creation.
	UserOpenSessions(ctx context.Context, accountID, userID string) ([]Session, error)

	// JoinQueue puts the user in the product's line of waiters, first come
	// first served across processes, and returns the ticket. The waiter is
	// live until expiresAt; RefreshTicket extends it. A user has one place
	// per line: a user who joins while live in the line gets the ticket
	// they have (live until the later of both times), however many joins
	// race in however many processes, and the place is then held once more
	// (LeaveQueue lets one holder go). With maxWaiters > 0, a user not in
	// the line is refused with ErrLineFull when maxWaiters live waiters
	// are in it already (counted exactly under concurrent joins). Joins
	// may wait for each other; with a deadline on ctx, a join that cannot
	// take its place in time fails with an error matching
	// context.DeadlineExceeded, possibly a moment before the deadline (a
	// store may end the wait itself rather than have the deadline
	// interrupt it).
	JoinQueue(ctx context.Context, accountID, productID, userID string, now, expiresAt time.Time, maxWaiters int) (string, error)
	// RefreshTicket keeps a live waiter live until expiresAt. ErrNotFound
	// if the ticket left the line or its time ran out (it was live until
	// a moment <= now), whether or not the store has cleared it yet: an
	// expired ticket is gone and keeps no place in line, and the waiter
	// joins again, at the back.
	RefreshTicket(ctx context.Context, accountID, ticket string, now, expiresAt time.Time) error
	// LeaveQueue lets one holder of the ticket go, and takes the ticket
	// out of the line when the last one goes; a ticket not in line is not
	// an error.
	LeaveQueue(ctx context.Context, accountID, ticket string) error
	// Waiting counts the live waiters of the account's product at now.
	Waiting(ctx context.Context, accountID, productID string, now time.Time) (int, error)

	// SeatEvents lists the account's seat events with from <= At < to, by
	// time then id.
	SeatEvents(ctx context.Context, accountID string, from, to time.Time) ([]SeatEvent, error)
	// UsageRollups keeps the hourly summaries of the seat events.
	UsageRollups
}

// SeatChange tells that waiters for the seats of an account's product may
// get one now: seats were freed, waiters ahead of others left the line, or
// the plan grew.
type SeatChange struct {
	// AccountID and ProductID name the line. An empty AccountID means
	// that changes may have been missed (the store lost its connection
	// for a while): any line may have moved.
	AccountID, ProductID string
	// Seats is how many waiters the change may let in, at least 1.
	Seats int
	// Tickets, if the store tells them, are the tickets (from JoinQueue)
	// of the waiters the change lets in: the first Seats live waiters of
	// the line (fewer if fewer wait, or if the store names only the first
	// ones). Without them, the first waiters of each process try.
	Tickets []string
}

// SeatWatcher is the optional part of a Store that tells, moments after
// they commit, of the changes that may let waiters in: those made through
// this Store and, on a database shared by several processes, through
// theirs. Agents.Watch uses it so that waiters need not wait for their
// next poll.
type SeatWatcher interface {
	// WatchSeats sends the seat changes until ctx ends (or the store is
	// closed), then closes the channel. Delivery is best effort: a change
	// may be lost (the receiver was slow, the connection dropped), and
	// the waiters' polling makes up for it; a change may also come when no
	// waiter can get in any more (another took the seat first). It
	// returns an error only if watching cannot start.
	WatchSeats(ctx context.Context) (<-chan SeatChange, error)
}
