package server_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/scimd/scimd/internal/testenv"
)

// TestFilterTheStoreRefuses: a filter that parses but that the store
// refuses to run (here a chain of 70 or's, which the parser nests one
// level per term, deeper than the store searches) is the filter's fault:
// 400 invalidFilter, not invalidCursor, on both backends.
func TestFilterTheStoreRefuses(t *testing.T) {
	terms := make([]string, 70)
	for i := range terms {
		terms[i] = `userName eq "a"`
	}
	filter := strings.Join(terms, " or ")
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			h := newHarness(t, b.Open(t))
			_, bearer := h.account(t)
			status, _, raw := send(t, "GET", h.url+"/Users?filter="+url.QueryEscape(filter), bearer, "", "")
			var e struct{ ScimType, Status string }
			if err := json.Unmarshal(raw, &e); err != nil || status != http.StatusBadRequest || e.ScimType != "invalidFilter" || e.Status != "400" {
				t.Fatalf("a chain of 70 terms: %d %s", status, raw)
			}
		})
	}
}
