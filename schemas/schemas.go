package schemas

import (
	"strings"

	"github.com/elimity-com/scim/schema"
)

// URNs of the schemas scimd serves.
const (
	UserURN       = "urn:ietf:params:scim:schemas:core:2.0:User"
	GroupURN      = "urn:ietf:params:scim:schemas:core:2.0:Group"
	EnterpriseURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
)

// Resource is a resource type's core schema with its extensions.
type Resource struct {
	Name       string
	Endpoint   string
	Core       schema.Schema
	Extensions []schema.Schema
}

// Extension returns the extension with the URN, compared
// case-insensitively, and whether there is one.
func (r Resource) Extension(urn string) (schema.Schema, bool) {
	for _, e := range r.Extensions {
		if equalFold(e.ID, urn) {
			return e, true
		}
	}
	return schema.Schema{}, false
}

// User is the User resource type: core User plus the enterprise extension.
func User() Resource {
	return Resource{
		Name:       "User",
		Endpoint:   "/Users",
		Core:       schema.CoreUserSchema(),
		Extensions: []schema.Schema{schema.ExtensionEnterpriseUser()},
	}
}

// Group is the Group resource type.
func Group() Resource {
	return Resource{
		Name:     "Group",
		Endpoint: "/Groups",
		Core:     schema.CoreGroupSchema(),
	}
}

func equalFold(a, b string) bool { return strings.EqualFold(a, b) }
