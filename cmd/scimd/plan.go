package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/scimd/scimd/config"
	"github.com/scimd/scimd/licensing"
)

// loadCatalog returns the built-in catalog, or the one in the file.
func loadCatalog(path string) (licensing.Catalog, error) {
	if path == "" {
		return licensing.DefaultCatalog(), nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return licensing.Catalog{}, fmt.Errorf("catalog: %w", err)
	}
	c, err := licensing.ParseCatalog(data)
	if err != nil {
		return licensing.Catalog{}, fmt.Errorf("catalog %s: %w", path, err)
	}
	return c, nil
}

func plan(ctx context.Context, args []string, stdout, stderr io.Writer, getenv env) error {
	if len(args) == 0 || (args[0] != "set" && args[0] != "list") {
		return fmt.Errorf("plan needs a subcommand: set or list")
	}
	sub := args[0]
	cfg := config.Default()
	var accountName, product string
	var named, concurrent int
	purpose := "List an account's plans: named and concurrent seats per product, and their use."
	if sub == "set" {
		purpose = "Set the named and concurrent seats of one product for an account."
	}
	fs := newFlagSet("plan "+sub, purpose, stderr)
	cfg.BindDatabase(fs)
	cfg.BindCatalog(fs)
	fs.StringVar(&accountName, "account", licensing.DefaultAccountName, "account name")
	if sub == "set" {
		fs.StringVar(&product, "product", "", "product id from the catalog, e.g. remote-support-v5")
		fs.IntVar(&named, "named", -1, "named seats")
		fs.IntVar(&concurrent, "concurrent", -1, "concurrent (shared) seats")
	}
	if err := config.Parse(fs, args[1:], getenv); err != nil {
		return err
	}
	catalog, err := loadCatalog(cfg.Catalog)
	if err != nil {
		return err
	}
	store, acct, err := openAccount(ctx, cfg, accountName)
	if err != nil {
		return err
	}
	defer store.Close()
	if sub == "list" {
		return printPlans(ctx, stdout, store, catalog, acct.ID)
	}
	p, ok := catalog.Product(product)
	if !ok {
		return fmt.Errorf("unknown product %q: the catalog has %s", product, productIDs(catalog))
	}
	current, err := currentPlan(ctx, store, acct.ID, p.ID)
	if err != nil {
		return err
	}
	if named >= 0 {
		current.NamedSeats = named
	}
	if concurrent >= 0 {
		current.ConcurrentSeats = concurrent
	}
	if named < 0 && concurrent < 0 {
		return errors.New("plan set needs --named, --concurrent or both")
	}
	if err := licensing.ChangePlan(asOperator(ctx, acct.ID, getenv), store, licensing.SystemClock{}, current); err != nil {
		var below *licensing.PlanBelowAssignedError
		if errors.As(err, &below) {
			below.Product = p
			return below
		}
		return err
	}
	fmt.Fprintf(stdout, "%s for account %s: %d named, %d concurrent seats\n", p.Name, acct.Name, current.NamedSeats, current.ConcurrentSeats)
	return nil
}

// currentPlan returns the account's plan of the product, zero if none.
func currentPlan(ctx context.Context, store licensing.Store, accountID, productID string) (licensing.Plan, error) {
	usage, err := store.Usage(ctx, accountID)
	if err != nil {
		return licensing.Plan{}, err
	}
	for _, u := range usage {
		if u.ProductID == productID {
			return u.Plan, nil
		}
	}
	return licensing.Plan{AccountID: accountID, ProductID: productID}, nil
}

func printPlans(ctx context.Context, w io.Writer, store licensing.Store, catalog licensing.Catalog, accountID string) error {
	usage, err := store.Usage(ctx, accountID)
	if err != nil {
		return err
	}
	byProduct := map[string]licensing.Usage{}
	for _, u := range usage {
		byProduct[u.ProductID] = u
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PRODUCT\tNAME\tNAMED (ASSIGNED/SEATS)\tCONCURRENT (OCCUPIED/SEATS)")
	for _, p := range catalog.Products {
		u := byProduct[p.ID]
		fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%d/%d\n", p.ID, p.Name, u.NamedAssigned, u.NamedSeats, u.ConcurrentOccupied, u.ConcurrentSeats)
	}
	return tw.Flush()
}

func productIDs(c licensing.Catalog) string {
	s := ""
	for i, p := range c.Products {
		if i > 0 {
			s += ", "
		}
		s += p.ID
	}
	return s
}

// trialNote says what the trial plan gives, for the messages of first
// start and account create --trial.
func trialNote(catalog licensing.Catalog) string {
	names := make([]string, len(catalog.Products))
	for i, p := range catalog.Products {
		names[i] = p.Name
	}
	return fmt.Sprintf("%d named and %d concurrent seats of each product (%s)",
		licensing.TrialNamedSeats, licensing.TrialConcurrentSeats, strings.Join(names, ", "))
}
