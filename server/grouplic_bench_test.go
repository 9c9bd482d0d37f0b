package server_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/server"
	"github.com/scimd/scimd/storage/sqlstore"
)

// Group licensing speed (issue 12, item 7), on PostgreSQL only: both
// benchmarks run when SCIMD_BENCH_POSTGRES names the database, each in a
// fresh account.
//
//	SCIMD_BENCH_POSTGRES='postgres://...' go test -run '^$' -bench 'GroupLicensePatch|UserNameLookupLicensed' -benchtime 3x ./server

// benchPostgres opens the benchmark database, migrated, and a harness
// whose SCIM server takes bodies of up to 8 MiB (a PATCH of 10,000
// members is about 600 KB).
func benchPostgres(b *testing.B) *harness {
	dbURL := os.Getenv("SCIMD_BENCH_POSTGRES")
	if dbURL == "" {
		b.Skip("SCIMD_BENCH_POSTGRES not set")
	}
	store, err := sqlstore.Open(dbURL, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	if _, err := store.Migrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	cursors, err := licensing.LoadCursors(b.Context(), store)
	if err != nil {
		b.Fatal(err)
	}
	sc, err := scim.New(store, scim.Options{MountPath: server.SCIMPath, DefaultPageSize: 100, MaxPageSize: 200,
		MaxBodyBytes: 8 << 20, Clock: licensing.SystemClock{}, Catalog: licensing.DefaultCatalog(), Cursors: cursors})
	if err != nil {
		b.Fatal(err)
	}
	return newHarness(b, store, func(o *server.Options) { o.SCIM = sc })
}

// BenchmarkGroupLicensePatch measures one SCIM PATCH adding 10,000 users
// to a group licensed named for remote-support-v5, with the seat
// accounting (10,000 named seats taken in the request's transaction).
// Each iteration uses a new group; the previous one is deleted (its
// licenses freed) outside the timer.
func BenchmarkGroupLicensePatch(b *testing.B) {
	const members = 10_000
	h := benchPostgres(b)
	acct, bearer := h.account(b)
	ctx := context.Background()
	if err := h.store.SetPlan(ctx, licensing.Plan{AccountID: acct.ID, ProductID: "remote-support-v5", NamedSeats: members, ConcurrentSeats: 10}); err != nil {
		b.Fatal(err)
	}
	seedMany(b, h.store, acct.ID, members)
	page, err := h.store.Users(ctx, acct.ID, licensing.Query{Limit: members, WithoutGroups: true})
	if err != nil || len(page.Items) != members {
		b.Fatalf("users: %d (%v)", len(page.Items), err)
	}
	var body strings.Builder
	body.WriteString(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[`)
	for i, u := range page.Items {
		if i > 0 {
			body.WriteByte(',')
		}
		fmt.Fprintf(&body, `{"value":%q}`, u.ID)
	}
	body.WriteString(`]}]}`)
	var group string
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if group != "" {
			if err := h.store.DeleteGroup(ctx, acct.ID, group, time.Now()); err != nil {
				b.Fatal(err)
			}
		}
		now := time.Now().UTC()
		g := licensing.Group{AccountID: acct.ID, ID: licensing.NewID(), DisplayName: fmt.Sprintf("Tier %d", i), Doc: []byte(`{}`),
			Assignments: licensing.Assignments{"remote-support-v5": licensing.LicenseNamed},
			Created:     now, LastModified: now, Version: 1}
		if err := h.store.CreateGroup(ctx, g); err != nil {
			b.Fatal(err)
		}
		group = g.ID
		b.StartTimer()
		status, _, raw := send(b, http.MethodPatch, h.url+"/Groups/"+group+"?excludedAttributes=members", bearer, "application/scim+json", body.String())
		if status != http.StatusOK && status != http.StatusNoContent {
			b.Fatalf("PATCH: %d %s", status, raw)
		}
	}
	b.StopTimer()
	usage, err := h.store.Usage(ctx, acct.ID)
	if err != nil || len(usage) != 1 || usage[0].NamedAssigned != members {
		b.Fatalf("usage after the PATCH: %+v (%v), want %d named", usage, err, members)
	}
}

// BenchmarkUserNameLookupLicensed measures GET /Users?filter=userName eq
// for a user in 50 licensed groups against a user in none and a user in
// 50 groups giving nothing, in an account of 1,000 users: the licenses in
// force are read from their rows, not computed from the memberships.
func BenchmarkUserNameLookupLicensed(b *testing.B) {
	h := benchPostgres(b)
	acct, bearer := h.account(b)
	ctx := context.Background()
	for _, p := range []string{"remote-support-v5", "remote-support-v4", "service-desk"} {
		if err := h.store.SetPlan(ctx, licensing.Plan{AccountID: acct.ID, ProductID: p, NamedSeats: 10, ConcurrentSeats: 10}); err != nil {
			b.Fatal(err)
		}
	}
	seedMany(b, h.store, acct.ID, 1000)
	page, err := h.store.Users(ctx, acct.ID, licensing.Query{Limit: 3, WithoutGroups: true})
	if err != nil || len(page.Items) != 3 {
		b.Fatal(err)
	}
	licensed, plain, member := page.Items[0], page.Items[1], page.Items[2]
	kinds := []licensing.LicenseType{licensing.LicenseNamed, licensing.LicenseConcurrent}
	for i := range 100 {
		now := time.Now().UTC()
		g := licensing.Group{AccountID: acct.ID, ID: licensing.NewID(), DisplayName: fmt.Sprintf("Group %03d", i), Doc: []byte(`{}`),
			Members: []licensing.Member{{ID: member.ID, Type: licensing.MemberUser}},
			Created: now, LastModified: now, Version: 1}
		if i%2 == 0 {
			g.Members[0].ID = licensed.ID
			g.Assignments = licensing.Assignments{"remote-support-v5": kinds[i/2%2], "remote-support-v4": kinds[(i/2+1)%2],
				"service-desk": licensing.LicenseConcurrent}
		}
		if err := h.store.CreateGroup(ctx, g); err != nil {
			b.Fatal(err)
		}
	}
	// Statistics as autovacuum would have them in time: without them the
	// planner, knowing nothing of the rows just written (nor of earlier
	// runs' accounts), scans every account's groups and licenses, and each
	// run in the same database measures slower than the one before.
	if err := h.store.AnalyzeUsers(ctx); err != nil {
		b.Fatal(err)
	}
	client := &http.Client{}
	// groups=50-unlicensed tells what the 50 memberships cost the answer
	// (the groups attribute) apart from the licenses.
	for _, c := range []struct {
		name string
		user licensing.User
	}{{"groups=0", plain}, {"groups=50", licensed}, {"groups=50-unlicensed", member}} {
		b.Run(c.name, func(b *testing.B) {
			url := fmt.Sprintf("%s/Users?filter=userName%%20eq%%20%%22%s%%22", h.url, c.user.UserName)
			for b.Loop() {
				getJSON(b, client, url, bearer)
			}
		})
	}
}

// seedMany stores n users of the account in one bulk write (SeedUsers).
func seedMany(b *testing.B, store *sqlstore.Store, accountID string, n int) {
	b.Helper()
	users := make([]licensing.User, n)
	now := time.Now().UTC()
	for i := range users {
		users[i] = licensing.User{AccountID: accountID, ID: licensing.NewID(), UserName: fmt.Sprintf("user%07d@example.com", i),
			Active: true, Doc: []byte(`{}`), Created: now, LastModified: now, Version: 1}
	}
	if err := store.SeedUsers(context.Background(), accountID, users); err != nil {
		b.Fatal(err)
	}
}
