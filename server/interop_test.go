package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
)

// fixture is a recorded exchange of an identity provider with scimd:
// requests as the provider sends them and what it needs back.
type fixture struct {
	Name   string `json:"name"`
	Source string `json:"source"`
	// Plans are set on the fixture's account before its steps (a fresh
	// account has no seats: every named assignment would be refused).
	Plans []fixturePlan `json:"plans"`
	// Trial gives the account the trial plan (licensing.GrantTrial)
	// before the plans, as scimd serve does for the first-start account
	// and scimd account create --trial.
	Trial bool   `json:"trial"`
	Steps []step `json:"steps"`
}

// fixturePlan is the account's subscription to one product.
type fixturePlan struct {
	Product    string `json:"product"`
	Named      int    `json:"named"`
	Concurrent int    `json:"concurrent"`
}

type step struct {
	Note     string          `json:"note"`
	Request  fixtureRequest  `json:"request"`
	Response fixtureResponse `json:"response"`
	// Capture names variables for later steps: a dotted path into the
	// response body, or "header:Name" for a response header.
	Capture map[string]string `json:"capture"`
}

type fixtureRequest struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	// Auth is "" (the account's SCIM token), "none", or a literal
	// Authorization header value.
	Auth    string            `json:"auth"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
	// RawBody is sent as is (for malformed JSON); it wins over Body.
	RawBody *string `json:"rawBody"`
	// BodyBytes sends that many bytes of a JSON string (for size limits).
	BodyBytes int `json:"bodyBytes"`
}

type fixtureResponse struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	// Body is matched as a subset: see match.
	Body json.RawMessage `json:"body"`
}

// TestInterop replays every fixture under testdata/interop on every
// backend. Each fixture runs in an account of its own.
func TestInterop(t *testing.T) {
	files, err := filepath.Glob("testdata/interop/*/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures found: %v", err)
	}
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			h := newHarness(t, b.Open(t))
			for _, file := range files {
				name := strings.TrimSuffix(strings.TrimPrefix(file, "testdata/interop/"), ".json")
				t.Run(name, func(t *testing.T) {
					raw, err := os.ReadFile(file)
					if err != nil {
						t.Fatal(err)
					}
					var f fixture
					dec := json.NewDecoder(bytes.NewReader(raw))
					dec.DisallowUnknownFields()
					if err := dec.Decode(&f); err != nil {
						t.Fatalf("bad fixture: %v", err)
					}
					replay(t, h, f)
				})
			}
		})
	}
}

func replay(t *testing.T, h *harness, f fixture) {
	account, bearer := h.account(t)
	if f.Trial {
		cli := licensing.WithPrincipal(context.Background(), licensing.CLIPrincipal("", "interop"))
		if _, err := licensing.GrantTrial(cli, h.store, licensing.SystemClock{}, licensing.DefaultCatalog(), account.ID); err != nil {
			t.Fatalf("trial plan: %v", err)
		}
	}
	for _, p := range f.Plans {
		plan := licensing.Plan{AccountID: account.ID, ProductID: p.Product, NamedSeats: p.Named, ConcurrentSeats: p.Concurrent}
		if err := h.store.SetPlan(context.Background(), plan); err != nil {
			t.Fatalf("plan %+v: %v", p, err)
		}
	}
	vars := map[string]string{}
	for i, s := range f.Steps {
		label := fmt.Sprintf("step %d (%s %s)", i+1, s.Request.Method, s.Request.Path)
		if s.Note != "" {
			label += ": " + s.Note
		}
		req := buildRequest(t, h.url, s.Request, bearer, vars)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", label, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		// A 5xx is a failure unless the fixture expects it (501 for what
		// scimd does not implement, RFC 7644 section 3.12).
		if resp.StatusCode >= 500 && resp.StatusCode != s.Response.Status {
			t.Fatalf("%s: server error %d: %s", label, resp.StatusCode, body)
		}
		if resp.StatusCode != s.Response.Status {
			t.Fatalf("%s: status %d, want %d; body: %s", label, resp.StatusCode, s.Response.Status, body)
		}
		for _, problem := range checkInvariants(resp, body) {
			t.Errorf("%s: %s", label, problem)
		}
		for name, want := range s.Response.Headers {
			got := resp.Header.Get(name)
			want = substitute(want, vars)
			if !matchString(want, got) {
				t.Errorf("%s: header %s = %q, want %q", label, name, got, want)
			}
		}
		var actual any
		if len(body) > 0 {
			if err := json.Unmarshal(body, &actual); err != nil {
				t.Fatalf("%s: response is not JSON: %s", label, body)
			}
		}
		if len(s.Response.Body) > 0 {
			var expected any
			if err := json.Unmarshal([]byte(substituteJSON(string(s.Response.Body), vars)), &expected); err != nil {
				t.Fatalf("%s: bad expected body: %v", label, err)
			}
			if problems := match("$", expected, actual); len(problems) > 0 {
				t.Fatalf("%s: response does not match:\n  %s\nbody: %s", label, strings.Join(problems, "\n  "), body)
			}
		}
		for name, path := range s.Capture {
			if header, ok := strings.CutPrefix(path, "header:"); ok {
				v := resp.Header.Get(header)
				if v == "" {
					t.Fatalf("%s: capture %s: no header %s", label, name, header)
				}
				vars[name] = v
				continue
			}
			v, ok := lookup(actual, path)
			if !ok {
				t.Fatalf("%s: capture %s: no %s in %s", label, name, path, body)
			}
			vars[name] = fmt.Sprint(v)
		}
	}
}

func buildRequest(t *testing.T, base string, r fixtureRequest, bearer string, vars map[string]string) *http.Request {
	t.Helper()
	var body io.Reader
	switch {
	case r.RawBody != nil:
		body = strings.NewReader(substitute(*r.RawBody, vars))
	case r.BodyBytes > 0:
		body = bytes.NewReader(append(append([]byte(`"`), bytes.Repeat([]byte("a"), r.BodyBytes)...), '"'))
	case len(r.Body) > 0:
		body = strings.NewReader(substituteJSON(string(r.Body), vars))
	}
	req, err := http.NewRequest(r.Method, base+substitute(r.Path, vars), body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	switch r.Auth {
	case "":
		req.Header.Set("Authorization", "Bearer "+bearer)
	case "none":
	default:
		req.Header.Set("Authorization", substitute(r.Auth, vars))
	}
	for k, v := range r.Headers {
		req.Header.Set(k, substitute(v, vars))
	}
	return req
}

var varRef = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)\}`)

func substitute(s string, vars map[string]string) string {
	return varRef.ReplaceAllStringFunc(s, func(ref string) string {
		if v, ok := vars[ref[2:len(ref)-1]]; ok {
			return v
		}
		return ref
	})
}

// scimContentType is the media type of every SCIM answer with a body.
const scimContentType = "application/scim+json"

// checkInvariants checks what holds for every SCIM answer, whatever the
// fixture: a body is application/scim+json, and an error (4xx) carries the
// SCIM error schema, its status as a string and a detail.
func checkInvariants(resp *http.Response, body []byte) []string {
	var problems []string
	if len(body) > 0 && resp.Header.Get("Content-Type") != scimContentType {
		problems = append(problems, fmt.Sprintf("Content-Type %q, want %q", resp.Header.Get("Content-Type"), scimContentType))
	}
	if resp.StatusCode < 400 {
		return problems
	}
	var e struct {
		Schemas []string `json:"schemas"`
		Status  any      `json:"status"`
		Detail  string   `json:"detail"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		return append(problems, fmt.Sprintf("error answer is not a SCIM error: %s", body))
	}
	if len(e.Schemas) != 1 || e.Schemas[0] != "urn:ietf:params:scim:api:messages:2.0:Error" {
		problems = append(problems, fmt.Sprintf("error schemas %v", e.Schemas))
	}
	if e.Status != strconv.Itoa(resp.StatusCode) {
		problems = append(problems, fmt.Sprintf("error status %#v, want the string %q", e.Status, strconv.Itoa(resp.StatusCode)))
	}
	if strings.TrimSpace(e.Detail) == "" {
		problems = append(problems, "error without a detail")
	}
	return problems
}

// substituteJSON replaces ${name} inside JSON text, where references
// stand inside strings: values are escaped as JSON string content, so a
// captured W/"1" fits in "${version}".
func substituteJSON(s string, vars map[string]string) string {
	escaped := make(map[string]string, len(vars))
	for k, v := range vars {
		b, _ := json.Marshal(v)
		escaped[k] = string(b[1 : len(b)-1])
	}
	return substitute(s, escaped)
}

// matchString compares header-like strings: "*" means present.
func matchString(want, got string) bool {
	if want == "*" {
		return got != ""
	}
	return want == got
}

// match checks that actual contains expected: objects by the keys
// expected names (the value "$absent" requires the key to be missing),
// arrays element by element with equal lengths (an array whose first
// element is "$unordered" matches the rest in any order), the string "*"
// any present value. Other values
// must be equal and of the same JSON type (2 does not match "2", nor
// false "false").
func match(path string, expected, actual any) []string {
	switch e := expected.(type) {
	case string:
		if e == "*" {
			if actual == nil {
				return []string{path + ": missing"}
			}
			return nil
		}
	case map[string]any:
		a, ok := actual.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: want an object, got %v", path, actual)}
		}
		var problems []string
		keys := make([]string, 0, len(e))
		for k := range e {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v, present := a[k]
			if e[k] == "$absent" {
				if present {
					problems = append(problems, fmt.Sprintf("%s.%s: want absent, got %v", path, k, v))
				}
				continue
			}
			if !present {
				problems = append(problems, fmt.Sprintf("%s.%s: missing", path, k))
				continue
			}
			problems = append(problems, match(path+"."+k, e[k], v)...)
		}
		return problems
	case []any:
		a, ok := actual.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: want an array, got %v", path, actual)}
		}
		if len(e) > 0 && e[0] == "$unordered" {
			return matchUnordered(path, e[1:], a)
		}
		if len(a) != len(e) {
			return []string{fmt.Sprintf("%s: want %d elements, got %d", path, len(e), len(a))}
		}
		var problems []string
		for i := range e {
			problems = append(problems, match(fmt.Sprintf("%s[%d]", path, i), e[i], a[i])...)
		}
		return problems
	}
	if fmt.Sprintf("%T", expected) != fmt.Sprintf("%T", actual) || fmt.Sprint(expected) != fmt.Sprint(actual) {
		return []string{fmt.Sprintf("%s: want %#v, got %#v", path, expected, actual)}
	}
	return nil
}

func matchUnordered(path string, expected, actual []any) []string {
	if len(actual) != len(expected) {
		return []string{fmt.Sprintf("%s: want %d elements, got %d", path, len(expected), len(actual))}
	}
	used := make([]bool, len(actual))
	for i, e := range expected {
		found := false
		for j, a := range actual {
			if !used[j] && len(match("", e, a)) == 0 {
				used[j], found = true, true
				break
			}
		}
		if !found {
			return []string{fmt.Sprintf("%s: no element matches expected #%d %v", path, i, e)}
		}
	}
	return nil
}

// lookup follows a dotted path (numbers index arrays) into a JSON value.
func lookup(v any, path string) (any, bool) {
	for _, part := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[part]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, v != nil
}
