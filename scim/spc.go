package scim

// serviceProviderConfig describes exactly what this server supports
// (RFC 7643 §5, RFC 9865 §4). elimity's own document hard-codes sort, etag
// and bulk as unsupported, so scimd serves this one instead; Bulk is
// served by bulk.go.
func (s *Server) serviceProviderConfig(base string) map[string]any {
	return map[string]any{
		"schemas":          []string{"urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"},
		"documentationUri": "https://github.com/scimd/scimd#readme",
		"patch":            map[string]any{"supported": true},
		"bulk":             map[string]any{"supported": true, "maxOperations": s.opts.MaxBulkOperations, "maxPayloadSize": s.opts.MaxBulkPayloadBytes},
		"filter":           map[string]any{"supported": true, "maxResults": s.opts.MaxPageSize},
		"changePassword":   map[string]any{"supported": true},
		"sort":             map[string]any{"supported": true},
		"etag":             map[string]any{"supported": true},
		"pagination": map[string]any{
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
