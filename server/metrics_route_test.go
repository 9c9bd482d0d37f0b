package server

import "testing"

// TestSCIMRoute checks the templates of paths under the SCIM mount: ids
// become {id}, and any path the adapter does not serve, whatever it
// holds, becomes one template.
func TestSCIMRoute(t *testing.T) {
	for path, want := range map[string]string{
		"":                          "/scim/v2",
		"/":                         "/scim/v2",
		"/Users":                    "/scim/v2/Users",
		"/Users/":                   "/scim/v2/Users",
		"/Users/2819c223-7f76-453a": "/scim/v2/Users/{id}",
		"/Users/.search":            "/scim/v2/Users/.search",
		"/Groups/g1":                "/scim/v2/Groups/{id}",
		"/.search":                  "/scim/v2/.search",
		"/ServiceProviderConfig":    "/scim/v2/ServiceProviderConfig",
		"/Schemas/urn:ietf:params:scim:schemas:core:2.0:User": "/scim/v2/Schemas/{id}",
		"/ResourceTypes/User":      "/scim/v2/ResourceTypes/{id}",
		"/Me":                      "/scim/v2/Me",
		"/Bulk":                    "/scim/v2/Bulk",
		"/Me/x":                    "/scim/v2/{other}",
		"/ServiceProviderConfig/x": "/scim/v2/{other}",
		"/Users/u1/extra":          "/scim/v2/{other}",
		"/users":                   "/scim/v2/{other}",
		"/acme-corp-secret":        "/scim/v2/{other}",
	} {
		if got := scimRoute(path); got != want {
			t.Errorf("scimRoute(%q) = %q, want %q", path, got, want)
		}
	}
}
