// Package conformance is the one test suite every licensing.Store runs: a
// backend's own test calls Run with a function that opens the backend.
//
// The suite checks the Store contract as licensing documents it, error
// contract included, the query language (every operator on column-like and
// document attributes, Any, And, Or, Not, members and groups, sorting,
// offsets and cursors), the seat engine (plans, named seats taken with the
// user writes, sessions, concurrent seats, leases, the line of waiters,
// seat events) and the rules that must hold under concurrency: seat
// limits under racing claims and writes, claims racing releases and
// deprovisioning, concurrent reapers. A store may implement SeatInspector
// to have the seat counters checked against its rows. Every test works in accounts
// of its own with random names, so runs may share one database and tests
// run in parallel.
//
// It imports licensing and the standard library only, and knows nothing
// of any backend.
package conformance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/licensing"
)

// Run runs the suite. open is called once per test and returns a store on
// a migrated database; it should close the store with t.Cleanup. Stores
// opened by one run may share a database.
func Run(t *testing.T, open func(t *testing.T) licensing.Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, s licensing.Store)
	}{
		{"Accounts", testAccounts},
		{"Tokens", testTokens},
		{"TokenPrivileges", testTokenPrivileges},
		{"AuditLog", testAuditLog},
		{"AuditIDs", testAuditIDs},
		{"SecretKey", testSecretKey},
		{"AuditedWrites", testAuditedWrites},
		{"RevokesCredentials", testRevokesCredentials},
		{"TokenPages", testTokenPages},
		{"UserCRUD", testUserCRUD},
		{"UserNameUnique", testUserNameUnique},
		{"UserStale", testUserStale},
		{"UserCrossAccount", testUserCrossAccount},
		{"UsersByID", testUsersByID},
		{"UserTextSearch", testUserTextSearch},
		{"GroupMembers", testGroupMembers},
		{"GroupInvalidMembers", testGroupInvalidMembers},
		{"GroupReplace", testGroupReplace},
		{"GroupCrossAccount", testGroupCrossAccount},
		{"DeleteUserLeavesGroups", testDeleteUserLeavesGroups},
		{"DeleteGroupLeavesGroups", testDeleteGroupLeavesGroups},
		{"GroupsList", testGroupsList},
		{"UserGroups", testUserGroups},
		{"UserGroupsMemberType", testUserGroupsMemberType},
		{"UserGroupFilters", testUserGroupFilters},
		{"UserGroupsCrossAccount", testUserGroupsCrossAccount},
		{"UserFilters", testUserFilters},
		{"GroupFilters", testGroupFilters},
		{"InvalidQueries", testInvalidQueries},
		{"Sorting", testSorting},
		{"OffsetLimit", testOffsetLimit},
		{"CursorPaging", testCursorPaging},
		{"ConcurrentCreateUser", testConcurrentCreateUser},
		{"UserTotals", testUserTotals},
		{"ConcurrentReplaceUser", testConcurrentReplaceUser},
		{"ConcurrentCreateGroup", testConcurrentCreateGroup},
		{"ConcurrentMembershipAndDelete", testConcurrentMembershipAndDelete},
		{"SeatPlans", testSeatPlans},
		{"AssignmentsStored", testAssignmentsStored},
		{"NamedSeats", testNamedSeats},
		{"SessionLifecycle", testSessionLifecycle},
		{"SharedSeat", testSharedSeat},
		{"EndSeat", testEndSeat},
		{"SeatsFollowUser", testSeatsFollowUser},
		{"Leases", testLeases},
		{"Queue", testQueue},
		{"QueueSeveralFree", testQueueSeveralFree},
		{"LineOnePlacePerUser", testLineOnePlacePerUser},
		{"ConcurrentJoinsOneUser", testConcurrentJoinsOneUser},
		{"LineMaxWaiters", testLineMaxWaiters},
		{"PlanLowered", testPlanLowered},
		{"SeatsCrossAccount", testSeatsCrossAccount},
		{"ConcurrentClaims", testConcurrentClaims},
		{"ConcurrentClaimsOneUser", testConcurrentClaimsOneUser},
		{"ClaimRacesRelease", testClaimRacesRelease},
		{"ClaimRacesDeprovision", testClaimRacesDeprovision},
		{"ConcurrentEnds", testConcurrentEnds},
		{"ConcurrentNamedWrites", testConcurrentNamedWrites},
		{"GroupLicenses", testGroupLicenses},
		{"NestedGroupLicenses", testNestedGroupLicenses},
		{"PendingNamedLicenses", testPendingNamedLicenses},
		{"GroupRemovalEndsSessions", testGroupRemovalEndsSessions},
		{"GroupLicensesAndMembersTogether", testGroupLicensesAndMembersTogether},
		{"ConcurrentGroupLicensing", testConcurrentGroupLicensing},
		{"GroupQueueOrderRace", testGroupQueueOrderRace},
		{"QueueServedBeforeNewcomers", testQueueServedBeforeNewcomers},
		{"UserAndGroupWritesRace", testUserAndGroupWritesRace},
		{"LicenseFilters", testLicenseFilters},
		{"NamedLicenseCounts", testNamedLicenseCounts},
		{"GroupListFilters", testGroupListFilters},
		{"SeatTotals", testSeatTotals},
		{"SeatEventsObserved", testSeatEventsObserved},
		{"AuditWriteFailuresObserved", testAuditWriteFailuresObserved},
		{"Retention", testRetention},
		{"UsageRollup", testUsageRollup},
		{"UsageRollupRaces", testUsageRollupRaces},
		{"SignInThrottle", testSignInThrottle},
		{"ConcurrentSignInFailures", testConcurrentSignInFailures},
		{"ConsolePrivileges", testConsolePrivileges},
		{"ConsoleSessions", testConsoleSessions},
		{"PasswordLinks", testPasswordLinks},
		{"ConsolePurge", testConsolePurge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, open(t))
		})
	}
}

// newID returns a random UUID (version 4), the shape of SCIM ids.
func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// now returns the current time at millisecond precision, the precision
// stores must keep, in a zone other than UTC so that stores must convert.
func now() time.Time {
	return time.Now().Truncate(time.Millisecond).In(time.FixedZone("UTC+2", 2*3600))
}

// newAccount creates an account with a random name.
func newAccount(t *testing.T, s licensing.Store) licensing.Account {
	t.Helper()
	a := licensing.Account{ID: newID(), Name: "conf-" + newID()[:23], CreatedAt: now()}
	if err := s.CreateAccount(context.Background(), a); err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	return a
}

// newUser returns a user of the account, version 1, not yet stored.
func newUser(accountID, userName string) licensing.User {
	tm := now()
	return licensing.User{
		AccountID:    accountID,
		ID:           newID(),
		UserName:     userName,
		Active:       true,
		Doc:          json.RawMessage(`{}`),
		Created:      tm,
		LastModified: tm,
		Version:      1,
	}
}

// createUser stores u and returns it.
func createUser(t *testing.T, s licensing.Store, u licensing.User) licensing.User {
	t.Helper()
	if err := s.CreateUser(context.Background(), u); err != nil {
		t.Fatalf("CreateUser %q: %v", u.UserName, err)
	}
	return u
}

// newGroup returns a group of the account, version 1, not yet stored.
func newGroup(accountID, displayName string, members ...licensing.Member) licensing.Group {
	tm := now()
	return licensing.Group{
		AccountID:    accountID,
		ID:           newID(),
		DisplayName:  displayName,
		Doc:          json.RawMessage(`{}`),
		Members:      members,
		Created:      tm,
		LastModified: tm,
		Version:      1,
	}
}

// createGroup stores g and returns it.
func createGroup(t *testing.T, s licensing.Store, g licensing.Group) licensing.Group {
	t.Helper()
	if err := s.CreateGroup(context.Background(), g); err != nil {
		t.Fatalf("CreateGroup %q: %v", g.DisplayName, err)
	}
	return g
}

// member names a member by id, without type or display.
func member(id string) licensing.Member { return licensing.Member{ID: id} }

// wantErr fails unless err matches target (nil: no error).
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	switch {
	case target == nil && err != nil:
		t.Fatalf("%s: unexpected error %v", what, err)
	case target != nil && !errors.Is(err, target):
		t.Fatalf("%s: error %v, want %v", what, err, target)
	}
}

// wantTime fails unless got is want, in UTC.
func wantTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
	if got.Location() != time.UTC {
		t.Errorf("%s is in %v, want UTC", what, got.Location())
	}
}

// wantJSON fails unless got and want hold the same JSON value.
func wantJSON(t *testing.T, what string, got, want json.RawMessage) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: stored document %q is not JSON: %v", what, got, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s = %s, want %s", what, got, want)
	}
}

// wantUser fails unless got holds what was stored as want.
func wantUser(t *testing.T, got, want licensing.User) {
	t.Helper()
	if got.AccountID != want.AccountID || got.ID != want.ID || got.UserName != want.UserName ||
		got.ExternalID != want.ExternalID || got.DisplayName != want.DisplayName || got.Active != want.Active ||
		got.Version != want.Version {
		t.Errorf("user = %+v, want %+v", got, want)
	}
	wantJSON(t, "user doc", got.Doc, want.Doc)
	wantTime(t, "user created", got.Created, want.Created)
	wantTime(t, "user lastModified", got.LastModified, want.LastModified)
}

// memberSet renders members as sorted "type:id:display" strings.
func memberSet(ms []licensing.Member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = fmt.Sprintf("%s:%s:%s", m.Type, m.ID, m.Display)
	}
	slices.Sort(out)
	return out
}

// wantMembers fails unless ms are exactly want, ordered by member id.
func wantMembers(t *testing.T, what string, ms []licensing.Member, want ...licensing.Member) {
	t.Helper()
	if got, w := memberSet(ms), memberSet(want); !slices.Equal(got, w) {
		t.Errorf("%s members = %v, want %v", what, got, w)
	}
	if !slices.IsSortedFunc(ms, func(a, b licensing.Member) int { return strings.Compare(a.ID, b.ID) }) {
		t.Errorf("%s members are not ordered by id: %v", what, ms)
	}
}

// ids returns the ids of users.
func userIDs(us []licensing.User) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.ID
	}
	return out
}
