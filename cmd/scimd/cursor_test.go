package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// scimCall sends a SCIM request to the server at addr and decodes the
// answer.
func scimCall(t *testing.T, addr, bearer, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+addr+"/scim/v2"+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode, m
}

// TestServeSealsCursorsWithTheDatabaseKey stops scimd serve in the middle
// of a cursor walk and starts it again on the same database: the cursor
// the first process gave leads the second to the next page, as it would
// lead any replica.
func TestServeSealsCursorsWithTheDatabaseKey(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "scimd.db")
	addr, stdout, stop := startServe(t, db)
	token := regexp.MustCompile(`Bearer token:\s+(scimd_\S+)`).FindStringSubmatch(stdout.String())
	if token == nil {
		t.Fatalf("first start printed no token:\n%s", stdout.String())
	}
	var ids []string
	for _, name := range []string{"ann", "bob"} {
		status, u := scimCall(t, addr, token[1], "POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"`+name+`@example.com"}`)
		if status != http.StatusCreated {
			t.Fatalf("create %s: %d %v", name, status, u)
		}
		ids = append(ids, u["id"].(string))
	}
	status, page := scimCall(t, addr, token[1], "GET", "/Users?cursor=&count=1", "")
	next, _ := page["nextCursor"].(string)
	if status != http.StatusOK || next == "" {
		t.Fatalf("first page: %d %v", status, page)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	addr, _, stop = startServe(t, db)
	defer stop()
	status, page = scimCall(t, addr, token[1], "GET", "/Users?count=1&cursor="+url.QueryEscape(next), "")
	res, _ := page["Resources"].([]any)
	if status != http.StatusOK || len(res) != 1 || res[0].(map[string]any)["id"] != ids[1] {
		t.Fatalf("the first process's cursor after a restart: %d %v, want bob's page", status, page)
	}
}
