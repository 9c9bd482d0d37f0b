package scim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/elimity-com/scim"
	"github.com/elimity-com/scim/optional"

	"github.com/scimd/scimd/internal/logctx"
	"github.com/scimd/scimd/internal/origin"
	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/schemas"
)

// ContentType is the media type of every SCIM response.
const ContentType = "application/scim+json"

// Options configure the SCIM adapter.
type Options struct {
	// BaseURL is the absolute SCIM base URL (…/scim/v2) for Location and
	// meta.location. Empty: the request's public base URL (from its
	// context, see internal/origin) and MountPath.
	BaseURL string
	// MountPath is where the adapter is mounted, e.g. /scim/v2.
	MountPath string
	// DefaultPageSize and MaxPageSize bound list pages.
	DefaultPageSize int
	MaxPageSize     int
	// MaxBodyBytes is the largest request body accepted.
	MaxBodyBytes int64
	// MaxPatchOperations is the most operations a PATCH may carry; a
	// PATCH with more is answered 400 invalidValue. 0: 1000.
	MaxPatchOperations int
	// MaxMultiValues is the most values a User's multi-valued attribute
	// (emails, phoneNumbers, addresses, entitlements, ...) may hold after
	// a write; a write leaving more is answered 400 invalidValue naming
	// the attribute. Group members are bounded by MaxBodyBytes only.
	// 0: 100.
	MaxMultiValues int
	// MaxBulkOperations is the most operations a Bulk request may carry
	// (RFC 7644 section 3.7.4: more is answered 413). 0: 1000.
	MaxBulkOperations int
	// MaxBulkPayloadBytes is the largest Bulk request body accepted (413
	// beyond), in place of MaxBodyBytes; each operation's data is still
	// bounded by MaxBodyBytes. 0: 1 MiB.
	MaxBulkPayloadBytes int64
	// Clock stamps created and lastModified.
	Clock licensing.Clock
	// Catalog is the product catalog the licensing extension of User is
	// made of. Empty: licensing.DefaultCatalog().
	Catalog licensing.Catalog
	// HashPassword turns the password an identity provider sets (SCIM's
	// password attribute) into the slow hash stored as User.PasswordHash,
	// for the agent app's sign-in. scim does not choose the algorithm:
	// cmd passes a password.Pool's Hash. Nil: passwords are accepted and
	// dropped, as before scimd kept them. An error matching
	// licensing.ErrUnavailable (the hash pool is busy) answers 503.
	HashPassword func(ctx context.Context, password string) (string, error)
	// VerifyPassword reports whether password is the one hash was made
	// from (a password.Pool's Verify in its write lane), so that a write
	// repeating the stored password (Okta sends its placeholder again)
	// changes nothing. Nil: every password received is hashed and stored
	// anew. Errors as HashPassword.
	VerifyPassword func(ctx context.Context, hash, password string) (bool, error)
	// Cursors seals the RFC 9865 cursors of the lists (cmd passes the
	// database's, licensing.LoadCursors). Nil:
	// licensing.EphemeralCursors, whose cursors last as long as the
	// process.
	Cursors *licensing.Cursors
}

// Server is the SCIM 2.0 adapter, an http.Handler serving paths relative
// to the SCIM base (/Users, /Groups/{id}, /ServiceProviderConfig, ...).
// Every request must carry a licensing.Principal in its context (the
// server's auth middleware puts it there).
type Server struct {
	store  licensing.Store
	opts   Options
	clock  licensing.Clock
	users  schemas.Resource
	groups schemas.Resource
	// entitlements is the read-only Entitlement resource type
	// (entitlements.go).
	entitlements schemas.Resource
	args         scim.ServerArgs
	fixed        *scim.Server
}

// New returns the SCIM adapter over the store.
func New(store licensing.Store, opts Options) (*Server, error) {
	if opts.Clock == nil {
		opts.Clock = licensing.SystemClock{}
	}
	if opts.DefaultPageSize < 1 || opts.MaxPageSize < opts.DefaultPageSize || opts.MaxBodyBytes < 1 {
		return nil, fmt.Errorf("scim: page sizes and body limit must be positive")
	}
	if opts.MaxPatchOperations < 0 || opts.MaxMultiValues < 0 {
		return nil, fmt.Errorf("scim: the PATCH operations and multi-valued attribute limits must not be negative")
	}
	if opts.MaxBulkOperations < 0 || opts.MaxBulkPayloadBytes < 0 {
		return nil, fmt.Errorf("scim: the Bulk limits must not be negative")
	}
	if opts.MaxBulkOperations == 0 {
		opts.MaxBulkOperations = defaultMaxBulkOperations
	}
	if opts.MaxBulkPayloadBytes == 0 {
		opts.MaxBulkPayloadBytes = defaultMaxBulkPayloadBytes
	}
	if opts.MaxPatchOperations == 0 {
		opts.MaxPatchOperations = defaultMaxPatchOperations
	}
	if opts.MaxMultiValues == 0 {
		opts.MaxMultiValues = defaultMaxMultiValues
	}
	if opts.Cursors == nil {
		opts.Cursors = licensing.EphemeralCursors()
	}
	if len(opts.Catalog.Products) == 0 {
		opts.Catalog = licensing.DefaultCatalog()
	}
	if err := opts.Catalog.Validate(); err != nil {
		return nil, fmt.Errorf("scim: %w", err)
	}
	s := &Server{store: store, opts: opts, clock: opts.Clock, users: schemas.User(opts.Catalog), groups: schemas.Group(opts.Catalog), entitlements: schemas.Entitlement()}
	s.entitlements.Catalog = opts.Catalog
	s.args = scim.ServerArgs{
		ServiceProviderConfig: &scim.ServiceProviderConfig{
			MaxResults:       opts.MaxPageSize,
			SupportFiltering: true,
			SupportPatch:     true,
		},
		ResourceTypes: []scim.ResourceType{
			resourceType(s.users, resourceHandler[licensing.User]{srv: s, k: userKind(store, s.users, passwords{hash: opts.HashPassword, verify: opts.VerifyPassword})}),
			resourceType(s.groups, resourceHandler[licensing.Group]{srv: s, k: groupKind(store, s.groups)}),
			resourceType(s.entitlements, readOnlyHandler{}),
		},
	}
	if opts.BaseURL != "" {
		srv, err := scim.NewServer(&s.args, scim.WithBaseURL(opts.BaseURL))
		if err != nil {
			return nil, err
		}
		s.fixed = &srv
	}
	return s, nil
}

func resourceType(rt schemas.Resource, h scim.ResourceHandler) scim.ResourceType {
	t := scim.ResourceType{
		ID:          optional.NewString(rt.Name),
		Name:        rt.Name,
		Description: optional.NewString(rt.Name),
		Endpoint:    rt.Endpoint,
		Schema:      rt.Core,
		Handler:     h,
	}
	for _, e := range rt.Extensions {
		t.SchemaExtensions = append(t.SchemaExtensions, scim.SchemaExtension{Schema: e})
	}
	return t
}

// base returns the SCIM base URL for the request: BaseURL, or the
// request's public base URL the server's edge put in its context
// (internal/origin). Without one (the adapter served on its own, in
// tests) the URL is built from the connection and Host, never from
// X-Forwarded-* headers.
func (s *Server) base(r *http.Request) string {
	if s.opts.BaseURL != "" {
		return s.opts.BaseURL
	}
	if o, ok := origin.From(r.Context()); ok {
		return o + s.opts.MountPath
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + s.opts.MountPath
}

// ServeHTTP routes a SCIM request. List, search and ServiceProviderConfig
// are answered here; resource reads and writes, Schemas and ResourceTypes
// go through elimity's server, which validates bodies against the schemas.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, ok := licensing.PrincipalFrom(r.Context()); !ok {
		s.writeError(w, r, "Resource", &requestError{Status: http.StatusUnauthorized, Detail: "A bearer token is required."})
		return
	}
	if strings.TrimSuffix(r.URL.Path, "/") == "/Bulk" {
		s.serveBulk(w, r) // its own body limit (bulk.go)
		return
	}
	body, err := readBody(r, s.opts.MaxBodyBytes)
	if err != nil {
		s.writeError(w, r, "Resource", err)
		return
	}
	path := strings.TrimSuffix(r.URL.Path, "/")
	if isDiscovery(path) {
		s.serveDiscovery(w, r, path)
		return
	}
	switch {
	case r.Method == http.MethodGet && (path == "" || path == "/"):
		s.serveListQuery(w, r, nil)
		return
	case r.Method == http.MethodPost && path == "/.search":
		s.serveSearch(w, r, nil, body)
		return
	case s.isEntitlementsPath(path):
		s.serveEntitlements(w, r, path, body)
		return
	}
	s.serveResource(w, r, path, body)
}

// serveResource serves a request on /Users or /Groups (or one of them)
// that is no list or search: the bodies of writes are checked and
// rewritten as the identity providers' shapes need, then elimity's server
// validates them and calls the resource handlers. A Bulk operation is
// served here too, as the single request it stands for.
func (s *Server) serveResource(w http.ResponseWriter, r *http.Request, path string, body []byte) {
	var err error
	for _, rt := range []*schemas.Resource{&s.users, &s.groups} {
		switch {
		case (r.Method == http.MethodPost && path == rt.Endpoint) ||
			(r.Method == http.MethodPut && strings.HasPrefix(path, rt.Endpoint+"/")):
			body = normalizeManager(body, *rt)
			if rt.Core.ID == schemas.UserURN {
				body = normalizeSingleAppRole(body)
			}
			if body, err = normalizeLicensingBody(body, *rt); err != nil {
				s.writeError(w, r, rt.Name, err)
				return
			}
		case r.Method == http.MethodGet && path == rt.Endpoint:
			s.serveListQuery(w, r, rt)
			return
		case r.Method == http.MethodPost && path == rt.Endpoint+"/.search":
			s.serveSearch(w, r, rt, body)
			return
		case r.Method == http.MethodPatch && strings.HasPrefix(path, rt.Endpoint+"/"):
			if err := checkPatchOperations(body, s.opts.MaxPatchOperations); err != nil {
				s.writeError(w, r, rt.Name, err)
				return
			}
			if err := checkReadOnlyPatch(body, *rt, strings.TrimPrefix(path, rt.Endpoint+"/")); err != nil {
				s.writeError(w, r, rt.Name, err)
				return
			}
			if body, err = normalizePatchBody(body, *rt); err != nil {
				s.writeError(w, r, rt.Name, err)
				return
			}
			if body, err = nullsAsRemoves(body); err != nil {
				s.writeError(w, r, rt.Name, err)
				return
			}
			if err := checkLicensingPatch(body, *rt); err != nil {
				s.writeError(w, r, rt.Name, err)
				return
			}
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	s.serveElimity(w, r)
}

// readBody reads the whole request body, refusing one over limit bytes
// with 413 before any of it is parsed.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	if r.ContentLength > limit {
		return nil, tooLarge(limit)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, errInvalidSyntax("The request body could not be read.")
	}
	if int64(len(body)) > limit {
		return nil, tooLarge(limit)
	}
	return body, nil
}

func tooLarge(limit int64) error {
	return &requestError{Status: http.StatusRequestEntityTooLarge, Detail: fmt.Sprintf("The request body is larger than the limit of %d bytes.", limit)}
}

func (s *Server) serveListQuery(w http.ResponseWriter, r *http.Request, rt *schemas.Resource) {
	req, err := s.parseListQuery(r.URL.Query())
	s.serveListRequest(w, r, rt, req, err)
}

func (s *Server) serveSearch(w http.ResponseWriter, r *http.Request, rt *schemas.Resource, body []byte) {
	req, err := s.parseSearchBody(body)
	s.serveListRequest(w, r, rt, req, err)
}

func (s *Server) serveListRequest(w http.ResponseWriter, r *http.Request, rt *schemas.Resource, req listRequest, err error) {
	switch {
	case err != nil:
		s.writeError(w, r, "Resource", err)
	case rt == nil:
		s.serveRootList(w, r, req)
	default:
		s.serveList(w, r, *rt, req)
	}
}

// elimity returns elimity's server for the request's base URL.
func (s *Server) elimity(r *http.Request) (*scim.Server, error) {
	if s.fixed != nil {
		return s.fixed, nil
	}
	built, err := scim.NewServer(&s.args, scim.WithBaseURL(s.base(r)))
	if err != nil {
		return nil, err
	}
	return &built, nil
}

// serveElimity hands the request to elimity's server and adjusts its
// answer: a GET of one resource whose If-None-Match names its current
// version is answered 304 without a body; an error elimity made without a
// detail gets one; and when the client asked for attributes or
// excludedAttributes, the single-resource answer is projected accordingly.
func (s *Server) serveElimity(w http.ResponseWriter, r *http.Request) {
	srv, err := s.elimity(r)
	if err != nil {
		s.writeError(w, r, "Resource", err)
		return
	}
	rec := &bufferedWriter{header: w.Header()}
	var o outcome
	srv.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), outcomeKey{}, &o)))
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	if o.answer != nil && status >= 400 {
		s.writeJSON(w, r, o.answer.Status, o.answer)
		return
	}
	q := r.URL.Query()
	attrs, excluded := splitAttributes(q.Get("attributes")), splitAttributes(q.Get("excludedAttributes"))
	rt := s.resourceTypeOf(r.URL.Path)
	switch {
	case status == http.StatusOK && r.Method == http.MethodGet && r.Header.Get("If-None-Match") != "":
		if tag := w.Header().Get("Etag"); tag != "" && etagMatches(r.Header.Get("If-None-Match"), tag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	case status >= 400:
		var e map[string]any
		if json.Unmarshal(rec.buf.Bytes(), &e) == nil && e != nil {
			if d, _ := e["detail"].(string); strings.TrimSpace(d) == "" {
				e["detail"] = http.StatusText(status) + "."
				s.writeJSON(w, r, status, e)
				return
			}
		}
	}
	if rt == nil || (len(attrs) == 0 && len(excluded) == 0) || status < 200 || status > 299 || rec.buf.Len() == 0 {
		retryAfter(w, status)
		w.WriteHeader(status)
		_, _ = w.Write(rec.buf.Bytes())
		return
	}
	var m map[string]any
	if err := json.Unmarshal(rec.buf.Bytes(), &m); err != nil {
		s.writeError(w, r, rt.Name, err)
		return
	}
	s.writeJSON(w, r, status, project(m, *rt, attrs, excluded))
}

func (s *Server) resourceTypeOf(path string) *schemas.Resource {
	for _, rt := range []*schemas.Resource{&s.users, &s.groups} {
		if path == rt.Endpoint || strings.HasPrefix(path, rt.Endpoint+"/") {
			return rt
		}
	}
	return nil
}

// bufferedWriter holds a response so it can be rewritten.
type bufferedWriter struct {
	header http.Header
	status int
	buf    bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header { return b.header }
func (b *bufferedWriter) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}
func (b *bufferedWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.buf.Write(p)
}

// answerBuffers keeps the buffers answers are encoded into, so that a
// list of large users is not encoded into a buffer grown from nothing on
// every request. Buffers grown past 1 MiB are left to the collector.
var answerBuffers = sync.Pool{New: func() any {
	b := make([]byte, 0, 16<<10)
	return &b
}}

func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	bp := answerBuffers.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 1<<20 {
			answerBuffers.Put(bp)
		}
	}()
	body, err := appendJSON((*bp)[:0], v)
	*bp = body[:0]
	if err != nil {
		logctx.From(r.Context()).Error("encode scim response", "err", err)
		status, body = http.StatusInternalServerError, []byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"500","detail":"internal error"}`)
	}
	w.Header().Set("Content-Type", ContentType)
	// With its length told, an answer larger than the connection's
	// buffer is written as it is, not in chunks.
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	retryAfter(w, status)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// retryAfter tells a client answered 503 when to try again: Entra ID and
// Okta both honour Retry-After.
func retryAfter(w http.ResponseWriter, status int) {
	if status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", strconv.Itoa(licensing.RetryAfterSeconds))
	}
}

// writeError answers err as a SCIM error.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, what string, err error) {
	se := toSCIMError(r.Context(), s.users.Catalog, what, err)
	if se.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="scimd"`)
	}
	s.writeJSON(w, r, se.Status, se)
}

// isDiscovery reports whether path is one of the discovery endpoints of
// RFC 7644 section 4 (or a resource under /Schemas or /ResourceTypes).
func isDiscovery(path string) bool {
	switch {
	case path == "/ServiceProviderConfig", path == "/Schemas", path == "/ResourceTypes":
		return true
	case strings.HasPrefix(path, "/Schemas/"), strings.HasPrefix(path, "/ResourceTypes/"):
		return true
	}
	return false
}

// serveDiscovery answers the discovery endpoints (RFC 7644 section 4):
// read-only, a filter is refused with 403, and paging parameters are
// ignored, so a list answers every schema or resource type at once.
func (s *Server) serveDiscovery(w http.ResponseWriter, r *http.Request, path string) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		s.writeError(w, r, "Resource", &requestError{Status: http.StatusMethodNotAllowed, Detail: "The discovery endpoints are read-only: use GET."})
		return
	}
	if r.URL.Query().Has("filter") {
		s.writeError(w, r, "Resource", &requestError{Status: http.StatusForbidden, Detail: "The discovery endpoints cannot be filtered."})
		return
	}
	if path == "/ServiceProviderConfig" {
		s.serveServiceProviderConfig(w, r)
		return
	}
	if id, ok := strings.CutPrefix(path, "/Schemas/"); ok && strings.EqualFold(id, schemas.ServiceProviderConfigURN) {
		s.writeJSON(w, r, http.StatusOK, spcType.Core.ToMap())
		return
	}
	srv, err := s.elimity(r)
	if err != nil {
		s.writeError(w, r, "Resource", err)
		return
	}
	unpaged := r.Clone(r.Context())
	unpaged.URL.RawQuery = ""
	rec := &bufferedWriter{header: w.Header()}
	srv.ServeHTTP(rec, unpaged)
	var answer map[string]any
	if rec.status != http.StatusOK || json.Unmarshal(rec.buf.Bytes(), &answer) != nil {
		w.WriteHeader(rec.status)
		_, _ = w.Write(rec.buf.Bytes())
		return
	}
	if path != "/Schemas" && path != "/ResourceTypes" {
		s.writeJSON(w, r, http.StatusOK, omitEmptyLists(answer))
		return
	}
	resources, _ := answer["Resources"].([]any)
	if resources == nil {
		resources = []any{}
	}
	for i, res := range resources {
		if isSPCSchema(res) {
			res = spcType.Core.ToMap()
		}
		if m, ok := res.(map[string]any); ok {
			resources[i] = omitEmptyLists(m)
		}
	}
	answer["Resources"] = resources
	answer["totalResults"], answer["itemsPerPage"], answer["startIndex"] = len(resources), len(resources), 1
	s.writeJSON(w, r, http.StatusOK, answer)
}

// omitEmptyLists drops the top-level attributes of a discovery resource
// whose value is an empty list (elimity answers a resource type without
// extensions with "schemaExtensions": []): an attribute without values is
// omitted, as RFC 7643 section 2.5 treats both alike.
func omitEmptyLists(res map[string]any) map[string]any {
	for k, v := range res {
		if l, ok := v.([]any); ok && len(l) == 0 {
			delete(res, k)
		}
	}
	return res
}

// checkReadOnlyPatch refuses, with scimType mutability, PATCH operations
// that target id or meta (RFC 7643 section 3.1: both are read-only) or a
// read-only core attribute (a User's groups, RFC 7643 section 4.1.2), by
// path or as keys of a path-less value. elimity would answer them
// invalidPath or invalidValue, or (groups by path) drop the value and let
// the operation succeed without effect. A path-less "id" equal to the
// resource's own id is let through: Okta sends it with every group PATCH.
func checkReadOnlyPatch(body []byte, rt schemas.Resource, id string) error {
	var patch struct {
		Operations []struct {
			Path  *string         `json:"path"`
			Value json.RawMessage `json:"value"`
		} `json:"Operations"`
	}
	if json.Unmarshal(body, &patch) != nil {
		return nil // elimity reports the malformed body
	}
	for _, op := range patch.Operations {
		if op.Path != nil {
			if attr := readOnlyAttr(rt, *op.Path); attr != "" {
				return errMutability("The attribute %q is read-only.", attr)
			}
			continue
		}
		var values map[string]json.RawMessage
		if json.Unmarshal(op.Value, &values) != nil {
			continue
		}
		for key, raw := range values {
			switch attr := readOnlyAttr(rt, key); attr {
			case "":
			case "id":
				var v string
				if json.Unmarshal(raw, &v) != nil || v != id {
					return errMutability("The attribute %q is read-only.", attr)
				}
			default:
				return errMutability("The attribute %q is read-only.", attr)
			}
		}
	}
	return nil
}

// readOnlyAttr returns "id", "meta" or the read-only core attribute's
// name when the attribute path (with or without the core schema URN)
// names it or a sub-attribute of it, else "".
func readOnlyAttr(rt schemas.Resource, path string) string {
	path = strings.TrimSpace(path)
	if prefix := rt.Core.ID + ":"; len(path) > len(prefix) && strings.EqualFold(path[:len(prefix)], prefix) {
		path = path[len(prefix):]
	}
	head := path
	if i := strings.IndexAny(head, ".["); i >= 0 {
		head = head[:i]
	}
	switch {
	case strings.EqualFold(head, "id"):
		return "id"
	case strings.EqualFold(head, "meta"):
		return "meta"
	}
	if a, ok := findAttribute(rt.Core.Attributes, head); ok && a.Mutability() == "readOnly" {
		return a.Name()
	}
	return ""
}

// normalizeManager rewrites the enterprise manager of a POST or PUT body
// from the shapes Entra ID uses (a bare id string, or a one-element list)
// to the complex attribute RFC 7643 section 4.3 defines, {"value": id};
// an empty one ("", null, [] or {"value":""}) is dropped. elimity would
// refuse them. A body without such a manager, or one that is not a JSON
// object, is returned as is.
func normalizeManager(body []byte, rt schemas.Resource) []byte {
	ext, ok := rt.Extension(schemas.EnterpriseURN)
	if !ok {
		return body
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil || top == nil {
		return body
	}
	for key, raw := range top {
		if !strings.EqualFold(key, ext.ID) {
			continue
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil || obj == nil {
			return body
		}
		changed := false
		for k, v := range obj {
			if !strings.EqualFold(k, "manager") {
				continue
			}
			next, clearIt, ok := managerValue(v)
			switch {
			case !ok:
			case clearIt:
				delete(obj, k)
				changed = true
			default:
				obj[k] = next
				changed = true
			}
		}
		if !changed {
			return body
		}
		top[key] = mustMarshal(obj)
		return mustMarshal(top)
	}
	return body
}
