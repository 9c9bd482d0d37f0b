package scim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/elimity-com/scim"
	"github.com/elimity-com/scim/optional"

	"github.com/scimd/scimd/internal/logctx"
	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/schemas"
)

// ContentType is the media type of every SCIM response.
const ContentType = "application/scim+json"

// Options configure the SCIM adapter.
type Options struct {
	// BaseURL is the absolute SCIM base URL (…/scim/v2) for Location and
	// meta.location. Empty: derived from each request's scheme, Host and
	// MountPath.
	BaseURL string
	// MountPath is where the adapter is mounted, e.g. /scim/v2.
	MountPath string
	// DefaultPageSize and MaxPageSize bound list pages.
	DefaultPageSize int
	MaxPageSize     int
	// MaxBodyBytes is the largest request body accepted.
	MaxBodyBytes int64
	// Clock stamps created and lastModified.
	Clock licensing.Clock
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
	args   scim.ServerArgs
	fixed  *scim.Server
}

// New returns the SCIM adapter over the store.
func New(store licensing.Store, opts Options) (*Server, error) {
	if opts.Clock == nil {
		opts.Clock = licensing.SystemClock{}
	}
	if opts.DefaultPageSize < 1 || opts.MaxPageSize < opts.DefaultPageSize || opts.MaxBodyBytes < 1 {
		return nil, fmt.Errorf("scim: page sizes and body limit must be positive")
	}
	s := &Server{store: store, opts: opts, clock: opts.Clock, users: schemas.User(), groups: schemas.Group()}
	s.args = scim.ServerArgs{
		ServiceProviderConfig: &scim.ServiceProviderConfig{
			MaxResults:       opts.MaxPageSize,
			SupportFiltering: true,
			SupportPatch:     true,
		},
		ResourceTypes: []scim.ResourceType{
			resourceType(s.users, resourceHandler[licensing.User]{srv: s, k: userKind(store)}),
			resourceType(s.groups, resourceHandler[licensing.Group]{srv: s, k: groupKind(store)}),
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

// base returns the SCIM base URL for the request.
func (s *Server) base(r *http.Request) string {
	if s.opts.BaseURL != "" {
		return s.opts.BaseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "https" || p == "http" {
		scheme = p
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
	body, err := s.readBody(r)
	if err != nil {
		s.writeError(w, r, "Resource", err)
		return
	}
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case r.Method == http.MethodGet && path == "/ServiceProviderConfig":
		s.writeJSON(w, r, http.StatusOK, s.serviceProviderConfig(s.base(r)))
		return
	case r.Method == http.MethodGet && (path == "" || path == "/"):
		s.serveListQuery(w, r, nil)
		return
	case r.Method == http.MethodPost && path == "/.search":
		s.serveSearch(w, r, nil, body)
		return
	}
	for _, rt := range []*schemas.Resource{&s.users, &s.groups} {
		switch {
		case r.Method == http.MethodGet && path == rt.Endpoint:
			s.serveListQuery(w, r, rt)
			return
		case r.Method == http.MethodPost && path == rt.Endpoint+"/.search":
			s.serveSearch(w, r, rt, body)
			return
		case r.Method == http.MethodPatch && strings.HasPrefix(path, rt.Endpoint+"/"):
			if body, err = normalizePatchBody(body, *rt); err != nil {
				s.writeError(w, r, rt.Name, err)
				return
			}
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	s.serveElimity(w, r)
}

// readBody reads the whole request body, refusing one over the limit with
// 413 before any of it is parsed.
func (s *Server) readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	if r.ContentLength > s.opts.MaxBodyBytes {
		return nil, tooLarge(s.opts.MaxBodyBytes)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, s.opts.MaxBodyBytes+1))
	if err != nil {
		return nil, errInvalidSyntax("The request body could not be read.")
	}
	if int64(len(body)) > s.opts.MaxBodyBytes {
		return nil, tooLarge(s.opts.MaxBodyBytes)
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

// serveElimity hands the request to elimity's server; when the client
// asked for attributes or excludedAttributes, the single-resource answer
// is projected accordingly.
func (s *Server) serveElimity(w http.ResponseWriter, r *http.Request) {
	srv := s.fixed
	if srv == nil {
		built, err := scim.NewServer(&s.args, scim.WithBaseURL(s.base(r)))
		if err != nil {
			s.writeError(w, r, "Resource", err)
			return
		}
		srv = &built
	}
	q := r.URL.Query()
	attrs, excluded := splitAttributes(q.Get("attributes")), splitAttributes(q.Get("excludedAttributes"))
	rt := s.resourceTypeOf(r.URL.Path)
	if rt == nil || (len(attrs) == 0 && len(excluded) == 0) {
		srv.ServeHTTP(w, r)
		return
	}
	rec := &bufferedWriter{header: w.Header()}
	srv.ServeHTTP(rec, r)
	if rec.status < 200 || rec.status > 299 || rec.buf.Len() == 0 {
		w.WriteHeader(rec.status)
		_, _ = w.Write(rec.buf.Bytes())
		return
	}
	var m map[string]any
	if err := json.Unmarshal(rec.buf.Bytes(), &m); err != nil {
		s.writeError(w, r, rt.Name, err)
		return
	}
	s.writeJSON(w, r, rec.status, project(m, *rt, attrs, excluded))
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

func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		logctx.From(r.Context()).Error("encode scim response", "err", err)
		status, body = http.StatusInternalServerError, []byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"500","detail":"internal error"}`)
	}
	w.Header().Set("Content-Type", ContentType)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeError answers err as a SCIM error.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, what string, err error) {
	se := toSCIMError(r.Context(), what, err)
	if se.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="scimd"`)
	}
	s.writeJSON(w, r, se.Status, se)
}
