package schemas

import (
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"
)

// groupSchema is the core Group schema of RFC 7643 section 4.2 as scimd
// serves it. It is elimity's CoreGroupSchema except for the members'
// display: scimd does not store what a client sends there but shows the
// member's current displayName (a user's userName when it has none), so
// display is readOnly and a display sent by a client is ignored rather
// than refused as a change of an immutable value (issue 11, item 3).
// RFC 7643 section 8.7.1 defines value, $ref and type, all immutable;
// display is one of the default sub-attributes of section 2.4. And
// displayName is unique in the account (uniqueness server, where RFC 7643
// has none): identity providers find a group by its displayName.
func groupSchema() schema.Schema {
	immutable := func(p schema.StringParams) schema.SimpleParams {
		p.Mutability = schema.AttributeMutabilityImmutable()
		return schema.SimpleStringParams(p)
	}
	return schema.Schema{
		ID:          GroupURN,
		Name:        optional.NewString("Group"),
		Description: optional.NewString("Group"),
		Attributes: []schema.CoreAttribute{
			schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
				Description: optional.NewString("The group's name for people. REQUIRED."),
				Name:        "displayName",
				Required:    true,
				Uniqueness:  schema.AttributeUniquenessServer(),
			})),
			schema.ComplexCoreAttribute(schema.ComplexParams{
				Description: optional.NewString("The users and groups that belong to the group."),
				MultiValued: true,
				Name:        "members",
				SubAttributes: []schema.SimpleParams{
					immutable(schema.StringParams{
						Description: optional.NewString("The id of the member, a user or group of the same account."),
						Name:        "value",
					}),
					schema.SimpleReferenceParams(schema.ReferenceParams{
						Description:    optional.NewString("The URI of the member's resource."),
						Mutability:     schema.AttributeMutabilityImmutable(),
						Name:           "$ref",
						ReferenceTypes: []schema.AttributeReferenceType{"User", "Group"},
					}),
					immutable(schema.StringParams{
						CanonicalValues: []string{"User", "Group"},
						Description:     optional.NewString("Whether the member is a User or a Group."),
						Name:            "type",
					}),
					schema.SimpleStringParams(schema.StringParams{
						Description: optional.NewString("The member's displayName as the server knows it (a user's userName when the user has none)."),
						Mutability:  schema.AttributeMutabilityReadOnly(),
						Name:        "display",
					}),
				},
			}),
		},
	}
}
