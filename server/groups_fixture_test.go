package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/storage/sqlstore"
)

// groupFixture is where the admin API's group tests start, on one
// backend: a server over the store, the account under test and another
// one, each with its SCIM token and a plan of Remote Support v5. The other
// account's groups and users must never show in the first's answers.
type groupFixture struct {
	store           *sqlstore.Store
	h               *harness
	acct, other     licensing.Account
	scim, otherSCIM string
}

// onGroups runs test on each backend with a new groupFixture whose two
// accounts have namedSeats named and 5 concurrent seats of Remote
// Support v5.
func onGroups(t *testing.T, namedSeats int, test func(t *testing.T, f groupFixture)) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := groupFixture{store: b.Open(t)}
			f.h = newHarness(t, f.store)
			f.acct, f.scim = f.h.account(t)
			f.other, f.otherSCIM = f.h.account(t)
			for _, id := range []string{f.acct.ID, f.other.ID} {
				setPlan(t, f.store, licensing.Plan{AccountID: id, ProductID: rs5, NamedSeats: namedSeats, ConcurrentSeats: 5})
			}
			test(t, f)
		})
	}
}

// agents stores active users of the account under test, one per name,
// with passwords ("secret-" and the name) and no assignments.
func (f groupFixture) agents(t *testing.T, names ...string) []licensing.User {
	t.Helper()
	users := make([]licensing.User, 0, len(names))
	for _, name := range names {
		users = append(users, agentUser(t, f.store, f.acct.ID, name, true, nil))
	}
	return users
}

// scimGroup makes a group through SCIM with the members (users or groups)
// and the licenses (the Group licensing extension's JSON, "" for none),
// and returns its id.
func scimGroup(t *testing.T, h *harness, bearer, name, licenses string, members ...string) string {
	t.Helper()
	var refs []string
	for _, m := range members {
		refs = append(refs, `{"value":"`+m+`"}`)
	}
	ext := ""
	if licenses != "" {
		ext = `,"urn:ietf:params:scim:schemas:extension:licensing:2.0:Group":` + licenses
	}
	status, raw, g := scimCall(t, h, bearer, "POST", "/Groups", `{`+groupSchema+`,"displayName":"`+name+`","members":[`+strings.Join(refs, ",")+`]`+ext+`}`)
	if status != http.StatusCreated {
		t.Fatalf("POST /Groups %s: %d %s", name, status, raw)
	}
	return g["id"].(string)
}

// licensedGroup makes, through SCIM, a group giving rs5 as license to the
// members (added one PATCH each, in that order: their join order) and
// returns its id.
func licensedGroup(t *testing.T, h *harness, bearer, name, license string, members ...licensing.User) string {
	t.Helper()
	id := scimGroup(t, h, bearer, name, `{"remoteSupportV5":"`+license+`"}`)
	for _, m := range members {
		status, raw, _ := scimCall(t, h, bearer, "PATCH", "/Groups/"+id, `{`+patchSchema+`,
			"Operations":[{"op":"add","path":"members","value":[{"value":"`+m.ID+`"}]}]}`)
		if status != http.StatusOK {
			t.Fatalf("PATCH /Groups/%s add %s: %d %s", id, m.UserName, status, raw)
		}
	}
	return id
}

// plainUser stores an active user without password or assignments.
func plainUser(t *testing.T, store licensing.Store, accountID, userName string) licensing.User {
	t.Helper()
	now := time.Now().UTC()
	u := licensing.User{AccountID: accountID, ID: licensing.NewID(), UserName: userName, Active: true, Doc: []byte(`{}`),
		Created: now, LastModified: now, Version: 1}
	if err := store.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}
