package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/scimd/scimd/admin"
	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/server"
)

// The OpenAPI document is checked against the server in two ways: every
// answer of the agent and admin APIs that any test of this package gets
// goes through checkAgainstOpenAPI (the harness wraps its server with
// it), and the tests below hold the document and the routes to each other.

const specURL = "https://scimd.test/openapi.json"

type openAPISpec struct {
	doc      map[string]any
	compiler *jsonschema.Compiler
	mu       sync.Mutex
	schemas  map[string]*jsonschema.Schema
}

var (
	specOnce sync.Once
	spec     *openAPISpec
	specErr  error
)

func loadSpec() (*openAPISpec, error) {
	specOnce.Do(func() {
		raw, err := jsonschema.UnmarshalJSON(bytes.NewReader(admin.OpenAPIDocument))
		if err != nil {
			specErr = fmt.Errorf("openapi.json is not JSON: %w", err)
			return
		}
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft2020)
		c.AssertFormat()
		if err := c.AddResource(specURL, raw); err != nil {
			specErr = err
			return
		}
		var doc map[string]any
		if err := json.Unmarshal(admin.OpenAPIDocument, &doc); err != nil {
			specErr = err
			return
		}
		spec = &openAPISpec{doc: doc, compiler: c, schemas: map[string]*jsonschema.Schema{}}
	})
	return spec, specErr
}

// pointer escapes a JSON pointer token.
func pointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

func (s *openAPISpec) paths() map[string]any {
	p, _ := s.doc["paths"].(map[string]any)
	return p
}

// match finds the documented path template for a concrete path and
// method: a literal segment beats a parameter.
func (s *openAPISpec) match(method, path string) (string, bool) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	best, bestScore := "", -1
	for tmpl, item := range s.paths() {
		ops, _ := item.(map[string]any)
		if _, ok := ops[strings.ToLower(method)]; !ok {
			continue
		}
		tsegs := strings.Split(strings.Trim(tmpl, "/"), "/")
		if len(tsegs) != len(segs) {
			continue
		}
		score := 0
		for i, ts := range tsegs {
			if strings.HasPrefix(ts, "{") {
				continue
			}
			if ts != segs[i] {
				score = -1
				break
			}
			score++
		}
		if score > bestScore {
			best, bestScore = tmpl, score
		}
	}
	return best, bestScore >= 0
}

// schema compiles (once) the schema at a JSON pointer of the document.
func (s *openAPISpec) schema(ptr string) (*jsonschema.Schema, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sc, ok := s.schemas[ptr]; ok {
		return sc, nil
	}
	sc, err := s.compiler.Compile(specURL + "#" + ptr)
	if err != nil {
		return nil, err
	}
	s.schemas[ptr] = sc
	return sc, nil
}

// validate checks one answer against the document: the operation and its
// status are documented, and the body has the documented media type and
// matches the schema.
func (s *openAPISpec) validate(method, path string, status int, contentType string, body []byte) error {
	tmpl, ok := s.match(method, path)
	if !ok {
		if status == http.StatusNotFound || status == http.StatusMethodNotAllowed {
			return nil // no such operation: the router's answer
		}
		return fmt.Errorf("%s %s answered %d but the operation is not in openapi.json", method, path, status)
	}
	op := s.paths()[tmpl].(map[string]any)[strings.ToLower(method)].(map[string]any)
	responses, _ := op["responses"].(map[string]any)
	code := strconv.Itoa(status)
	r, ok := responses[code].(map[string]any)
	if !ok {
		return fmt.Errorf("%s %s (%s) answered %d, which openapi.json does not document (body %s)", method, path, tmpl, status, body)
	}
	at := "/paths/" + pointer(tmpl) + "/" + strings.ToLower(method) + "/responses/" + code
	if ref, isRef := r["$ref"].(string); isRef {
		// A shared response of components/responses.
		if r, ok = s.resolve(ref); !ok {
			return fmt.Errorf("%s %s %d: openapi.json refers to %q, which it does not hold", method, tmpl, status, ref)
		}
		at = strings.TrimPrefix(ref, "#")
	}
	content, _ := r["content"].(map[string]any)
	if len(content) == 0 {
		if len(bytes.TrimSpace(body)) > 0 {
			return fmt.Errorf("%s %s answered %d with a body, documented without one: %s", method, path, status, body)
		}
		return nil
	}
	mediaType, _, _ := strings.Cut(contentType, ";")
	if _, ok := content[mediaType]; !ok {
		return fmt.Errorf("%s %s answered %d as %q, documented as %v", method, path, status, contentType, keys(content))
	}
	sc, err := s.schema(at + "/content/" + pointer(mediaType) + "/schema")
	if err != nil {
		return fmt.Errorf("openapi.json schema of %s %s %d: %w", method, tmpl, status, err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s %s answered %d with a body that is not JSON: %s", method, path, status, body)
	}
	if err := sc.Validate(v); err != nil {
		return fmt.Errorf("%s %s answered %d not as documented: %v\nbody: %s", method, path, status, err, body)
	}
	return nil
}

// resolve returns the object a local reference ("#/components/...")
// points at.
func (s *openAPISpec) resolve(ref string) (map[string]any, bool) {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, false
	}
	var at any = s.doc
	for _, tok := range strings.Split(rest, "/") {
		m, ok := at.(map[string]any)
		if !ok {
			return nil, false
		}
		at = m[strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")]
	}
	m, ok := at.(map[string]any)
	return m, ok
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// opHits counts the answers per documented operation and status class.
type opHits struct {
	mu   sync.Mutex
	seen map[string]int
}

func (o *opHits) add(key string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.seen == nil {
		o.seen = map[string]int{}
	}
	o.seen[key]++
}

func (o *opHits) count(key string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.seen[key]
}

// checkAgainstOpenAPI wraps the server so that every answer under
// /api/v1 is validated against the OpenAPI document; a mismatch fails t.
// Successful answers are counted in hits by "METHOD template".
func checkAgainstOpenAPI(t testing.TB, next http.Handler, hits *opHits) http.Handler {
	s, err := loadSpec()
	if err != nil {
		t.Fatal(err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/v1/") || r.URL.Path == server.OpenAPIPath {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		res := rec.Result()
		if err := s.validate(r.Method, r.URL.Path, res.StatusCode, res.Header.Get("Content-Type"), rec.Body.Bytes()); err != nil {
			t.Errorf("OpenAPI: %v", err)
		}
		if tmpl, ok := s.match(r.Method, r.URL.Path); ok && res.StatusCode < 300 {
			hits.add(r.Method + " " + tmpl)
		}
		for k, v := range res.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(res.StatusCode)
		_, _ = w.Write(rec.Body.Bytes())
	})
}

var echoParam = regexp.MustCompile(`:([a-zA-Z]+)`)

// TestOpenAPIDocument holds the document and the server to each other:
// it is served, every schema compiles, every route of the agent and admin
// APIs is documented and every documented operation is a route, and the
// admin operations name the privileges the routes enforce.
func TestOpenAPIDocument(t *testing.T) {
	s, err := loadSpec()
	if err != nil {
		t.Fatal(err)
	}
	if v := s.doc["openapi"]; v != "3.1.0" {
		t.Errorf("openapi = %v, want 3.1.0", v)
	}
	schemas := s.doc["components"].(map[string]any)["schemas"].(map[string]any)
	for name := range schemas {
		if _, err := s.schema("/components/schemas/" + pointer(name)); err != nil {
			t.Errorf("schema %s: %v", name, err)
		}
	}

	store := testenv.SQLite(t)
	h := newHarness(t, store)
	status, header, raw := send(t, "GET", h.base+server.OpenAPIPath, "", "", "")
	if status != http.StatusOK || !strings.HasPrefix(header.Get("Content-Type"), "application/json") || !bytes.Equal(raw, admin.OpenAPIDocument) {
		t.Errorf("GET %s = %d %q, want the document as application/json", server.OpenAPIPath, status, header.Get("Content-Type"))
	}

	routes := map[string]bool{}
	for _, r := range h.echo.Routes() {
		if !strings.HasPrefix(r.Path, "/api/v1/") || strings.HasSuffix(r.Path, "*") || r.Path == server.OpenAPIPath ||
			!slices.Contains([]string{"GET", "POST", "PUT", "PATCH", "DELETE"}, r.Method) {
			continue
		}
		key := r.Method + " " + echoParam.ReplaceAllString(r.Path, "{$1}")
		routes[key] = true
	}
	documented := map[string]bool{}
	for tmpl, item := range s.paths() {
		for method := range item.(map[string]any) {
			if method == "parameters" {
				continue
			}
			documented[strings.ToUpper(method)+" "+tmpl] = true
		}
	}
	for r := range routes {
		if !documented[r] {
			t.Errorf("route %s is not in openapi.json", r)
		}
	}
	for d := range documented {
		if !routes[d] {
			t.Errorf("openapi.json documents %s, which the server does not route", d)
		}
	}
	for _, r := range admin.New(admin.Options{}).Routes() {
		tmpl := server.AdminPath + echoParam.ReplaceAllString(r.Path, "{$1}")
		item, _ := s.paths()[tmpl].(map[string]any)
		op, _ := item[strings.ToLower(r.Method)].(map[string]any)
		var want []string
		for _, p := range r.Privileges {
			want = append(want, string(p))
		}
		var got []string
		for _, p := range op["x-privileges"].([]any) {
			got = append(got, p.(string))
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s %s: openapi.json x-privileges %v, the route enforces %v", r.Method, tmpl, got, want)
		}
	}
}
