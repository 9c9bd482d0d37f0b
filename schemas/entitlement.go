package schemas

import (
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"

	"github.com/scimd/scimd/licensing"
)

// EntitlementURN is the schema of the Entitlement resource type. It is
// Okta's URN, not the one of draft-ietf-scim-roles-entitlements
// (urn:ietf:params:scim:schemas:core:2.0:Entitlement): Okta Identity
// Governance discovers entitlements only from resource types with its
// schema. The attributes are the union of Okta's and the draft's (see
// docs/scim.md).
const EntitlementURN = "urn:okta:scim:schemas:core:1.0:Entitlement"

// Entitlement is the Entitlement resource type: one resource per product
// of the catalog and license type, read-only.
func Entitlement() Resource {
	return Resource{
		Name:     "Entitlement",
		Endpoint: "/Entitlements",
		Core:     entitlementSchema(),
	}
}

func entitlementSchema() schema.Schema {
	str := func(name, description string, caseExact bool, canonical ...string) schema.CoreAttribute {
		return schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
			Name: name, Description: optional.NewString(description), CaseExact: caseExact, CanonicalValues: canonical,
			Mutability: schema.AttributeMutabilityReadOnly(), Returned: schema.AttributeReturnedDefault(), Uniqueness: schema.AttributeUniquenessNone(),
		}))
	}
	return schema.Schema{
		ID:          EntitlementURN,
		Name:        optional.NewString("Entitlement"),
		Description: optional.NewString("A product of the catalog with one license type, as a user's entitlements and roles name it."),
		Attributes: []schema.CoreAttribute{
			str("value", "The value a user's entitlements (or roles) carry to hold it: the same as id, e.g. remote-support-v5:concurrent.", false),
			str("displayName", "The name shown to people, e.g. Remote Support v5 - Concurrent.", false),
			str("display", "The same as displayName (the draft's name for it).", false),
			str("type", "The license type: named (a seat of the user's own) or concurrent (a seat of the shared pool while in a session).", false,
				string(licensing.LicenseNamed), string(licensing.LicenseConcurrent)),
			str("description", "What holding the entitlement means.", false),
			schema.SimpleCoreAttribute(readOnlyBool("limitedAssignmentsPermitted",
				"Whether the plan limits how many users may hold it: true for named, false for concurrent (the pool limits sessions, not assignments).", false)),
			schema.SimpleCoreAttribute(readOnlyInt("totalAssignmentsPermitted", "Named only: how many users may hold it, the plan's named seats (0 without a plan).", false)),
			schema.SimpleCoreAttribute(readOnlyInt("totalAssignmentsUsed", "Named only: how many active users hold a named seat of the product.", false)),
			schema.SimpleCoreAttribute(readOnlyInt("seats", "The plan's seats of this license type (0 without a plan).", false)),
			schema.SimpleCoreAttribute(readOnlyInt("seatsUsed", "The seats of this license type in use: named seats assigned to active users, or concurrent seats occupied by sessions.", false)),
		},
	}
}
