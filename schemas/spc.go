package schemas

import (
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"
)

// ServiceProviderConfigURN is the schema of the ServiceProviderConfig
// resource (RFC 7643 section 5).
const ServiceProviderConfigURN = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"

// PaginationAttribute is RFC 9865's ServiceProviderConfig attribute that
// advertises cursor and index paging. scimd returns it only when a client
// asks for it by name (returned "request"): strict RFC 7643 clients reject
// a ServiceProviderConfig attribute they do not know (see docs/scim.md).
const PaginationAttribute = "pagination"

// ServiceProviderConfig is the schema of the ServiceProviderConfig resource
// as scimd serves it under /Schemas: the attributes of RFC 7643 section 5
// with the types of its section 8.7.2 (integers, external references),
// authenticationSchemes' primary flag as RFC 7643 section 8.5 shows it, and
// RFC 9865's pagination, returned "request". elimity's own version types
// the limits as decimals and lacks the last two.
func ServiceProviderConfig() schema.Schema {
	supported := func(what string) schema.SimpleParams {
		return readOnlyBool("supported", "Whether "+what+" is supported.", true)
	}
	return schema.Schema{
		ID:          ServiceProviderConfigURN,
		Name:        optional.NewString("Service Provider Configuration"),
		Description: optional.NewString("What this SCIM service provider supports."),
		Attributes: []schema.CoreAttribute{
			schema.SimpleCoreAttribute(externalReference("documentationUri", "Where the service provider's documentation for people is.", false)),
			feature("patch", "PATCH support.", true, supported("PATCH")),
			feature("bulk", "Bulk support and its limits.", true, supported("Bulk"),
				readOnlyInt("maxOperations", "The most operations one Bulk request may carry.", true),
				readOnlyInt("maxPayloadSize", "The largest Bulk request body, in bytes.", true)),
			feature("filter", "Filter support and its limit.", true, supported("filtering"),
				readOnlyInt("maxResults", "The most resources one answer holds.", true)),
			feature("changePassword", "Password change support.", true, supported("changing a password")),
			feature("sort", "Sort support.", true, supported("sorting")),
			feature("etag", "ETag support.", true, supported("ETags")),
			schema.ComplexCoreAttribute(schema.ComplexParams{
				Name:        "authenticationSchemes",
				Description: optional.NewString("The authentication schemes the service provider accepts."),
				MultiValued: true,
				Mutability:  schema.AttributeMutabilityReadOnly(),
				Required:    true,
				Returned:    schema.AttributeReturnedDefault(),
				SubAttributes: []schema.SimpleParams{
					readOnlyString("type", "The scheme's keyword: oauth, oauth2, oauthbearertoken, httpbasic or httpdigest.", true),
					readOnlyString("name", "The scheme's common name.", true),
					readOnlyString("description", "How the scheme is used here.", true),
					externalReference("specUri", "Where the scheme's specification is.", false),
					externalReference("documentationUri", "Where the scheme's documentation for people is.", false),
					readOnlyBool("primary", "Whether this is the preferred scheme.", false),
				},
			}),
			schema.ComplexCoreAttribute(schema.ComplexParams{
				Name: PaginationAttribute,
				Description: optional.NewString("RFC 9865: which paging methods the lists support, and their page sizes. " +
					"Returned only when asked for: GET /ServiceProviderConfig?attributes=pagination."),
				Mutability: schema.AttributeMutabilityReadOnly(),
				Returned:   schema.AttributeReturnedRequest(),
				SubAttributes: []schema.SimpleParams{
					readOnlyBool("cursor", "Whether cursor paging (the cursor parameter) is supported.", true),
					readOnlyBool("index", "Whether index paging (the startIndex parameter) is supported.", true),
					schema.SimpleStringParams(schema.StringParams{
						Name:            "defaultPaginationMethod",
						Description:     optional.NewString("The paging method of a list request that names none: cursor or index."),
						CanonicalValues: []string{"cursor", "index"},
						Mutability:      schema.AttributeMutabilityReadOnly(),
						Returned:        schema.AttributeReturnedDefault(),
						Uniqueness:      schema.AttributeUniquenessNone(),
					}),
					readOnlyInt("defaultPageSize", "The page size of a list request without count.", false),
					readOnlyInt("maxPageSize", "The largest page size; a larger count is lowered to it.", false),
					readOnlyInt("cursorTimeout", "How many seconds a cursor stays valid.", false),
				},
			}),
		},
	}
}

// feature is a single-valued, read-only complex attribute of the
// ServiceProviderConfig.
func feature(name, description string, required bool, subs ...schema.SimpleParams) schema.CoreAttribute {
	return schema.ComplexCoreAttribute(schema.ComplexParams{
		Name:          name,
		Description:   optional.NewString(description),
		Mutability:    schema.AttributeMutabilityReadOnly(),
		Required:      required,
		Returned:      schema.AttributeReturnedDefault(),
		SubAttributes: subs,
	})
}

func readOnlyBool(name, description string, required bool) schema.SimpleParams {
	return schema.SimpleBooleanParams(schema.BooleanParams{
		Name: name, Description: optional.NewString(description), Required: required,
		Mutability: schema.AttributeMutabilityReadOnly(), Returned: schema.AttributeReturnedDefault(),
	})
}

func readOnlyInt(name, description string, required bool) schema.SimpleParams {
	return schema.SimpleNumberParams(schema.NumberParams{
		Name: name, Description: optional.NewString(description), Required: required, Type: schema.AttributeTypeInteger(),
		Mutability: schema.AttributeMutabilityReadOnly(), Returned: schema.AttributeReturnedDefault(), Uniqueness: schema.AttributeUniquenessNone(),
	})
}

func readOnlyString(name, description string, required bool) schema.SimpleParams {
	return schema.SimpleStringParams(schema.StringParams{
		Name: name, Description: optional.NewString(description), Required: required,
		Mutability: schema.AttributeMutabilityReadOnly(), Returned: schema.AttributeReturnedDefault(), Uniqueness: schema.AttributeUniquenessNone(),
	})
}

func externalReference(name, description string, required bool) schema.SimpleParams {
	return schema.SimpleReferenceParams(schema.ReferenceParams{
		Name: name, Description: optional.NewString(description), Required: required,
		ReferenceTypes: []schema.AttributeReferenceType{schema.AttributeReferenceTypeExternal},
		Mutability:     schema.AttributeMutabilityReadOnly(), Returned: schema.AttributeReturnedDefault(), Uniqueness: schema.AttributeUniquenessNone(),
	})
}
