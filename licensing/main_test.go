package licensing_test

import (
	"os"
	"testing"

	"github.com/scimd/scimd/internal/testenv"
)

// TestMain checks, after the tests passed, that every statement they ran
// on PostgreSQL stayed within one account (testenv.Main).
func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
