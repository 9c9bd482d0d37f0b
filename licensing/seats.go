package licensing

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// LicenseType is how a user holds a product.
type LicenseType string

// The license types. None exists because Entra ID cannot clear an
// attribute: it sets it to "none" instead.
const (
	LicenseNone       LicenseType = "none"
	LicenseNamed      LicenseType = "named"
	LicenseConcurrent LicenseType = "concurrent"
)

// ParseLicenseType reads a license type, case-insensitively; "" is none.
func ParseLicenseType(s string) (LicenseType, error) {
	switch LicenseType(strings.ToLower(strings.TrimSpace(s))) {
	case "", LicenseNone:
		return LicenseNone, nil
	case LicenseNamed:
		return LicenseNamed, nil
	case LicenseConcurrent:
		return LicenseConcurrent, nil
	}
	return "", fmt.Errorf("%w: license type %q must be named, concurrent or none", ErrInvalid, s)
}

// Assignments maps product ids to the user's license type. Products
// absent from the map (or mapped to none) are not assigned.
type Assignments map[string]LicenseType

// Of returns the user's license type for the product.
func (a Assignments) Of(product string) LicenseType {
	if t, ok := a[product]; ok && t != "" {
		return t
	}
	return LicenseNone
}

// Plan is an account's subscription to one product.
type Plan struct {
	AccountID       string
	ProductID       string
	NamedSeats      int
	ConcurrentSeats int
}

// Usage is how much of a plan is in use.
type Usage struct {
	Plan
	// NamedAssigned counts active users with a named license in force,
	// direct or inherited from a group (pending ones excluded).
	NamedAssigned int
	// ConcurrentOccupied counts users holding a concurrent seat.
	ConcurrentOccupied int
}

// ErrSeatLimit is what every seat refusal wraps; the concrete errors below
// carry the numbers for the message the client sees.
var ErrSeatLimit = errors.New("seat limit")

// NamedSeatsExhaustedError refuses a write that would assign more named
// seats than the plan has. Nothing of the write is kept.
type NamedSeatsExhaustedError struct {
	Product  Product
	Assigned int
	Total    int
}

func (e *NamedSeatsExhaustedError) Error() string {
	return fmt.Sprintf("No named license left for %s: %d of %d assigned.", e.Product.Name, e.Assigned, e.Total)
}

// Unwrap makes the error match ErrSeatLimit.
func (e *NamedSeatsExhaustedError) Unwrap() error { return ErrSeatLimit }

// AllSharedInUse is the sentence an agent gets, word for word, when every
// concurrent seat of a product is taken.
const AllSharedInUse = "All shared licenses are in use. To start a session, please wait for an available license."

// SharedSeatsInUseError refuses a concurrent claim when every seat is
// taken (or others wait ahead). Its message is AllSharedInUse.
type SharedSeatsInUseError struct {
	Product  Product
	Occupied int
	Total    int
}

func (e *SharedSeatsInUseError) Error() string { return AllSharedInUse }

// Unwrap makes the error match ErrSeatLimit.
func (e *SharedSeatsInUseError) Unwrap() error { return ErrSeatLimit }

// SessionState is where a support session is in its life.
type SessionState string

// The session states.
const (
	SessionPending   SessionState = "pending"
	SessionConnected SessionState = "connected"
	SessionEnded     SessionState = "ended"
)

// EndReason says why a session ended.
type EndReason string

// The end reasons.
const (
	EndedByAgent       EndReason = "agent"
	EndedByExpiry      EndReason = "expired"
	EndedByAdmin       EndReason = "admin"
	EndedByDeprovision EndReason = "deprovisioned"
)

// Platform is the agent app's platform.
type Platform string

// The platforms the agent app runs on.
const (
	PlatformWindows Platform = "windows"
	PlatformMac     Platform = "mac"
	PlatformIOS     Platform = "ios"
	PlatformAndroid Platform = "android"
)

// Session is an agent's support session of one product.
type Session struct {
	ID        string
	AccountID string
	ProductID string
	UserID    string
	// License is how the user held the product when the session started.
	License     LicenseType
	State       SessionState
	Attended    bool
	Platform    Platform
	CreatedAt   time.Time
	ConnectedAt *time.Time
	// LastSeen is the last heartbeat (or the creation).
	LastSeen  time.Time
	ExpiresAt time.Time
	EndedAt   *time.Time
	EndReason EndReason
	// EndedBy names the actor who ended it (token id), if an admin did.
	EndedBy string
}

// SeatEventKind is what happened to a seat.
type SeatEventKind string

// The seat events.
const (
	SeatOccupied SeatEventKind = "occupied"
	SeatReleased SeatEventKind = "released"
	SeatDenied   SeatEventKind = "denied"
	SeatExpired  SeatEventKind = "expired"
	SeatEnded    SeatEventKind = "ended"
)

// SeatEvent records one seat event, for usage reports.
type SeatEvent struct {
	ID        int64
	AccountID string
	ProductID string
	UserID    string
	SessionID string
	Kind      SeatEventKind
	// Reason is the end reason for released/expired/ended events.
	Reason EndReason
	// Actor is the token id that caused it, when one did.
	Actor string
	At    time.Time
}

// PlanBelowAssignedError refuses lowering a plan's named seats below the
// number of named seats assigned.
type PlanBelowAssignedError struct {
	Product   Product
	Assigned  int
	Requested int
}

func (e *PlanBelowAssignedError) Error() string {
	return fmt.Sprintf("Cannot lower the named licenses of %s to %d: %d are assigned. Unassign %d first.",
		e.Product.Name, e.Requested, e.Assigned, e.Assigned-e.Requested)
}

// Unwrap makes the error match ErrSeatLimit.
func (e *PlanBelowAssignedError) Unwrap() error { return ErrSeatLimit }

// NotEntitledError refuses a session to a user who is inactive or does
// not hold the product.
type NotEntitledError struct {
	Product  Product
	Inactive bool
}

func (e *NotEntitledError) Error() string {
	if e.Inactive {
		return "Your user is deactivated: ask your administrator to reactivate it."
	}
	return fmt.Sprintf("You have no license for %s: ask your administrator to assign it.", e.Product.Name)
}

// Unwrap makes the error match ErrNotEntitled.
func (e *NotEntitledError) Unwrap() error { return ErrNotEntitled }

// ErrNotEntitled is what NotEntitledError wraps.
var ErrNotEntitled = errors.New("not entitled")

// ErrGone is what SessionEndedError wraps.
var ErrGone = errors.New("session ended")

// SessionEndedError answers a call on a session that has ended.
type SessionEndedError struct {
	Reason EndReason
}

func (e *SessionEndedError) Error() string {
	switch e.Reason {
	case EndedByAdmin:
		return "This session was ended by an administrator."
	case EndedByExpiry:
		return "This session expired: it was not used within its time limit."
	case EndedByDeprovision:
		return "This session ended because your license for its product was removed."
	}
	return "This session has ended."
}

// Unwrap makes the error match ErrGone.
func (e *SessionEndedError) Unwrap() error { return ErrGone }

// NameProducts fills, from the catalog, the product name of the seat
// errors err wraps (stores know only product ids), so that their messages
// read "No named license left for Remote Support v5: ...". It changes
// the errors in place and returns err.
func (c Catalog) NameProducts(err error) error {
	var named *NamedSeatsExhaustedError
	var below *PlanBelowAssignedError
	var full *SharedSeatsInUseError
	var ne *NotEntitledError
	switch {
	case errors.As(err, &named) && named != nil:
		named.Product = c.Named(named.Product)
	case errors.As(err, &below) && below != nil:
		below.Product = c.Named(below.Product)
	case errors.As(err, &full) && full != nil:
		full.Product = c.Named(full.Product)
	case errors.As(err, &ne) && ne != nil:
		ne.Product = c.Named(ne.Product)
	}
	return err
}

// Named fills the error's product from the catalog (stores know only the
// product id).
func (c Catalog) Named(p Product) Product {
	if full, ok := c.Product(p.ID); ok {
		return full
	}
	if p.Name == "" {
		p.Name = p.ID
	}
	return p
}

// ProductUsage is a product of the catalog with an account's use of its
// seats, as the admin API and the console show it. A product without a
// plan has no seats: its totals are 0.
type ProductUsage struct {
	Product
	NamedAssigned, NamedTotal           int
	ConcurrentOccupied, ConcurrentTotal int
	// Waiting counts the agents waiting for a concurrent seat now.
	Waiting int
	// NamedThroughGroups counts, of NamedAssigned, the users holding
	// their named license through groups only (their direct assignment
	// is not named); Pending counts the users waiting for a named seat.
	// ProductsUsage leaves both 0; CountGroupLicenses fills them.
	NamedThroughGroups, Pending int
}

// NamedLicenseCount is what Store.NamedLicenseCounts counts of one
// product: the users holding a named license in force through groups only,
// and those waiting for a named seat.
type NamedLicenseCount struct {
	ProductID              string
	ThroughGroups, Pending int
}

// CountGroupLicenses fills NamedThroughGroups and Pending of usage (the
// account's), with one count over the stored licenses for all products
// (a listing of the whole catalog once took two per product).
func CountGroupLicenses(ctx context.Context, store Store, accountID string, usage []ProductUsage) error {
	counts, err := store.NamedLicenseCounts(ctx, accountID)
	if err != nil {
		return err
	}
	byProduct := make(map[string]NamedLicenseCount, len(counts))
	for _, n := range counts {
		byProduct[n.ProductID] = n
	}
	for i := range usage {
		n := byProduct[usage[i].ID]
		usage[i].NamedThroughGroups, usage[i].Pending = n.ThroughGroups, n.Pending
	}
	return nil
}

// ProductsUsage returns the products with the account's usage at now, in
// the order given.
func ProductsUsage(ctx context.Context, store Store, accountID string, products []Product, now time.Time) ([]ProductUsage, error) {
	usage, err := store.Usage(ctx, accountID)
	if err != nil {
		return nil, err
	}
	byProduct := make(map[string]Usage, len(usage))
	for _, u := range usage {
		byProduct[u.ProductID] = u
	}
	out := make([]ProductUsage, 0, len(products))
	for _, p := range products {
		waiting, err := store.Waiting(ctx, accountID, p.ID, now)
		if err != nil {
			return nil, err
		}
		u := byProduct[p.ID]
		out = append(out, ProductUsage{Product: p, NamedAssigned: u.NamedAssigned, NamedTotal: u.NamedSeats,
			ConcurrentOccupied: u.ConcurrentOccupied, ConcurrentTotal: u.ConcurrentSeats, Waiting: waiting})
	}
	return out, nil
}

// MaxSeats bounds the seat numbers of a plan that the admin API and the
// console accept (the database keeps them in 32-bit integers).
const MaxSeats = 1_000_000
