package scim

import (
	"net/http"
	"strings"

	"github.com/scimd/scimd/schemas"
)

// spcType is the ServiceProviderConfig as a resource type, so that its
// answer is projected like any resource's (attributes, excludedAttributes,
// returned "request").
var spcType = schemas.Resource{Name: "ServiceProviderConfig", Core: schemas.ServiceProviderConfig()}

// serviceProviderConfig describes exactly what this server supports
// (RFC 7643 §5, RFC 9865 §4). elimity's own document hard-codes sort, etag
// and bulk as unsupported, so scimd serves this one instead (Bulk is
// served by bulk.go). It holds every attribute; serveServiceProviderConfig
// leaves out RFC 9865's pagination unless the client asks for it (see
// schemas.PaginationAttribute).
func (s *Server) serviceProviderConfig(base string) map[string]any {
	return map[string]any{
		"schemas":          []string{schemas.ServiceProviderConfigURN},
		"documentationUri": "https://github.com/scimd/scimd#readme",
		"patch":            map[string]any{"supported": true},
		"bulk":             map[string]any{"supported": true, "maxOperations": s.opts.MaxBulkOperations, "maxPayloadSize": s.opts.MaxBulkPayloadBytes},
		"filter":           map[string]any{"supported": true, "maxResults": s.opts.MaxPageSize},
		"changePassword":   map[string]any{"supported": true},
		"sort":             map[string]any{"supported": true},
		"etag":             map[string]any{"supported": true},
		schemas.PaginationAttribute: map[string]any{
			"cursor":                  true,
			"index":                   true,
			"defaultPaginationMethod": "index",
			"defaultPageSize":         s.opts.DefaultPageSize,
			"maxPageSize":             s.opts.MaxPageSize,
		},
		"authenticationSchemes": []map[string]any{{
			"type":        "oauthbearertoken",
			"name":        "OAuth Bearer Token",
			"description": "A bearer token of scope scim, made with `scimd token create`, sent as Authorization: Bearer <token>.",
			"specUri":     "https://www.rfc-editor.org/rfc/rfc6750",
			"primary":     true,
		}},
		"meta": map[string]any{
			"resourceType": "ServiceProviderConfig",
			"location":     base + "/ServiceProviderConfig",
		},
	}
}

// serveServiceProviderConfig answers GET /ServiceProviderConfig with the
// attributes returned by default (a plain RFC 7643 document), or those the
// attributes and excludedAttributes parameters ask for (RFC 7644 section
// 3.4.2.5): ?attributes=pagination adds RFC 9865's pagination.
func (s *Server) serveServiceProviderConfig(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	spc := project(s.serviceProviderConfig(s.base(r)), spcType, splitAttributes(q.Get("attributes")), splitAttributes(q.Get("excludedAttributes")))
	s.writeJSON(w, r, http.StatusOK, spc)
}

// isSPCSchema reports whether a resource of a /Schemas answer is the
// ServiceProviderConfig's schema, which scimd describes itself
// (schemas.ServiceProviderConfig) in place of elimity's.
func isSPCSchema(res any) bool {
	m, _ := res.(map[string]any)
	id, _ := m["id"].(string)
	return strings.EqualFold(id, schemas.ServiceProviderConfigURN)
}
