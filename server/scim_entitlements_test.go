package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/schemas"
)

// TestEntitlementsAccountScoped checks that /Entitlements shows each
// account its own plan's numbers: another account's token sees zeros (or
// its own plan), never this account's, and a cursor of one account is
// refused to the other.
func TestEntitlementsAccountScoped(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			store := b.Open(t)
			h := newHarness(t, store)
			a, bearerA := h.account(t)
			bAcct, bearerB := h.account(t)
			ctx := context.Background()
			if err := store.SetPlan(ctx, licensing.Plan{AccountID: a.ID, ProductID: "remote-support-v5", NamedSeats: 7, ConcurrentSeats: 3}); err != nil {
				t.Fatal(err)
			}
			if err := store.SetPlan(ctx, licensing.Plan{AccountID: bAcct.ID, ProductID: "service-desk", NamedSeats: 2}); err != nil {
				t.Fatal(err)
			}
			status, raw, _ := scimCall(t, h, bearerA, "POST", "/Users",
				`{"schemas":["`+schemas.UserURN+`"],"userName":"scoped@a.test","entitlements":[{"value":"remote-support-v5:named"}]}`)
			if status != http.StatusCreated {
				t.Fatalf("POST: %d %s", status, raw)
			}
			seats := func(bearer, id string) (int, int) {
				t.Helper()
				status, raw, e := scimCall(t, h, bearer, "GET", "/Entitlements/"+id, "")
				if status != http.StatusOK {
					t.Fatalf("GET %s: %d %s", id, status, raw)
				}
				n, _ := e["seats"].(float64)
				used, _ := e["seatsUsed"].(float64)
				return int(n), int(used)
			}
			if n, used := seats(bearerA, "remote-support-v5:named"); n != 7 || used != 1 {
				t.Errorf("account A sees %d/%d named seats, want 7/1", used, n)
			}
			if n, used := seats(bearerA, "remote-support-v5:concurrent"); n != 3 || used != 0 {
				t.Errorf("account A sees %d/%d concurrent seats, want 3/0", used, n)
			}
			if n, used := seats(bearerB, "remote-support-v5:named"); n != 0 || used != 0 {
				t.Errorf("account B sees %d/%d of account A's named seats, want 0/0", used, n)
			}
			if n, _ := seats(bearerB, "service-desk:named"); n != 2 {
				t.Errorf("account B sees %d named seats of its own plan, want 2", n)
			}
			if n, _ := seats(bearerA, "service-desk:named"); n != 0 {
				t.Errorf("account A sees %d of account B's seats, want 0", n)
			}
			// A filter on the numbers runs on the caller's numbers only.
			status, raw, list := scimCall(t, h, bearerB, "GET", "/Entitlements?filter="+url.QueryEscape("seats gt 0"), "")
			if status != http.StatusOK || list["totalResults"] != float64(1) {
				t.Errorf("account B's entitlements with seats: %d %s, want only service-desk:named", status, raw)
			}
			status, raw, page := scimCall(t, h, bearerA, "GET", "/Entitlements?cursor=&count=1", "")
			next, _ := page["nextCursor"].(string)
			if status != http.StatusOK || next == "" {
				t.Fatalf("first cursor page: %d %s", status, raw)
			}
			if status, raw, _ := scimCall(t, h, bearerB, "GET", "/Entitlements?count=1&cursor="+next, ""); status != http.StatusBadRequest || !strings.Contains(raw, "invalidCursor") {
				t.Errorf("account B used account A's cursor: %d %s", status, raw)
			}
			if status, raw, _ := scimCall(t, h, "", "GET", "/Entitlements", ""); status != http.StatusUnauthorized {
				t.Errorf("no token: %d %s", status, raw)
			}
		})
	}
}

// TestEntitlementsRoundTrip checks what each writer does to a whole
// replacement: a GET-then-PUT changes nothing (not even the version),
// whatever the user holds through the extension, entitlements and roles;
// a PUT that changes one writer and sends the others as read wins for
// that writer; a PUT without the extension or without the entitlements
// lets the other speak.
func TestEntitlementsRoundTrip(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			store := b.Open(t)
			h := newHarness(t, store)
			acct, bearer := h.account(t)
			ctx := context.Background()
			for _, p := range []string{"remote-support-v5", "remote-support-v4", "service-desk"} {
				if err := store.SetPlan(ctx, licensing.Plan{AccountID: acct.ID, ProductID: p, NamedSeats: 5, ConcurrentSeats: 5}); err != nil {
					t.Fatal(err)
				}
			}
			status, raw, user := scimCall(t, h, bearer, "POST", "/Users", `{"schemas":["`+schemas.UserURN+`"],"userName":"trip@x.test",
				"emails":[{"value":"trip@x.test","type":"work","primary":true}],
				"entitlements":[{"value":"remote-support-v5:named"},{"value":"beta","display":"Beta"}],
				"roles":[{"value":"ServiceDeskConcurrent","display":"Desk","type":"WindowsAzureActiveDirectoryRole","primary":false},{"value":"Reader"}],
				"`+schemas.LicensingURN+`":{"remoteSupportV4":"concurrent"}}`)
			if status != http.StatusCreated {
				t.Fatalf("POST: %d %s", status, raw)
			}
			id, _ := user["id"].(string)
			held := func(want licensing.Assignments) {
				t.Helper()
				u, err := store.User(ctx, acct.ID, id)
				if err != nil {
					t.Fatal(err)
				}
				if len(u.Assignments) != len(want) {
					t.Fatalf("assignments %v, want %v", u.Assignments, want)
				}
				for p, typ := range want {
					if u.Assignments.Of(p) != typ {
						t.Fatalf("assignments %v, want %v", u.Assignments, want)
					}
				}
			}
			held(licensing.Assignments{"remote-support-v5": licensing.LicenseNamed, "remote-support-v4": licensing.LicenseConcurrent, "service-desk": licensing.LicenseConcurrent})

			put := func(body map[string]any) (int, string, map[string]any) {
				t.Helper()
				b, err := json.Marshal(body)
				if err != nil {
					t.Fatal(err)
				}
				return scimCall(t, h, bearer, "PUT", "/Users/"+id, string(b))
			}
			_, _, got := scimCall(t, h, bearer, "GET", "/Users/"+id, "")
			version := got["meta"].(map[string]any)["version"]
			status, raw, again := put(got)
			if status != http.StatusOK || again["meta"].(map[string]any)["version"] != version {
				t.Fatalf("GET-then-PUT: %d %s, want the version %v unchanged", status, raw, version)
			}
			delete(again, "meta")
			delete(got, "meta")
			if a, b := mustJSON(t, again), mustJSON(t, got); a != b {
				t.Errorf("GET-then-PUT changed the representation:\n%s\n%s", b, a)
			}
			held(licensing.Assignments{"remote-support-v5": licensing.LicenseNamed, "remote-support-v4": licensing.LicenseConcurrent, "service-desk": licensing.LicenseConcurrent})

			// Okta's PUT with the extension changed and the entitlements as
			// read: the extension wins, the entitlements follow.
			got[schemas.LicensingURN].(map[string]any)["remoteSupportV5"] = "concurrent"
			if status, raw, _ := put(got); status != http.StatusOK {
				t.Fatalf("PUT with the extension changed: %d %s", status, raw)
			}
			held(licensing.Assignments{"remote-support-v5": licensing.LicenseConcurrent, "remote-support-v4": licensing.LicenseConcurrent, "service-desk": licensing.LicenseConcurrent})

			// A PUT without the extension: the entitlements decide, and
			// the plain entitlement stays.
			_, _, got = scimCall(t, h, bearer, "GET", "/Users/"+id, "")
			delete(got, schemas.LicensingURN)
			got["entitlements"] = []any{map[string]any{"value": "remote-support-v5:named"}, map[string]any{"value": "service-desk:concurrent"}, map[string]any{"value": "beta"}}
			status, raw, answer := put(got)
			if status != http.StatusOK {
				t.Fatalf("PUT without the extension: %d %s", status, raw)
			}
			held(licensing.Assignments{"remote-support-v5": licensing.LicenseNamed, "service-desk": licensing.LicenseConcurrent})
			if ents := mustJSON(t, answer["entitlements"]); !strings.Contains(ents, `"beta"`) || !strings.Contains(ents, `"remote-support-v5:named"`) {
				t.Errorf("entitlements after the PUT: %s", ents)
			}

			// A PUT without the entitlements: the extension decides.
			_, _, got = scimCall(t, h, bearer, "GET", "/Users/"+id, "")
			delete(got, "entitlements")
			got[schemas.LicensingURN] = map[string]any{"remoteSupportV5": "none", "serviceDesk": "concurrent"}
			if status, raw, _ := put(got); status != http.StatusOK {
				t.Fatalf("PUT without the entitlements: %d %s", status, raw)
			}
			held(licensing.Assignments{"service-desk": licensing.LicenseConcurrent})

			// A PUT with neither holds nothing but what its roles newly name:
			// the roles are unchanged, so nothing.
			_, _, got = scimCall(t, h, bearer, "GET", "/Users/"+id, "")
			delete(got, "entitlements")
			delete(got, schemas.LicensingURN)
			if status, raw, _ := put(got); status != http.StatusOK {
				t.Fatalf("PUT with neither: %d %s", status, raw)
			}
			held(nil)
		})
	}
}

// TestEntitlementsNamedSeatRace checks that named seats taken through
// entitlements and roles at once, from many clients, never exceed the
// plan: of 12 users asking for 5 seats, 5 get one and the others the
// extension's error.
func TestEntitlementsNamedSeatRace(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			store := b.Open(t)
			h := newHarness(t, store)
			acct, bearer := h.account(t)
			if err := store.SetPlan(context.Background(), licensing.Plan{AccountID: acct.ID, ProductID: "remote-support-v5", NamedSeats: 5}); err != nil {
				t.Fatal(err)
			}
			const n = 12
			ids := make([]string, n)
			for i := range ids {
				status, raw, u := scimCall(t, h, bearer, "POST", "/Users", `{"schemas":["`+schemas.UserURN+`"],"userName":"race`+string(rune('a'+i))+`@x.test"}`)
				if status != http.StatusCreated {
					t.Fatalf("POST: %d %s", status, raw)
				}
				ids[i], _ = u["id"].(string)
			}
			var wg sync.WaitGroup
			statuses := make([]int, n)
			details := make([]string, n)
			for i, id := range ids {
				body := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"entitlements","value":[{"value":"remote-support-v5:named"}]}]}`
				if i%2 == 1 {
					body = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"roles[primary eq \"True\"].value","value":"RemoteSupportV5Named"}]}`
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					statuses[i], details[i], _ = scimCall(t, h, bearer, "PATCH", "/Users/"+id, body)
				}()
			}
			wg.Wait()
			ok := 0
			for i, s := range statuses {
				switch {
				case s == http.StatusOK:
					ok++
				case s != http.StatusBadRequest || !strings.Contains(details[i], "No named license left for Remote Support v5: 5 of 5 assigned."):
					t.Errorf("user %d: %d %s", i, s, details[i])
				}
			}
			if ok != 5 {
				t.Errorf("%d users got a named seat, want 5", ok)
			}
			usage, err := store.Usage(context.Background(), acct.ID)
			if err != nil || len(usage) != 1 || usage[0].NamedAssigned != 5 {
				t.Errorf("usage %+v %v, want 5 named seats assigned", usage, err)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestEntitlementsMatchTheirSchema checks that every attribute of every
// entitlement is one /Schemas declares for the Entitlement schema (or a
// common attribute), of the declared type, and that the declared ones
// are all read-only.
func TestEntitlementsMatchTheirSchema(t *testing.T) {
	h := newHarness(t, testenv.Backends(t)[0].Open(t))
	_, bearer := h.account(t)
	status, raw, sch := scimCall(t, h, bearer, "GET", "/Schemas/"+schemas.EntitlementURN, "")
	if status != http.StatusOK {
		t.Fatalf("GET the schema: %d %s", status, raw)
	}
	declared := map[string]string{}
	for _, a := range objects(sch["attributes"]) {
		declared[a["name"].(string)] = a["type"].(string)
		if a["mutability"] != "readOnly" {
			t.Errorf("%v is %v, want readOnly", a["name"], a["mutability"])
		}
	}
	status, raw, list := scimCall(t, h, bearer, "GET", "/Entitlements", "")
	if status != http.StatusOK || list["totalResults"] != float64(2*len(licensing.DefaultCatalog().Products)) {
		t.Fatalf("GET /Entitlements: %d %s", status, raw)
	}
	for _, res := range objects(list["Resources"]) {
		for key, value := range res {
			if key == "id" || key == "schemas" || key == "meta" {
				continue
			}
			typ, ok := declared[key]
			if !ok {
				t.Errorf("%v: %s is not declared by /Schemas", res["id"], key)
				continue
			}
			_, isString := value.(string)
			_, isBool := value.(bool)
			n, isNumber := value.(float64)
			if (typ == "string") != isString || (typ == "boolean") != isBool || (typ == "integer") != (isNumber && n == float64(int(n))) {
				t.Errorf("%v: %s = %#v, declared %s", res["id"], key, value, typ)
			}
		}
	}
}
