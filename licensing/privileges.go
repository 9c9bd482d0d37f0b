package licensing

import (
	"fmt"
	"slices"
	"strings"
)

// Privilege is what an admin token may do (DESIGN.md, "Interfaces").
type Privilege string

// The admin privileges.
const (
	// PrivUsers adds, changes and deletes users.
	PrivUsers Privilege = "users"
	// PrivProducts grants and revokes products.
	PrivProducts Privilege = "products"
	// PrivSessions views and ends shared sessions.
	PrivSessions Privilege = "sessions"
	// PrivBilling changes the plan (seat counts).
	PrivBilling Privilege = "billing"
	// PrivRead views everything: users, products, plans, sessions, usage,
	// the audit log and the tokens (never their secrets).
	PrivRead Privilege = "read"
	// PrivTokens makes and revokes tokens.
	PrivTokens Privilege = "tokens"
)

// AllPrivileges lists every privilege, in a stable order.
var AllPrivileges = []Privilege{PrivUsers, PrivProducts, PrivSessions, PrivBilling, PrivRead, PrivTokens}

// ParsePrivileges reads a comma-separated list of privileges (or "all"),
// returning them sorted without repeats. An unknown name is ErrInvalid.
func ParsePrivileges(s string) ([]Privilege, error) {
	var out []Privilege
	for _, f := range strings.Split(s, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		switch {
		case f == "":
			continue
		case f == "all":
			out = append(out, AllPrivileges...)
		case slices.Contains(AllPrivileges, Privilege(f)):
			out = append(out, Privilege(f))
		default:
			return nil, fmt.Errorf("%w: unknown privilege %q (want %s or all)", ErrInvalid, f, strings.ReplaceAll(FormatPrivileges(AllPrivileges), ",", ", "))
		}
	}
	return NormalizePrivileges(out), nil
}

// NormalizePrivileges sorts privileges and drops repeats.
func NormalizePrivileges(ps []Privilege) []Privilege {
	out := slices.Clone(ps)
	slices.Sort(out)
	return slices.Compact(out)
}

// FormatPrivileges is the comma-separated form ParsePrivileges reads.
func FormatPrivileges(ps []Privilege) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = string(p)
	}
	return strings.Join(s, ",")
}

// Has reports whether the principal holds any of the privileges.
func (p Principal) Has(any ...Privilege) bool {
	for _, want := range any {
		if slices.Contains(p.Privileges, want) {
			return true
		}
	}
	return false
}

// Lacks returns the privileges of need the principal does not hold.
func (p Principal) Lacks(need ...Privilege) []Privilege {
	var missing []Privilege
	for _, n := range need {
		if !p.Has(n) {
			missing = append(missing, n)
		}
	}
	return missing
}

// TokenNeeds returns the privileges that making a token of the scope
// (with the privileges, for scope admin) takes besides the tokens
// privilege, so that nobody makes a token that may do more than they may:
// an admin token's own privileges; for a SCIM token, which adds and
// deletes users and grants their products, users and products; for an
// agent token, which can take a shared seat as its user, sessions.
func TokenNeeds(scope Scope, privileges []Privilege) []Privilege {
	switch scope {
	case ScopeAdmin:
		return privileges
	case ScopeSCIM:
		return []Privilege{PrivProducts, PrivUsers}
	case ScopeAgent:
		return []Privilege{PrivSessions}
	}
	return nil
}
