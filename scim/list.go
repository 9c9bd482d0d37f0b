package scim

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/elimity-com/scim"

	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/schemas"
)

const (
	listResponseURN  = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	searchRequestURN = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
)

// listRequest is a list or search request, from a query string or a
// SearchRequest body.
type listRequest struct {
	Filter     string
	SortBy     string
	Descending bool
	StartIndex int
	Count      int
	// Cursor is non-nil when the client asked for cursor paging
	// (RFC 9865); "" asks for the first page.
	Cursor             *string
	Attributes         []string
	ExcludedAttributes []string
}

// parseListQuery reads a list request from the URL query of a GET.
func (s *Server) parseListQuery(q url.Values) (listRequest, error) {
	req := listRequest{
		Filter:             q.Get("filter"),
		SortBy:             q.Get("sortBy"),
		Attributes:         splitAttributes(q.Get("attributes")),
		ExcludedAttributes: splitAttributes(q.Get("excludedAttributes")),
	}
	var err error
	if req.Descending, err = parseSortOrder(q.Get("sortOrder")); err != nil {
		return req, err
	}
	var startIndex, count *int
	for name, dst := range map[string]**int{"startIndex": &startIndex, "count": &count} {
		if v := q.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return req, errInvalidValue("%s must be an integer, not %q", name, v)
			}
			*dst = &n
		}
	}
	if q.Has("cursor") {
		c := q.Get("cursor")
		req.Cursor = &c
	}
	return req, s.finishListRequest(&req, startIndex, count)
}

// parseSearchBody reads a list request from a POST .search body.
func (s *Server) parseSearchBody(body []byte) (listRequest, error) {
	var sr struct {
		Schemas            []string `json:"schemas"`
		Filter             string   `json:"filter"`
		SortBy             string   `json:"sortBy"`
		SortOrder          string   `json:"sortOrder"`
		StartIndex         *int     `json:"startIndex"`
		Count              *int     `json:"count"`
		Cursor             *string  `json:"cursor"`
		Attributes         []string `json:"attributes"`
		ExcludedAttributes []string `json:"excludedAttributes"`
	}
	if err := json.Unmarshal(body, &sr); err != nil {
		return listRequest{}, errInvalidSyntax("The search request is not valid JSON of the SearchRequest shape.")
	}
	if len(sr.Schemas) != 1 || sr.Schemas[0] != searchRequestURN {
		return listRequest{}, errInvalidSyntax("schemas must be [%q].", searchRequestURN)
	}
	req := listRequest{
		Filter:             sr.Filter,
		SortBy:             sr.SortBy,
		Cursor:             sr.Cursor,
		Attributes:         sr.Attributes,
		ExcludedAttributes: sr.ExcludedAttributes,
	}
	var err error
	if req.Descending, err = parseSortOrder(sr.SortOrder); err != nil {
		return req, err
	}
	return req, s.finishListRequest(&req, sr.StartIndex, sr.Count)
}

func (s *Server) finishListRequest(req *listRequest, startIndex, count *int) error {
	if req.Cursor != nil && startIndex != nil {
		return errInvalidValue("startIndex and cursor cannot be used together.")
	}
	req.StartIndex = 1
	if startIndex != nil && *startIndex > 1 {
		req.StartIndex = *startIndex
	}
	req.Count = s.opts.DefaultPageSize
	if count != nil {
		req.Count = min(max(*count, 0), s.opts.MaxPageSize)
	}
	return nil
}

func parseSortOrder(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "", "ascending":
		return false, nil
	case "descending":
		return true, nil
	}
	return false, errInvalidValue("sortOrder must be ascending or descending, not %q.", s)
}

func splitAttributes(s string) []string {
	var out []string
	for _, a := range strings.Split(s, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// page is one page of resources of one type, ready to render.
type page struct {
	rt        schemas.Resource
	total     int
	resources []scim.Resource
	next      string
}

// query turns a list request into a store query for the resource type.
func (req listRequest) query(rt schemas.Resource) (licensing.Query, error) {
	q := licensing.Query{Offset: req.StartIndex - 1, Limit: req.Count, Descending: req.Descending}
	if req.Filter != "" {
		cond, err := compileFilter(req.Filter, rt)
		if err != nil {
			return q, err
		}
		q.Filter = cond
	}
	if req.SortBy != "" {
		attr, elements, err := compileSortBy(req.SortBy, rt)
		if err != nil {
			return q, err
		}
		q.SortBy, q.SortElements = attr, elements
	}
	if req.Cursor != nil {
		q.Offset, q.After = 0, *req.Cursor
	}
	switch {
	case rt.Name == "Group" && !wantsAttribute(req, rt, "members"):
		q.WithoutMembers = true
	case rt.Name == "User" && !wantsAttribute(req, rt, "groups"):
		q.WithoutGroups = true
	}
	return q, nil
}

// wantsAttribute reports whether the projection of the request's
// attributes / excludedAttributes (see project) may keep the top-level
// core attribute name of rt, so that a listing can skip reading it.
func wantsAttribute(req listRequest, rt schemas.Resource, name string) bool {
	inc, exc := newSelection(rt, req.Attributes), newSelection(rt, req.ExcludedAttributes)
	if e := exc.lookup("", name); exc.containers[""] || (e != nil && e.whole) {
		return false
	}
	return !inc.given || inc.containers[""] || inc.lookup("", name) != nil
}

// list runs a list request against one resource type.
func (s *Server) list(ctx context.Context, rt schemas.Resource, req listRequest, base string) (page, error) {
	q, err := req.query(rt)
	if err != nil {
		return page{}, err
	}
	accountID := principal(ctx).AccountID
	list := "scim" + rt.Endpoint
	if q.After, err = s.opts.Cursors.Open(accountID, list, q.After); err != nil {
		return page{}, errInvalidCursor
	}
	out := page{rt: rt}
	switch rt.Name {
	case "User":
		p, err := s.store.Users(ctx, accountID, q)
		if err != nil {
			return page{}, storeListError(err, q)
		}
		out.total, out.next = p.Total, p.Next
		for _, u := range p.Items {
			r, err := userResource(rt.Catalog, u, base)
			if err != nil {
				return page{}, err
			}
			out.resources = append(out.resources, r)
		}
	case "Group":
		p, err := s.store.Groups(ctx, accountID, q)
		if err != nil {
			return page{}, storeListError(err, q)
		}
		out.total, out.next = p.Total, p.Next
		for _, g := range p.Items {
			attrs, err := groupAttributes(rt.Catalog, g, base, !q.WithoutMembers)
			if err != nil {
				return page{}, err
			}
			out.resources = append(out.resources, resource(g.ID, g.ExternalID, attrs, g.Created, g.LastModified, etag(g.Version, nil, nil)))
		}
	}
	out.next = s.opts.Cursors.Seal(accountID, list, out.next)
	return out, nil
}

// errInvalidCursor answers a cursor this server did not issue for the
// list and the caller's account, or one changed since (RFC 9865).
var errInvalidCursor = &requestError{Status: http.StatusBadRequest, ScimType: "invalidCursor",
	Detail: "The cursor is not the nextCursor of an earlier page of this list, unchanged; start again without a cursor."}

// storeListError maps the store's refusal of a query to a client error:
// with a cursor, the cursor (one the store cannot continue from); without
// one, the filter or sort the store cannot run.
func storeListError(err error, q licensing.Query) error {
	switch {
	case !errors.Is(err, licensing.ErrInvalid):
		return err
	case q.After != "":
		return &requestError{Status: http.StatusBadRequest, ScimType: "invalidCursor", Detail: "The cursor or filter cannot be used; start again without a cursor."}
	default:
		return &requestError{Status: http.StatusBadRequest, ScimType: "invalidFilter", Detail: "The filter or sortBy cannot be run: it names attributes or nests conditions beyond what this server can search."}
	}
}

// listResponse renders pages as a SCIM ListResponse.
func (s *Server) listResponse(req listRequest, base string, total int, next string, pages ...page) map[string]any {
	resources := make([]any, 0, req.Count)
	for _, p := range pages {
		for _, r := range p.resources {
			full := representation(p.rt, r, base+p.rt.Endpoint+"/"+r.ID)
			resources = append(resources, project(full, p.rt, req.Attributes, req.ExcludedAttributes))
		}
	}
	return listEnvelope(req, total, next, resources)
}

// listEnvelope wraps the projected resources of one page in a
// ListResponse: startIndex for index paging, nextCursor (unless this is
// the last page) for cursor paging.
func listEnvelope(req listRequest, total int, next string, resources []any) map[string]any {
	resp := map[string]any{
		"schemas":      []string{listResponseURN},
		"totalResults": total,
		"itemsPerPage": len(resources),
		"Resources":    resources,
	}
	if req.Cursor != nil {
		if next != "" {
			resp["nextCursor"] = next
		}
	} else {
		resp["startIndex"] = req.StartIndex
	}
	return resp
}

// serveList answers GET /Users, GET /Groups and their POST .search.
func (s *Server) serveList(w http.ResponseWriter, r *http.Request, rt schemas.Resource, req listRequest) {
	base := s.base(r)
	p, err := s.list(r.Context(), rt, req, base)
	if err != nil {
		s.writeError(w, r, rt.Name, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, s.listResponse(req, base, p.total, p.next, p))
}

// serveRootList answers GET / and POST /.search: users, then groups, each
// with the filter if it applies to that type (RFC 7644 §3.4.2.1).
func (s *Server) serveRootList(w http.ResponseWriter, r *http.Request, req listRequest) {
	if req.Cursor != nil {
		s.writeError(w, r, "Resource", errInvalidValue("Cursor paging is not supported at the server root; list /Users or /Groups."))
		return
	}
	base := s.base(r)
	var pages []page
	total, offset, count := 0, req.StartIndex-1, req.Count
	var firstErr error
	applies := 0
	for _, rt := range []schemas.Resource{s.users, s.groups} {
		sub := req
		sub.StartIndex, sub.Count = 1, 0
		countOnly, err := s.list(r.Context(), rt, sub, base)
		if err != nil {
			var re *requestError
			if errors.As(err, &re) && re.ScimType == "invalidFilter" {
				firstErr = err
				continue
			}
			s.writeError(w, r, rt.Name, err)
			return
		}
		applies++
		n := countOnly.total
		total += n
		if offset >= n || count == 0 {
			offset = max(offset-n, 0)
			continue
		}
		sub.StartIndex, sub.Count = offset+1, count
		p, err := s.list(r.Context(), rt, sub, base)
		if err != nil {
			s.writeError(w, r, rt.Name, err)
			return
		}
		pages = append(pages, p)
		count -= len(p.resources)
		offset = 0
	}
	if applies == 0 {
		s.writeError(w, r, "Resource", firstErr)
		return
	}
	s.writeJSON(w, r, http.StatusOK, s.listResponse(req, base, total, "", pages...))
}
