package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"testing"

	"github.com/scimd/scimd/internal/testenv"
)

// TestExplore is a scratch tool: prints every response of a fixture.
func TestExplore(t *testing.T) {
	file := os.Getenv("EXPLORE")
	if file == "" {
		t.Skip()
	}
	raw, _ := os.ReadFile(file)
	var f fixture
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	b := testenv.Backends(t)[0]
	if os.Getenv("EXPLORE_PG") != "" {
		b = testenv.Backends(t)[1]
	}
	h := newHarness(t, b.Open(t))
	_, bearer := h.account(t)
	vars := map[string]string{}
	for i, s := range f.Steps {
		req := buildRequest(t, h.url, s.Request, bearer, vars)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("=== %d %s %s -> %d %v\n%s\n", i+1, s.Request.Method, substitute(s.Request.Path, vars), resp.StatusCode, resp.Header, body)
		var actual any
		_ = json.Unmarshal(body, &actual)
		for name, path := range s.Capture {
			v, _ := lookup(actual, path)
			vars[name] = fmt.Sprint(v)
		}
	}
}
