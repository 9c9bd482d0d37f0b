package scim

import (
	"testing"

	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/schemas"
)

// TestListQuerySkipsLinks checks that a listing reads a group's members
// and a user's groups exactly when the projection may return them.
func TestListQuerySkipsLinks(t *testing.T) {
	user, group := schemas.User(licensing.DefaultCatalog()), schemas.Group(licensing.DefaultCatalog())
	cases := []struct {
		name      string
		rt        schemas.Resource
		attrs     []string
		excluded  []string
		wantLinks bool
	}{
		{"user, no projection", user, nil, nil, true},
		{"user, excluded", user, nil, []string{"groups"}, false},
		{"user, excluded mis-cased with URN", user, nil, []string{"urn:ietf:params:scim:schemas:core:2.0:user:GROUPS"}, false},
		{"user, a sub-attribute excluded", user, nil, []string{"groups.display"}, true},
		{"user, the core schema excluded", user, nil, []string{schemas.UserURN}, false},
		{"user, other attributes excluded", user, nil, []string{"emails", "meta"}, true},
		{"user, other attributes asked for", user, []string{"userName", "emails.value"}, nil, false},
		{"user, asked for", user, []string{"userName", "groups"}, nil, true},
		{"user, a sub-attribute asked for", user, []string{"groups.value"}, nil, true},
		{"user, asked for with URN", user, []string{"urn:ietf:params:scim:schemas:core:2.0:User:groups.display"}, nil, true},
		{"user, the core schema asked for", user, []string{schemas.UserURN}, nil, true},
		{"user, only an extension asked for", user, []string{schemas.EnterpriseURN}, nil, false},
		{"group, no projection", group, nil, nil, true},
		{"group, excluded", group, nil, []string{"members"}, false},
		{"group, displayName only", group, []string{"displayName"}, nil, false},
		{"group, members.value", group, []string{"members.value"}, nil, true},
		{"group, with URN", group, []string{"urn:ietf:params:scim:schemas:core:2.0:Group:members"}, nil, true},
	}
	for _, c := range cases {
		req := listRequest{StartIndex: 1, Count: 10, Attributes: c.attrs, ExcludedAttributes: c.excluded}
		q, err := req.query(c.rt)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := !q.WithoutGroups && !q.WithoutMembers; got != c.wantLinks {
			t.Errorf("%s: reads links %t, want %t", c.name, got, c.wantLinks)
		}
		if c.rt.Name == "User" && q.WithoutMembers || c.rt.Name == "Group" && q.WithoutGroups {
			t.Errorf("%s: skips the other resource type's link: %+v", c.name, q)
		}
	}
}
