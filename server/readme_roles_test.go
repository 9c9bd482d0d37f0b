package server_test

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/schemas"
)

// readmeRequest is one request of the README's identity provider
// sections: a ```http block holding "METHOD PATH" and the JSON body.
type readmeRequest struct {
	method, path, body string
}

// readmeRequests returns the ```http blocks of the README between the
// headings from and to.
func readmeRequests(t *testing.T, from, to string) []readmeRequest {
	t.Helper()
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	start, end := strings.Index(text, "\n"+from+"\n"), strings.Index(text, "\n"+to+"\n")
	if start < 0 || end < start {
		t.Fatalf("README has no section %q before %q", from, to)
	}
	var out []readmeRequest
	for _, block := range strings.Split(text[start:end], "```http\n")[1:] {
		block = block[:strings.Index(block, "```")]
		line, body, _ := strings.Cut(block, "\n")
		method, path, ok := strings.Cut(line, " ")
		if !ok {
			t.Fatalf("README request %q has no method and path", line)
		}
		out = append(out, readmeRequest{method: method, path: path, body: strings.TrimSpace(body)})
	}
	return out
}

// TestREADMEEntitlementsAndRoles replays, against a fresh server on each
// backend, the requests the README's sections "Okta: entitlements with
// Identity Governance" and "Entra: app roles" say the identity providers
// send: each must succeed, every user answer must show the entitlements
// and the licensing extension in agreement, and the user must end with
// the licenses the sections describe.
func TestREADMEEntitlementsAndRoles(t *testing.T) {
	okta := readmeRequests(t, "## Okta: entitlements with Identity Governance", "## Entra: app roles")
	entra := readmeRequests(t, "## Entra: app roles", "## SCIM walkthrough with curl")
	if len(okta) < 3 || len(entra) < 4 {
		t.Fatalf("README requests: %d for Okta, %d for Entra", len(okta), len(entra))
	}
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			store := b.Open(t)
			h := newHarness(t, store)
			acct, bearer := h.account(t)
			for _, p := range licensing.DefaultCatalog().Products {
				if err := store.SetPlan(context.Background(), licensing.Plan{AccountID: acct.ID, ProductID: p.ID, NamedSeats: 5, ConcurrentSeats: 5}); err != nil {
					t.Fatal(err)
				}
			}
			replay := func(id string, reqs []readmeRequest) string {
				t.Helper()
				for _, r := range reqs {
					status, raw, answer := scimCall(t, h, bearer, r.method, strings.ReplaceAll(r.path, "{id}", id), r.body)
					if status >= 300 {
						t.Fatalf("%s %s: %d %s", r.method, r.path, status, raw)
					}
					if r.method == http.MethodPost {
						id, _ = answer["id"].(string)
					}
					if strings.HasPrefix(r.path, "/Users") {
						checkInAgreement(t, r.method+" "+r.path, answer)
					}
				}
				return id
			}
			status, raw, user := scimCall(t, h, bearer, "POST", "/Users", `{"schemas":["`+schemas.UserURN+`"],"userName":"okta.readme@example.com"}`)
			if status != http.StatusCreated {
				t.Fatalf("POST: %d %s", status, raw)
			}
			oktaID := replay(user["id"].(string), okta)
			entraID := replay("", entra)
			for id, want := range map[string]licensing.Assignments{
				oktaID:  nil,
				entraID: {"remote-support-v5": licensing.LicenseNamed},
			} {
				u, err := store.User(context.Background(), acct.ID, id)
				if err != nil {
					t.Fatal(err)
				}
				if len(u.Assignments) != len(want) || (len(want) > 0 && u.Assignments.Of("remote-support-v5") != want.Of("remote-support-v5")) {
					t.Errorf("user %s holds %v after the README's requests, want %v", u.UserName, u.Assignments, want)
				}
			}
		})
	}
}

// checkInAgreement checks that a user representation's catalog
// entitlements are exactly the products its licensing extension holds.
func checkInAgreement(t *testing.T, step string, user map[string]any) {
	t.Helper()
	c := licensing.DefaultCatalog()
	fromExt := map[string]bool{}
	ext, _ := user[schemas.LicensingURN].(map[string]any)
	for _, p := range c.Products {
		if v, _ := ext[p.Attribute()].(string); v != "none" && v != "" {
			fromExt[p.ID+":"+v] = true
		}
	}
	fromEnts := map[string]bool{}
	ents, _ := user["entitlements"].([]any)
	for _, e := range ents {
		v, _ := e.(map[string]any)["value"].(string)
		if _, ok := c.Entitlement(v); ok {
			fromEnts[v] = true
		}
	}
	if len(fromExt) != len(fromEnts) {
		t.Errorf("%s: extension %v and entitlements %v disagree", step, ext, ents)
	}
	for id := range fromExt {
		if !fromEnts[id] {
			t.Errorf("%s: extension %v and entitlements %v disagree", step, ext, ents)
		}
	}
}
