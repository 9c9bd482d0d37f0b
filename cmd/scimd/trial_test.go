package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// trialLine is what the first start and account create --trial print about
// the trial plan of the built-in catalog.
const trialLine = "5 named and 2 concurrent seats of each product (Remote Support v5, Remote Support v4, Service Desk)"

// TestFirstStartGrantsTheTrialPlan proves that the account made at first
// start can license its first users at once: a user created with a named
// product right after the start gets it, where an account without seats
// answers "No named license left ...: 0 of 0 assigned."
func TestFirstStartGrantsTheTrialPlan(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "scimd.db")
	addr, stdout, stop := startServe(t, db)
	out := stdout.String()
	if !strings.Contains(out, "Trial plan:    "+trialLine) {
		t.Fatalf("first start does not print the trial plan:\n%s", out)
	}
	token := regexp.MustCompile(`Bearer token:\s+(scimd_\S+)`).FindStringSubmatch(out)
	if token == nil {
		t.Fatalf("no token in:\n%s", out)
	}
	const licensingURN = "urn:ietf:params:scim:schemas:extension:licensing:2.0:User"
	body := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","` + licensingURN + `"],
		"userName":"first@example.com","active":true,
		"` + licensingURN + `":{"remoteSupportV5":"named","serviceDesk":"concurrent"}}`
	req, _ := http.NewRequest("POST", "http://"+addr+"/scim/v2/Users", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token[1])
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("creating a user with a named license answered %d: %s", resp.StatusCode, raw)
	}
	var user map[string]any
	if err := json.Unmarshal(raw, &user); err != nil {
		t.Fatal(err)
	}
	if ext, _ := user[licensingURN].(map[string]any); ext["remoteSupportV5"] != "named" || ext["serviceDesk"] != "concurrent" {
		t.Fatalf("the user's licenses are %v", user[licensingURN])
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	list := runCmd(t, db, "plan", "list", "--account", "default")
	if !regexp.MustCompile(`remote-support-v5\s+Remote Support v5\s+1/5\s+0/2`).MatchString(list) ||
		!regexp.MustCompile(`service-desk\s+Service Desk\s+0/5\s+0/2`).MatchString(list) {
		t.Fatalf("plan list after first start:\n%s", list)
	}
}

// TestAccountCreateTrial proves that account create --trial gives the new
// account the trial plan and says so, and that account create without it
// leaves the account at no seats.
func TestAccountCreateTrial(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "scimd.db")
	if out := runCmd(t, db, "account", "create", "--trial", "acme"); !strings.Contains(out, "trial plan: "+trialLine) {
		t.Fatalf("account create --trial printed:\n%s", out)
	}
	list := runCmd(t, db, "plan", "list", "--account", "acme")
	for _, product := range []string{"remote-support-v5", "remote-support-v4", "service-desk"} {
		if !regexp.MustCompile(product + `\s+.*\s0/5\s+0/2\n`).MatchString(list) {
			t.Errorf("acme's plan of %s is not the trial:\n%s", product, list)
		}
	}
	if out := runCmd(t, db, "account", "create", "plain"); strings.Contains(out, "trial") {
		t.Fatalf("account create without --trial printed:\n%s", out)
	}
	list = runCmd(t, db, "plan", "list", "--account", "plain")
	if n := len(regexp.MustCompile(`\s0/0\s+0/0\n`).FindAllString(list, -1)); n != 3 {
		t.Fatalf("a plain account has seats:\n%s", list)
	}
}

// runCmd runs a scimd command on the database and returns what it
// printed, failing the test if it fails.
func runCmd(t *testing.T, db string, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), args, &out, &errOut, envFor(db)); err != nil {
		t.Fatalf("%v: %v %s", args, err, errOut.String())
	}
	return out.String() + errOut.String()
}
