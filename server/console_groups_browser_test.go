package server_test

import (
	"path"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/storage/sqlstore"
)

// TestConsoleGroupsInChromium drives the group pages in headless Chromium,
// on each backend: Groups reached from the navigation, searched by name,
// a group opened from the list; its Remote Support v5 license set to named
// with one named seat in the plan, after which the page shows the three
// members left waiting in line, two of them through a nested group, and
// says of a direct member that waits that it waits (its direct members
// worded "2 users and 1 group"); no
// horizontal overflow at 1280 and 390 px. It writes a screenshot of each
// page.
func TestConsoleGroupsInChromium(t *testing.T) {
	chromiumPath(t)
	dir := screenshotDir(t)
	onConsole(t, func(t *testing.T, store *sqlstore.Store, h *harness, acct licensing.Account, scim string) {
		setPlan(t, store, licensing.Plan{AccountID: acct.ID, ProductID: rs5, NamedSeats: 1, ConcurrentSeats: 5})
		consoleAdmin(t, store, acct.ID, "ann@example.com", licensing.AllPrivileges...)
		ids := createAgents(t, h, acct.ID, []string{"Ada Moreau", "Ben Okafor", "Chloe Lindqvist", "Ida Berg"},
			func(int) licensing.LicenseType { return licensing.LicenseNone })
		night := scimGroup(t, h, scim, "Night shift", "", ids["Ben"], ids["Chloe"])
		tier1 := scimGroup(t, h, scim, "Support Tier 1", `{"serviceDesk":"concurrent"}`, ids["Ada"], ids["Ida"], night)
		scimGroup(t, h, scim, "Sales EMEA", `{"remoteSupportV4":"named"}`)
		scimGroup(t, h, scim, "Support Tier 2 (escalations, weekends and public holidays)", `{"remoteSupportV5":"concurrent","serviceDesk":"named"}`)

		c := newChrome(t, h.base, dir, path.Base(t.Name()))
		c.signIn(acct.Name, "ann@example.com", "secret-ann@example.com")
		c.run("open Groups from the navigation", chromedp.Click(chromedp.CSS(`nav a[href="/console/groups"]`)), c.at("/console/groups"))
		if n := value(c, "count groups", chromedp.Evaluate[int](`document.querySelectorAll("table.groups tbody tr").length`)); n != 4 {
			t.Errorf("Groups lists %d groups, want 4", n)
		}
		c.noOverflow("the groups page at 1280 px")
		c.shot("28-groups")

		c.run("search tier 1", chromedp.SetValue(chromedp.CSS("#q"), "TIER 1"), chromedp.Click(chromedp.CSS("form.filters button")),
			until(`location.search.includes("q=TIER+1") && document.readyState === "complete"`))
		if got := c.text("table.groups tbody"); !strings.Contains(got, "Support Tier 1") || !strings.Contains(got, "Service Desk - Concurrent") ||
			strings.Contains(got, "Tier 2") {
			t.Errorf("the search for TIER 1 lists %q", got)
		}
		c.run("open Support Tier 1", chromedp.Click(chromedp.CSS(`table.groups a[href="/console/groups/`+tier1+`"]`)), c.at("/console/groups/"+tier1))
		if got := c.text("main"); !strings.Contains(got, "No member waits for a named seat.") || !strings.Contains(got, "Night shift") ||
			!strings.Contains(got, "2 users and 1 group.") {
			t.Errorf("Support Tier 1 before its license shows %q", got)
		}

		c.run("give Remote Support v5 named", chromedp.SetValue(chromedp.CSS("#license-"+rs5), "named"),
			chromedp.Click(chromedp.CSS(`form[action="/console/groups/`+tier1+`/products/`+rs5+`"] button`)),
			until(`location.search === "?done=licenses" && document.readyState === "complete"`))
		if got := c.text("main .notice"); got != "The group's licenses are changed." {
			t.Errorf("the notice says %q", got)
		}
		if n := value(c, "count waiting", chromedp.Evaluate[int](`document.querySelectorAll("table.waiting tbody tr").length`)); n != 3 {
			t.Errorf("%d members wait, want 3 (one named seat for four members)", n)
		}
		if got := c.text("table.waiting"); !strings.Contains(got, "1st") || !strings.Contains(got, "3rd") || strings.Count(got, "through Night shift") < 1 {
			t.Errorf("the waiting members show %q", got)
		}
		// Three of the four wait: Ada or Ida (or both), direct members,
		// are said to wait, not to hold the license.
		if got := c.text("table.members"); !strings.Contains(got, "Remote Support v5 - Named: waiting for a named seat (") {
			t.Errorf("the direct members show %q, want one waiting for a named seat", got)
		}
		c.noOverflow("the group page at 1280 px")
		c.shot("29-group-waiting")

		c.run("narrow window", chromedp.EmulateViewport(390, 844), chromedp.Navigate(h.base+"/console/groups"), c.at("/console/groups"))
		c.noOverflow("the groups page at 390 px")
		c.shot("30-groups-390px")
		c.run("group at 390 px", chromedp.Navigate(h.base+"/console/groups/"+tier1), c.at("/console/groups/"+tier1))
		c.noOverflow("the group page at 390 px")
		c.shot("31-group-390px")
	})
}
