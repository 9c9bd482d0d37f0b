package sqlscope

import (
	"strings"
	"testing"
)

// TestCheck: the reading of statements finds what crosses or
// escapes an account, and accepts the shapes scimd uses.
func TestCheck(t *testing.T) {
	accountTables := map[string]bool{"users": true, "assignments": true, "groups": true, "plans": true, "waiters": true, "audit_log": true}
	a, b := []any{"acc-a", "x", "y", "z"}, []any{"acc-a", "acc-b", "y", "z"}
	for _, c := range []struct {
		stmt    string
		vars    []any
		problem string // "" when the statement is one account's
	}{
		{`SELECT id FROM users WHERE account_id = $1 AND id = $2`, a, ""},
		{`SELECT id FROM users WHERE id = $1`, a, "users (as users) is not tied"},
		{`SELECT u.id FROM users AS u JOIN assignments AS s ON s.account_id = u.account_id AND s.user_id = u.id WHERE u.account_id = $1`, a, ""},
		{`SELECT u.id FROM users AS u JOIN assignments AS s ON s.user_id = u.id WHERE u.account_id = $1`, a, "assignments (as s) is not tied"},
		{`SELECT u.id FROM users u, assignments s WHERE u.account_id = $1 AND s.account_id = $2`, b, "given 2 different accounts"},
		{`SELECT u.id FROM users u, assignments s WHERE u.account_id = $1 AND s.account_id = $1`, b, ""},
		{`SELECT r.id FROM users AS r WHERE r.seq IN (SELECT r.seq FROM users AS r WHERE r.account_id = $1 LIMIT 5)`, a, "users (as r) is not tied"},
		{`SELECT r.id FROM users AS r WHERE r.account_id = $1 AND r.seq IN (SELECT r.seq FROM users AS r WHERE r.account_id = $1 LIMIT 5)`, a, ""},
		{`SELECT r.id FROM "groups" AS r WHERE r.account_id = $1 AND EXISTS (SELECT 1 FROM users AS m WHERE m.account_id = r.account_id)`, a, ""},
		{`SELECT r.id FROM "groups" AS r WHERE r.account_id = $1 AND EXISTS (SELECT 1 FROM users AS m WHERE m.id = r.id)`, a, "users (as m) is not tied"},
		{`UPDATE users SET account_id = $1 WHERE account_id = $2`, b, "writes account_id"},
		{`UPDATE users SET active = $2 WHERE account_id = $1`, a, ""},
		{`INSERT INTO users (id, user_name) VALUES ($1, $2)`, a, "without account_id"},
		{`INSERT INTO users (account_id, id) VALUES ($1, $2), ($1, $3)`, a, ""},
		{`INSERT INTO users (account_id, id) VALUES ($1, $2), ($2, $3)`, b, "given 2 different accounts"},
		{`INSERT INTO audit_log (account_id, at) SELECT u.account_id, $2 FROM users AS u WHERE u.id = $3`, a, "not tied"},
		{`WITH u AS (INSERT INTO users (account_id, id) VALUES ($1, $2) RETURNING account_id) INSERT INTO audit_log (account_id, at) SELECT u.account_id, $3 FROM u`, a, ""},
		{`WITH x AS (DELETE FROM waiters WHERE ticket = $1 RETURNING account_id) UPDATE plans SET n = 1 FROM x WHERE plans.account_id = x.account_id`, a, "waiters (as waiters) is not tied"},
		{`SELECT t.account_id FROM tokens AS t JOIN users AS u ON u.account_id = t.account_id AND u.id = t.user_id WHERE t.id = $1`, a, ""},
		{`/* all accounts: purge */ DELETE FROM audit_log WHERE ctid = ANY(ARRAY(SELECT ctid FROM audit_log WHERE at < $1 LIMIT $2))`, a, ""},
		{`/* all accounts: x */ SELECT p.product_id FROM plans AS p JOIN waiters AS w ON w.product_id = p.product_id`, a, "read together without equal accounts"},
		{`/* all accounts: x */ SELECT p.product_id FROM plans AS p JOIN waiters AS w ON w.account_id = p.account_id`, a, ""},
		{`/* all accounts: x */ SELECT product_id FROM plans UNION ALL SELECT product_id FROM waiters`, a, ""},
		{`/* all accounts: x */ WITH k AS (SELECT account_id, seq FROM users WHERE active) UPDATE users SET active = false WHERE (account_id, seq) IN (SELECT account_id, seq FROM k)`, a, ""},
		{`/* all accounts: x */ WITH k AS (SELECT account_id, seq FROM users WHERE active) UPDATE users SET active = false WHERE (seq, account_id) IN (SELECT account_id, seq FROM k)`, a, "read together without equal accounts"},
	} {
		r := Check(c.stmt, c.vars, accountTables)
		got := strings.Join(r.Problems, "; ")
		switch {
		case c.problem == "" && got != "":
			t.Errorf("%s: %s, want no problem", c.stmt, got)
		case c.problem != "" && !strings.Contains(got, c.problem):
			t.Errorf("%s: problems %q, want %q", c.stmt, got, c.problem)
		}
		if r.Tables == 0 {
			t.Errorf("%s: no account's table found", c.stmt)
		}
	}
}
