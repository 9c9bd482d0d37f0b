package licensing

import (
	"slices"
)

// Licenses in force.
//
// A user's license of a product comes from the user's own assignment
// (direct) or from the groups the user belongs to, transitively
// (inherited). The license in force is the direct one when it is not none,
// else the strongest inherited one (named over concurrent). Inactive users
// have none. Named seats count the licenses in force: a direct named
// license that finds no seat fails the write that asks for it (a
// *NamedSeatsExhaustedError), while an inherited one never fails the group
// write that grants it: the user is pending, queued for a seat of the
// product in the order they became eligible (ties broken by user id), and
// gets the seat as soon as one frees or the plan grows, in the transaction
// that frees it. While pending for named, a group's concurrent license, if
// any, is in force meanwhile. Stores keep the licenses in force
// materialized, changed in the transaction of every write that can change
// them, and read them without computing memberships again.

// LicenseStatus says whether a license is in force or waiting for a seat.
type LicenseStatus string

// The license statuses.
const (
	LicenseActive  LicenseStatus = "active"
	LicensePending LicenseStatus = "pending"
)

// ReasonNamedSeatsExhausted is why a pending license waits: every named
// seat of the product is taken.
const ReasonNamedSeatsExhausted = "named_seats_exhausted"

// SourceDirect is the source of a direct license; the others are group ids.
const SourceDirect = "direct"

// License is one of a user's licenses, as stores keep them: in force
// (active) or waiting for a named seat (pending). A user has per product
// at most one active license, and at most one pending one (named), which
// may come with an active concurrent one meanwhile.
type License struct {
	ProductID string
	License   LicenseType
	Status    LicenseStatus
	// Sources are SourceDirect or the ids of the groups giving the
	// license, ordered.
	Sources []string
	// Place is a pending license's place in the product's queue for a
	// named seat, 1 for the next to get one; 0 when active. Stores fill it
	// on read.
	Place int
}

// Reason tells why the license is pending ("" when active).
func (l License) Reason() string {
	if l.Status == LicensePending {
		return ReasonNamedSeatsExhausted
	}
	return ""
}

// InForce returns the user's license in force for the product, none if
// the user has no active license of it.
func InForce(ls []License, product string) LicenseType {
	for _, l := range ls {
		if l.ProductID == product && l.Status == LicenseActive {
			return l.License
		}
	}
	return LicenseNone
}

// Grants are what a user is given, before seats are counted: the direct
// assignments and, per product, the license each of the user's groups
// (transitively) gives.
type Grants struct {
	Active bool
	Direct Assignments
	// Groups maps product ids to group ids to the license the group gives.
	Groups map[string]map[string]LicenseType
}

// Holding is what a user should hold of one product.
type Holding struct {
	// License is the strongest license given: the direct one if not none,
	// else the strongest inherited one.
	License LicenseType
	// Direct tells that License is the direct assignment (a named one
	// must find a seat or fail the write).
	Direct bool
	// Sources are the sources giving License, ordered.
	Sources []string
	// Meanwhile are the groups giving concurrent when License is an
	// inherited named one: what is in force while it waits for a seat.
	Meanwhile []string
}

// Holdings returns, per product, what the grants entitle the user to.
func (g Grants) Holdings() map[string]Holding {
	out := map[string]Holding{}
	if !g.Active {
		return out
	}
	for p, t := range g.Direct {
		if t == LicenseNamed || t == LicenseConcurrent {
			out[p] = Holding{License: t, Direct: true, Sources: []string{SourceDirect}}
		}
	}
	for p, groups := range g.Groups {
		if _, direct := out[p]; direct {
			continue
		}
		var named, concurrent []string
		for id, t := range groups {
			switch t {
			case LicenseNamed:
				named = append(named, id)
			case LicenseConcurrent:
				concurrent = append(concurrent, id)
			}
		}
		slices.Sort(named)
		slices.Sort(concurrent)
		switch {
		case len(named) > 0:
			out[p] = Holding{License: LicenseNamed, Sources: named, Meanwhile: concurrent}
		case len(concurrent) > 0:
			out[p] = Holding{License: LicenseConcurrent, Sources: concurrent}
		}
	}
	return out
}
