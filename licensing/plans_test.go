package licensing_test

import (
	"context"
	"testing"

	"github.com/scimd/scimd/internal/testenv"
	"github.com/scimd/scimd/licensing"
)

// TestGrantTrialSetsAndAuditsEachProduct proves that the trial plan is set
// through ChangePlan, the service scimd plan set uses: every product of the
// catalog gets the trial seats, each change recorded as "plan.change" by
// the context's principal.
func TestGrantTrialSetsAndAuditsEachProduct(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			store := b.Open(t)
			acct, _ := testenv.Account(t, store)
			ctx := licensing.WithPrincipal(context.Background(), licensing.CLIPrincipal("", "ops"))
			catalog := licensing.DefaultCatalog()
			plans, err := licensing.GrantTrial(ctx, store, licensing.SystemClock{}, catalog, acct.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(plans) != len(catalog.Products) {
				t.Fatalf("GrantTrial returned %d plans for %d products", len(plans), len(catalog.Products))
			}
			usage, err := store.Usage(ctx, acct.ID)
			if err != nil {
				t.Fatal(err)
			}
			seats := map[string]licensing.Plan{}
			for _, u := range usage {
				seats[u.ProductID] = u.Plan
			}
			for _, p := range catalog.Products {
				if got := seats[p.ID]; got.NamedSeats != licensing.TrialNamedSeats || got.ConcurrentSeats != licensing.TrialConcurrentSeats {
					t.Errorf("%s: %d named, %d concurrent; want the trial's %d and %d", p.ID, got.NamedSeats, got.ConcurrentSeats,
						licensing.TrialNamedSeats, licensing.TrialConcurrentSeats)
				}
			}
			log, err := store.AuditLog(ctx, acct.ID, licensing.AuditQuery{Action: "plan.change", Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			changed := map[string]bool{}
			for _, e := range log.Items {
				if e.ActorScope != licensing.ActorCLI || e.ActorName != "ops" || e.Detail != "named 5, concurrent 2" {
					t.Errorf("audit entry %+v: want the cli actor ops and the trial's numbers", e)
				}
				changed[e.TargetID] = true
			}
			if len(changed) != len(catalog.Products) {
				t.Errorf("plan changes audited for %v, want every product of the catalog", changed)
			}
		})
	}
}
