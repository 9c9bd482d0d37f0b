package licensing

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestTokenRoundTrip(t *testing.T) {
	tok, bearer, err := NewToken("acct", "okta", ScopeSCIM, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	id, ok := TokenID(bearer)
	if !ok || id != tok.ID {
		t.Fatalf("TokenID(%q) = %q %v, want %q", bearer, id, ok, tok.ID)
	}
	if !tok.Matches(bearer) {
		t.Fatal("a token does not match its own bearer string")
	}
	if tok.Matches(bearer+"x") || tok.Matches(strings.Replace(bearer, bearer[len(bearer)-1:], "A", 1)+"B") {
		t.Fatal("a token matches a different bearer string")
	}
	if strings.Contains(string(tok.Hash), bearer) || len(tok.Hash) != 32 {
		t.Fatal("the stored hash must be a SHA-256, not the secret")
	}
	_, other, _ := NewToken("acct", "okta", ScopeSCIM, time.Unix(0, 0))
	if other == bearer {
		t.Fatal("two tokens share a secret")
	}
}

func TestTokenIDRejectsMalformedBearers(t *testing.T) {
	for _, b := range []string{"", "scimd_", "scimd_abc_def", "scimd_0123456789abcdeg_x", "scimd_0123456789abcdef_", "xscimd_0123456789abcdef_x", "Bearer scimd_0123456789abcdef_x"} {
		if id, ok := TokenID(b); ok {
			t.Errorf("TokenID(%q) = %q, want rejection", b, id)
		}
	}
}

func TestValidateAccountName(t *testing.T) {
	for _, ok := range []string{"default", "acme", "a", "acme-eu.1_x"} {
		if err := ValidateAccountName(ok); err != nil {
			t.Errorf("%q rejected: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "Acme", "-acme", "a b", strings.Repeat("a", 64), "acme/x"} {
		if err := ValidateAccountName(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestNewIDIsAUUIDv4(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id := NewID()
		if !re.MatchString(id) || seen[id] {
			t.Fatalf("bad or repeated id %q", id)
		}
		seen[id] = true
	}
}

func TestParseScope(t *testing.T) {
	if s, err := ParseScope("scim"); err != nil || s != ScopeSCIM {
		t.Fatalf("ParseScope(scim) = %q %v", s, err)
	}
	if _, err := ParseScope("root"); err == nil {
		t.Fatal("unknown scope accepted")
	}
}
