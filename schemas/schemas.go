package schemas

import (
	"fmt"
	"strings"

	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"

	"github.com/scimd/scimd/licensing"
)

// URNs of the schemas scimd serves.
const (
	UserURN       = "urn:ietf:params:scim:schemas:core:2.0:User"
	GroupURN      = "urn:ietf:params:scim:schemas:core:2.0:Group"
	EnterpriseURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	// LicensingURN is the licensing extension of User: one attribute per
	// product of the catalog (see Licensing).
	LicensingURN = licensing.LicensingURN
)

// Resource is a resource type's core schema with its extensions.
type Resource struct {
	Name       string
	Endpoint   string
	Core       schema.Schema
	Extensions []schema.Schema
	// Catalog is the product catalog the licensing extension was made
	// from; empty for resource types without that extension.
	Catalog licensing.Catalog
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

// User is the User resource type: core User plus the enterprise extension
// and the licensing extension of the catalog c.
func User(c licensing.Catalog) Resource {
	return Resource{
		Name:       "User",
		Endpoint:   "/Users",
		Core:       schema.CoreUserSchema(),
		Extensions: []schema.Schema{schema.ExtensionEnterpriseUser(), Licensing(c)},
		Catalog:    c,
	}
}

// Group is the Group resource type.
func Group() Resource {
	return Resource{
		Name:     "Group",
		Endpoint: "/Groups",
		Core:     groupSchema(),
	}
}

// LicenseValues are the values of every licensing extension attribute.
var LicenseValues = []string{string(licensing.LicenseNamed), string(licensing.LicenseConcurrent), string(licensing.LicenseNone)}

// Licensing is the licensing extension schema of the catalog c: one
// single-valued, case-insensitive string attribute per product, named
// Product.Attribute() (remote-support-v5 -> remoteSupportV5), whose
// canonical values are named, concurrent and none. It is single-valued
// strings only because that is all Entra ID can send for a custom
// extension attribute.
func Licensing(c licensing.Catalog) schema.Schema {
	attrs := make([]schema.CoreAttribute, 0, len(c.Products))
	for _, p := range c.Products {
		attrs = append(attrs, schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
			CanonicalValues: append([]string(nil), LicenseValues...),
			CaseExact:       false,
			Description: optional.NewString(fmt.Sprintf(
				"How the user holds %s (product %s): named (a seat of its own), concurrent (a seat from the shared pool while in a session) or none.",
				p.Name, p.ID)),
			Mutability: schema.AttributeMutabilityReadWrite(),
			Name:       p.Attribute(),
			Uniqueness: schema.AttributeUniquenessNone(),
		})))
	}
	return schema.Schema{
		ID:          LicensingURN,
		Name:        optional.NewString("Licensing"),
		Description: optional.NewString("The products a user is licensed for, one attribute per product of the catalog."),
		Attributes:  attrs,
	}
}

func equalFold(a, b string) bool { return strings.EqualFold(a, b) }
