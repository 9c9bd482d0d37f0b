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
	// GroupLicensingURN is the licensing extension of Group: the same
	// attributes, which the group's members inherit.
	GroupLicensingURN = licensing.GroupLicensingURN
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
	// LicensingURN is the URN of the resource type's licensing extension,
	// "" if it has none.
	LicensingURN string
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
		Name:         "User",
		Endpoint:     "/Users",
		Core:         schema.CoreUserSchema(),
		Extensions:   []schema.Schema{schema.ExtensionEnterpriseUser(), Licensing(c)},
		Catalog:      c,
		LicensingURN: LicensingURN,
	}
}

// Group is the Group resource type: core Group plus the group licensing
// extension of the catalog c.
func Group(c licensing.Catalog) Resource {
	return Resource{
		Name:         "Group",
		Endpoint:     "/Groups",
		Core:         groupSchema(),
		Extensions:   []schema.Schema{GroupLicensing(c)},
		Catalog:      c,
		LicensingURN: GroupLicensingURN,
	}
}

// LicenseValues are the values of every licensing extension attribute.
var LicenseValues = []string{string(licensing.LicenseNamed), string(licensing.LicenseConcurrent), string(licensing.LicenseNone)}

// Licensing is the licensing extension schema of the catalog c: one
// single-valued, case-insensitive string attribute per product, named
// Product.Attribute() (remote-support-v5 -> remoteSupportV5), whose
// canonical values are named, concurrent and none. It is single-valued
// strings only because that is all Entra ID can send for a custom
// extension attribute. They are the user's direct assignments; the
// read-only licenses attribute lists the licenses in force and pending,
// direct or inherited from groups.
func Licensing(c licensing.Catalog) schema.Schema {
	attrs := productAttributes(c, "the user holds")
	attrs = append(attrs, licensesAttribute())
	return schema.Schema{
		ID:          LicensingURN,
		Name:        optional.NewString("Licensing"),
		Description: optional.NewString("The products a user is licensed for directly, one attribute per product of the catalog, and the licenses in force."),
		Attributes:  attrs,
	}
}

// GroupLicensing is the licensing extension schema of groups: the product
// attributes of Licensing, which every member of the group (directly or
// through nested groups) inherits.
func GroupLicensing(c licensing.Catalog) schema.Schema {
	return schema.Schema{
		ID:          GroupLicensingURN,
		Name:        optional.NewString("Group licensing"),
		Description: optional.NewString("The products a group gives its members, one attribute per product of the catalog."),
		Attributes:  productAttributes(c, "the group's members hold"),
	}
}

// productAttributes are the product attributes of a licensing extension.
func productAttributes(c licensing.Catalog, who string) []schema.CoreAttribute {
	attrs := make([]schema.CoreAttribute, 0, len(c.Products)+1)
	for _, p := range c.Products {
		attrs = append(attrs, schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
			CanonicalValues: append([]string(nil), LicenseValues...),
			CaseExact:       false,
			Description: optional.NewString(fmt.Sprintf(
				"How %s %s (product %s): named (a seat of its own), concurrent (a seat from the shared pool while in a session) or none.",
				who, p.Name, p.ID)),
			Mutability: schema.AttributeMutabilityReadWrite(),
			Name:       p.Attribute(),
			Uniqueness: schema.AttributeUniquenessNone(),
		})))
	}
	return attrs
}

// licensesAttribute is the read-only list of a user's licenses in force
// and pending: a client writing it is ignored (RFC 7643 section 7,
// readOnly).
func licensesAttribute() schema.CoreAttribute {
	readOnly := func(p schema.StringParams) schema.SimpleParams {
		p.Mutability = schema.AttributeMutabilityReadOnly()
		return schema.SimpleStringParams(p)
	}
	return schema.ComplexCoreAttribute(schema.ComplexParams{
		Description: optional.NewString("The user's licenses in force (status active) and waiting for a named seat (status pending), " +
			"with their sources: direct, or the ids of the groups giving them. Filterable by product, license and status."),
		MultiValued: true,
		Mutability:  schema.AttributeMutabilityReadOnly(),
		Name:        licensing.LicensesAttr,
		SubAttributes: []schema.SimpleParams{
			readOnly(schema.StringParams{Name: "product", CaseExact: true, Description: optional.NewString("The product id.")}),
			readOnly(schema.StringParams{Name: "license", CanonicalValues: []string{"named", "concurrent"},
				Description: optional.NewString("The license type.")}),
			readOnly(schema.StringParams{Name: "status", CanonicalValues: []string{"active", "pending"},
				Description: optional.NewString("active: in force; pending: waiting for a named seat of the product.")}),
			readOnly(schema.StringParams{Name: "reason", CanonicalValues: []string{licensing.ReasonNamedSeatsExhausted},
				Description: optional.NewString("Why a pending license waits.")}),
			readOnly(schema.StringParams{Name: "sources", MultiValued: true, CaseExact: true,
				Description: optional.NewString("direct, or the ids of the groups giving the license.")}),
		},
	})
}

func equalFold(a, b string) bool { return strings.EqualFold(a, b) }
