package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/scimd/scimd"

// rule forbids packages under a prefix to depend (directly or not) on
// packages matching any of the forbidden prefixes.
type rule struct {
	pkg       string
	forbidden []string
	why       string
}

var rules = []rule{
	{module + "/licensing", []string{"net/http", "gorm.io/", "github.com/labstack/", "github.com/elimity-com/", "database/sql", module + "/"}, "the domain imports the standard library only (no HTTP, no SQL)"},
	{module + "/scim", []string{"gorm.io/", "database/sql", module + "/storage", module + "/admin", module + "/agent", module + "/console", module + "/server", module + "/cmd"}, "adapters never import gorm, storage or each other"},
	{module + "/admin", []string{"gorm.io/", module + "/storage", module + "/scim", module + "/agent", module + "/console", module + "/server", module + "/cmd"}, "adapters never import gorm, storage or each other"},
	{module + "/agent", []string{"gorm.io/", "database/sql", module + "/storage", module + "/scim", module + "/admin", module + "/console", module + "/server", module + "/cmd"}, "adapters never import gorm, storage or each other"},
	{module + "/console", []string{"gorm.io/", "database/sql", module + "/storage", module + "/scim", module + "/admin", module + "/agent", module + "/server", module + "/cmd"}, "adapters never import gorm, storage or each other"},
	{module + "/storage", []string{"net/http", "github.com/labstack/", "github.com/elimity-com/", module + "/scim", module + "/admin", module + "/server", module + "/cmd"}, "storage never imports an HTTP package"},
	{module + "/server", []string{"gorm.io/", module + "/storage", module + "/cmd"}, "the HTTP assembly does not reach into storage"},
}

// allowedInternal lists module packages a rule's forbidden module prefix
// does not cover (the domain itself, small shared helpers).
var allowedInternal = []string{module + "/licensing", module + "/schemas", module + "/internal/logctx", module + "/internal/password", module + "/internal/problem"}

func TestDependencyDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg, deps := fields[0], fields[1:]
		for _, r := range rules {
			if pkg != r.pkg && !strings.HasPrefix(pkg, r.pkg+"/") {
				continue
			}
			if strings.HasPrefix(pkg, module+"/internal/") {
				continue
			}
			checked++
			for _, d := range deps {
				if forbidden(d, r) {
					t.Errorf("%s depends on %s: %s", pkg, d, r.why)
				}
			}
		}
	}
	if checked < 5 {
		t.Fatalf("checked only %d packages: the rules no longer match the layout", checked)
	}
}

func forbidden(dep string, r rule) bool {
	for _, f := range r.forbidden {
		if !strings.HasPrefix(dep, f) {
			continue
		}
		if strings.HasPrefix(f, module) {
			for _, ok := range allowedInternal {
				if dep == ok && !strings.HasPrefix(r.pkg, ok) {
					return false
				}
			}
			if dep == r.pkg || strings.HasPrefix(dep, r.pkg+"/") {
				return false
			}
		}
		return true
	}
	return false
}
