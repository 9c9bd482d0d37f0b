package scim

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"

	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/schemas"
)

// This file serves the Entitlement resource type (/Entitlements): one
// read-only resource per product of the catalog and license type, with
// the seat numbers of the caller's account, for the clients that assign
// licenses as entitlements (Okta Identity Governance discovers them
// here). The list is the catalog's, a few resources long: filters,
// sortBy and paging are applied in memory, with the semantics the store
// gives them for users and groups.

// entitlementsList names the Entitlements listing for cursors.
const entitlementsList = "scim/Entitlements"

// errEntitlementsReadOnly answers a write to /Entitlements: RFC 7644
// section 3.12 gives 501 to an operation the service provider does not
// support.
var errEntitlementsReadOnly = &requestError{Status: http.StatusNotImplemented,
	Detail: "Entitlements are read-only: they are the catalog's products and license types. Assign one to a user through the user's entitlements, roles or licensing extension."}

// isEntitlementsPath reports whether path is /Entitlements or under it.
func (s *Server) isEntitlementsPath(path string) bool {
	return path == s.entitlements.Endpoint || strings.HasPrefix(path, s.entitlements.Endpoint+"/")
}

// serveEntitlements answers a request on /Entitlements: GET of the list
// or of one, POST .search; anything else is refused.
func (s *Server) serveEntitlements(w http.ResponseWriter, r *http.Request, path string, body []byte) {
	rest := strings.TrimPrefix(path, s.entitlements.Endpoint)
	switch {
	case r.Method == http.MethodGet && rest == "":
		req, err := s.parseListQuery(r.URL.Query())
		s.serveEntitlementList(w, r, req, err)
	case r.Method == http.MethodPost && rest == "/.search":
		req, err := s.parseSearchBody(body)
		s.serveEntitlementList(w, r, req, err)
	case r.Method == http.MethodGet:
		s.serveEntitlement(w, r, strings.TrimPrefix(rest, "/"))
	default:
		s.writeError(w, r, s.entitlements.Name, errEntitlementsReadOnly)
	}
}

// serveEntitlement answers GET /Entitlements/{id}.
func (s *Server) serveEntitlement(w http.ResponseWriter, r *http.Request, id string) {
	e, ok := s.users.Catalog.Entitlement(id)
	if !ok {
		s.writeError(w, r, s.entitlements.Name, newRequestError(http.StatusNotFound, "", "Entitlement %q not found: the entitlements are the catalog's products with a license type, e.g. %s.", quotable(id), s.users.Catalog.Entitlements()[0].ID()))
		return
	}
	usage, err := s.usageByProduct(r.Context())
	if err != nil {
		s.writeError(w, r, s.entitlements.Name, err)
		return
	}
	q := r.URL.Query()
	res := entitlementResource(e, usage[e.Product.ID], s.base(r))
	s.writeJSON(w, r, http.StatusOK, project(res, s.entitlements, splitAttributes(q.Get("attributes")), splitAttributes(q.Get("excludedAttributes"))))
}

// serveEntitlementList answers GET /Entitlements and its POST .search.
func (s *Server) serveEntitlementList(w http.ResponseWriter, r *http.Request, req listRequest, err error) {
	if err != nil {
		s.writeError(w, r, s.entitlements.Name, err)
		return
	}
	resources, total, next, err := s.listEntitlements(r.Context(), req, s.base(r))
	if err != nil {
		s.writeError(w, r, s.entitlements.Name, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, listEnvelope(req, total, next, resources))
}

// listEntitlements returns one page of the entitlements the request
// selects, projected, with the number selected and the next cursor.
func (s *Server) listEntitlements(ctx context.Context, req listRequest, base string) ([]any, int, string, error) {
	rt := s.entitlements
	var cond licensing.Cond
	if req.Filter != "" {
		c, err := compileFilter(req.Filter, rt)
		if err != nil {
			return nil, 0, "", err
		}
		cond = c
	}
	sortBy, _, err := compileSortBy(req.SortBy, rt)
	if err != nil {
		return nil, 0, "", err
	}
	accountID := principal(ctx).AccountID
	offset := req.StartIndex - 1
	if req.Cursor != nil {
		pos, err := s.opts.Cursors.Open(accountID, entitlementsList, *req.Cursor)
		if err != nil {
			return nil, 0, "", errInvalidCursor
		}
		if offset = 0; pos != "" {
			if offset, err = strconv.Atoi(pos); err != nil || offset < 0 {
				return nil, 0, "", errInvalidCursor
			}
		}
	}
	usage, err := s.usageByProduct(ctx)
	if err != nil {
		return nil, 0, "", err
	}
	var selected []map[string]any
	for _, e := range rt.Catalog.Entitlements() {
		res := entitlementResource(e, usage[e.Product.ID], base)
		if cond == nil || evalCond(cond, res) {
			selected = append(selected, res)
		}
	}
	if sortBy != nil {
		slices.SortStableFunc(selected, func(a, b map[string]any) int {
			c := compareValues(*sortBy, a, b)
			if req.Descending {
				return -c
			}
			return c
		})
	}
	start, end := min(offset, len(selected)), min(offset+req.Count, len(selected))
	resources := make([]any, 0, end-start)
	for _, res := range selected[start:end] {
		resources = append(resources, project(res, rt, req.Attributes, req.ExcludedAttributes))
	}
	next := ""
	if req.Cursor != nil && end < len(selected) {
		next = s.opts.Cursors.Seal(accountID, entitlementsList, strconv.Itoa(end))
	}
	return resources, len(selected), next, nil
}

// compareValues orders two resources by the attribute sortBy names;
// resources without a value sort last, as the store sorts them.
func compareValues(by licensing.Attr, a, b map[string]any) int {
	va, okA := valueAt(a, by.Path)
	vb, okB := valueAt(b, by.Path)
	if !okA || !okB {
		return cmp.Compare(boolRank(!okA), boolRank(!okB))
	}
	switch x := va.(type) {
	case string:
		y, _ := vb.(string)
		if !by.CaseExact {
			x, y = strings.ToLower(x), strings.ToLower(y)
		}
		return strings.Compare(x, y)
	case int:
		y, _ := vb.(int)
		return cmp.Compare(x, y)
	case bool:
		y, _ := vb.(bool)
		return cmp.Compare(boolRank(x), boolRank(y))
	}
	return 0
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// usageByProduct reads the caller's account's plans and their usage, by
// product id.
func (s *Server) usageByProduct(ctx context.Context) (map[string]licensing.Usage, error) {
	usage, err := s.store.Usage(ctx, principal(ctx).AccountID)
	if err != nil {
		return nil, fmt.Errorf("read the seat usage: %w", err)
	}
	out := make(map[string]licensing.Usage, len(usage))
	for _, u := range usage {
		out[u.ProductID] = u
	}
	return out, nil
}

// entitlementResource is the full representation of an entitlement with
// the seat numbers of u (zero without a plan).
func entitlementResource(e licensing.Entitlement, u licensing.Usage, base string) map[string]any {
	res := map[string]any{
		"schemas":     []string{schemas.EntitlementURN},
		"id":          e.ID(),
		"value":       e.ID(),
		"displayName": e.DisplayName(),
		"display":     e.DisplayName(),
		"type":        string(e.Type),
		"description": e.Description(),
		"meta":        map[string]any{"resourceType": "Entitlement", "location": base + "/Entitlements/" + e.ID()},
	}
	if e.Type == licensing.LicenseNamed {
		res["limitedAssignmentsPermitted"] = true
		res["totalAssignmentsPermitted"] = u.NamedSeats
		res["totalAssignmentsUsed"] = u.NamedAssigned
		res["seats"], res["seatsUsed"] = u.NamedSeats, u.NamedAssigned
	} else {
		res["limitedAssignmentsPermitted"] = false
		res["seats"], res["seatsUsed"] = u.ConcurrentSeats, u.ConcurrentOccupied
	}
	return res
}

// readOnlyHandler is the handler elimity holds for the Entitlement
// resource type, so that it lists the type under /ResourceTypes and its
// schema under /Schemas. Server.ServeHTTP answers every request on
// /Entitlements itself: elimity never calls it.
type readOnlyHandler struct{}

// errNotRouted is the stub's answer, should elimity ever call it: the
// read-only error, as a SCIM error so that elimity sends it as is.
var errNotRouted = scimerrors.ScimError{Status: http.StatusNotImplemented, Detail: errEntitlementsReadOnly.Detail}

func (readOnlyHandler) Create(*http.Request, scim.ResourceAttributes) (scim.Resource, error) {
	return scim.Resource{}, errNotRouted
}
func (readOnlyHandler) Get(*http.Request, string) (scim.Resource, error) {
	return scim.Resource{}, errNotRouted
}
func (readOnlyHandler) GetAll(*http.Request, scim.ListRequestParams) (scim.Page, error) {
	return scim.Page{}, errNotRouted
}
func (readOnlyHandler) Replace(*http.Request, string, scim.ResourceAttributes) (scim.Resource, error) {
	return scim.Resource{}, errNotRouted
}
func (readOnlyHandler) Delete(*http.Request, string) error { return errNotRouted }
func (readOnlyHandler) Patch(*http.Request, string, []scim.PatchOperation) (scim.Resource, error) {
	return scim.Resource{}, errNotRouted
}
