package licensing

import (
	"encoding/json"
	"time"
)

// User is a SCIM user of an account; an agent is a user of the agent app.
//
// The columns that identity providers look users up by are fields; the
// rest of the SCIM representation (name, emails, extensions, ...) is kept
// as a JSON document in Doc, keyed by canonical attribute names, without
// id, meta, password or groups.
type User struct {
	AccountID    string
	ID           string
	UserName     string
	ExternalID   string
	DisplayName  string
	Active       bool
	Doc          json.RawMessage
	Created      time.Time
	LastModified time.Time
	// Version increases by one with every change; it is the ETag.
	Version int64
	// Assignments are the products the user holds and how. Stores write
	// them with the user, in the same transaction, enforcing the named
	// seat limits (see Store.CreateUser) and ending the sessions of
	// products the user no longer holds.
	Assignments Assignments
	// PasswordHash is the slow hash of the password the identity provider
	// set, for agent sign-in; "" when none. Never returned over SCIM.
	PasswordHash string
	// Groups are the groups whose members include the user (direct
	// memberships only, not those through nested groups), ordered by
	// group id. They are read-only: stores fill them on read and ignore
	// them on write, as memberships change through the groups. A change
	// of membership does not change the user's Version.
	Groups []GroupRef
	// Licenses are the user's licenses in force and pending, with their
	// sources, ordered by product then license (see InForce). They are
	// read-only: stores fill them on read and ignore them on write, as
	// they follow from Assignments, Active and the groups' Assignments.
	Licenses []License
}

// GroupRef names a group a user is a direct member of.
type GroupRef struct {
	ID string
	// Display is the group's displayName.
	Display string
}

// MemberType says whether a group member is a user or a group.
type MemberType string

// The kinds of group member.
const (
	MemberUser  MemberType = "User"
	MemberGroup MemberType = "Group"
)

// Member is one member of a group.
type Member struct {
	ID   string
	Type MemberType
	// Display is the member's display name (user's displayName or userName,
	// group's displayName), filled by the store on read.
	Display string
}

// Group is a SCIM group of an account. Doc holds the representation
// without id, meta and members.
type Group struct {
	AccountID   string
	ID          string
	DisplayName string
	ExternalID  string
	Doc         json.RawMessage
	Members     []Member
	// MemberCount counts the direct members, users and groups: filled by
	// Store.Groups with Query.WithoutMembers, which leaves Members empty
	// (with the members read, len(Members) counts them).
	MemberCount int
	// Assignments are the products the group gives its members
	// (transitively) and how. Stores write them with the group, updating
	// the licenses in force of the members in the same transaction.
	Assignments  Assignments
	Created      time.Time
	LastModified time.Time
	Version      int64
}
