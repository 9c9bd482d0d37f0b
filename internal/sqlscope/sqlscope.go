// Package sqlscope reads SQL statements as scimd writes them to tell
// which accounts each one touches: what the plan of docs/scaling.md (one
// PostgreSQL sharded by account) relies on. Tests record the statements
// their stores run (sqlstore.Store.ObserveStatements) and check them here;
// nothing in the server uses it.
package sqlscope

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// What the plan of docs/scaling.md relies on to shard PostgreSQL by
// account: every key of an account's rows leads with account_id, and no
// statement reads or writes rows of two accounts together. The tables
// that are not an account's, and why each may stay global, are these.
var Global = map[string]string{
	"accounts": "the shard key's own table: every account once, found by id or by name " +
		"(the CLI and sign-in name an account); a reference table, copied to every node",
	"schema_migrations": "the deployment's schema version, not data",
	"secret_keys":       "the deployment's signing keys, the same for every account; a reference table",
	"signin_throttle": "keyed by a hash of the client's address as well as of account and userName: " +
		"an address that guesses passwords is slowed across every account by design",
	"usage_seal": "one row: how far the hourly usage summaries of all accounts are sealed; " +
		"would become one row per account when sharded (docs/scaling.md)",
	"tokens": "a bearer token names its row by id before its account is known: the directory " +
		"from a token to its account; few rows, written when made or revoked; a reference table",
	"console_sessions": "a console cookie names its row by hash before its account is known; " +
		"would carry the account in the cookie when sharded (docs/scaling.md)",
	"password_links": "a password link names its row by hash before its account is known; " +
		"few rows, written when made or used; a reference table",
}

// Log collects every distinct statement run (as PostgreSQL receives it,
// with $n placeholders) with the values of its first run. It is safe for
// concurrent use.
type Log struct {
	mu   sync.Mutex
	runs map[string][]any
}

// NewLog returns an empty Log.
func NewLog() *Log { return &Log{runs: map[string][]any{}} }

// Record notes a statement run with vars.
func (l *Log) Record(sql string, vars []any) {
	if sql == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.runs[sql]; !ok {
		l.runs[sql] = slices.Clone(vars)
	}
}

// Report is what Check found in a Log.
type Report struct {
	// Scoped counts the statements that touched accounts' tables.
	Scoped int
	// AllAccounts lists the reasons of the statements that ran over all
	// accounts by design.
	AllAccounts []string
	// Problems names each statement that crosses or escapes an account.
	Problems []string
}

// Check checks every recorded statement.
func (l *Log) Check(accountTables map[string]bool) Report {
	l.mu.Lock()
	defer l.mu.Unlock()
	stmts := make([]string, 0, len(l.runs))
	for s := range l.runs {
		stmts = append(stmts, s)
	}
	sort.Strings(stmts)
	var rep Report
	for _, stmt := range stmts {
		r := Check(stmt, l.runs[stmt], accountTables)
		if r.Tables == 0 {
			continue
		}
		rep.Scoped++
		if r.AllAccounts != "" && !slices.Contains(rep.AllAccounts, r.AllAccounts) {
			rep.AllAccounts = append(rep.AllAccounts, r.AllAccounts)
		}
		for _, p := range r.Problems {
			rep.Problems = append(rep.Problems, fmt.Sprintf("%s:\n%s", p, stmt))
		}
	}
	return rep
}

// A statement's tables are checked by a small reading of its SQL, enough
// for the statements scimd writes: every reference to an account's table
// (in FROM, JOIN, UPDATE, INSERT INTO, DELETE FROM) must have its
// account_id tied, by equalities (x.account_id = y.account_id, x.account_id
// = $n, an INSERT's account_id column), to a value the statement was given,
// and all those values must be one account. A statement that runs over all
// accounts by design (purges, expiry, metrics) says so in a comment
// starting "/* all accounts:" with the reason; its tables must still be
// tied to each other, so that it never combines two accounts' rows.
type Result struct {
	// Tables counts the references to accounts' tables.
	Tables int
	// AllAccounts is the reason a statement gives for running over all
	// accounts, or "".
	AllAccounts string
	// Problems says how the statement crosses or escapes an account.
	Problems []string
}

type sqlToken struct {
	kind  byte // 'i' identifier or keyword, 'q' quoted identifier, 's' string, 'n' number, 'p' placeholder, 'o' operator
	text  string
	group int // index of the token that opened the innermost parenthesis holding it, -1 at the top
}

// lexSQL splits a statement into tokens and returns the text of its
// comments.
func lexSQL(stmt string) (toks []sqlToken, comments []string) {
	stack := []int{-1}
	for i := 0; i < len(stmt); {
		c := stmt[i]
		top := stack[len(stack)-1]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case strings.HasPrefix(stmt[i:], "--"):
			end := strings.IndexByte(stmt[i:], '\n')
			if end < 0 {
				end = len(stmt) - i
			}
			comments = append(comments, stmt[i+2:i+end])
			i += end
		case strings.HasPrefix(stmt[i:], "/*"):
			end := strings.Index(stmt[i+2:], "*/")
			if end < 0 {
				end = len(stmt) - i - 2
			}
			comments = append(comments, stmt[i+2:i+2+end])
			i += end + 4
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(stmt) {
				if stmt[j] == c {
					if j+1 < len(stmt) && stmt[j+1] == c {
						j += 2
						continue
					}
					break
				}
				j++
			}
			kind := byte('s')
			if c == '"' {
				kind = 'q'
			}
			toks = append(toks, sqlToken{kind, stmt[i+1 : min(j, len(stmt))], top})
			i = j + 1
		case c == '$' && i+1 < len(stmt) && stmt[i+1] >= '0' && stmt[i+1] <= '9':
			j := i + 1
			for j < len(stmt) && stmt[j] >= '0' && stmt[j] <= '9' {
				j++
			}
			toks = append(toks, sqlToken{'p', stmt[i+1 : j], top})
			i = j
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i
			for j < len(stmt) && (stmt[j] == '_' || stmt[j] >= 'a' && stmt[j] <= 'z' || stmt[j] >= 'A' && stmt[j] <= 'Z' || stmt[j] >= '0' && stmt[j] <= '9') {
				j++
			}
			toks = append(toks, sqlToken{'i', strings.ToLower(stmt[i:j]), top})
			i = j
		case c >= '0' && c <= '9':
			j := i
			for j < len(stmt) && (stmt[j] >= '0' && stmt[j] <= '9' || stmt[j] == '.') {
				j++
			}
			toks = append(toks, sqlToken{'n', stmt[i:j], top})
			i = j
		case c == '(':
			toks = append(toks, sqlToken{'o', "(", top})
			stack = append(stack, len(toks)-1)
			i++
		case c == ')':
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
			toks = append(toks, sqlToken{'o', ")", stack[len(stack)-1]})
			i++
		default:
			op := string(c)
			for _, two := range []string{"::", "<=", ">=", "<>", "!=", "||"} {
				if strings.HasPrefix(stmt[i:], two) {
					op = two
				}
			}
			toks = append(toks, sqlToken{'o', op, top})
			i += len(op)
		}
	}
	return toks, comments
}

// notAlias are the words that may follow a table's name without being its
// alias.
var notAlias = map[string]bool{"where": true, "join": true, "left": true, "right": true, "inner": true, "full": true,
	"cross": true, "on": true, "using": true, "set": true, "order": true, "group": true, "limit": true, "offset": true,
	"values": true, "returning": true, "for": true, "union": true, "except": true, "intersect": true, "having": true,
	"natural": true, "default": true, "select": true, "as": false}

// tableRef is one reference to a table in a statement.
type tableRef struct {
	table, alias string
	group        int // the parenthesis the reference is in (its scope)
	at           int // token index of the table's name
	global       bool
	cte          int // the token opening the body of the common table expression it names, or -1
}

// account reports whether the reference reads or writes an account's
// table.
func (r tableRef) account() bool { return !r.global && r.cte < 0 }

// Check reads one statement (with $n placeholders) run with vars;
// accountTables names the tables that hold accounts' rows.
func Check(stmt string, vars []any, accountTables map[string]bool) Result {
	toks, comments := lexSQL(stmt)
	var res Result
	for _, c := range comments {
		if r, ok := strings.CutPrefix(strings.TrimSpace(c), "all accounts:"); ok {
			res.AllAccounts = strings.TrimSpace(r)
		}
	}
	parent := map[int]int{-1: -1}
	opening := map[int]int{} // the "(" of each ")"
	var open []int
	branch := make([]int, len(toks)) // which top-level UNION branch each token is in
	for i, tk := range toks {
		if i > 0 {
			branch[i] = branch[i-1]
		}
		switch {
		case tk.kind == 'o' && tk.text == "(":
			parent[i] = tk.group
			open = append(open, i)
		case tk.kind == 'o' && tk.text == ")" && len(open) > 0:
			opening[i] = open[len(open)-1]
			open = open[:len(open)-1]
		case tk.group == -1 && tk.kind == 'i' && (tk.text == "union" || tk.text == "except" || tk.text == "intersect"):
			branch[i]++
		}
	}
	word := func(i int) string {
		if i < 0 || i >= len(toks) || toks[i].kind != 'i' && toks[i].kind != 'q' {
			return ""
		}
		return toks[i].text
	}
	// The common table expressions, by name: the token opening each body.
	ctes := map[string]int{}
	for i := 0; i+2 < len(toks); i++ {
		if w := word(i); (w == "with" || toks[i].text == ",") && word(i+2) == "as" {
			body := i + 3
			for word(body) == "materialized" || word(body) == "not" {
				body++
			}
			if body < len(toks) && toks[body].text == "(" {
				ctes[word(i+1)] = body
			}
		}
	}
	isTable := func(name string) bool {
		_, cte := ctes[name]
		return accountTables[name] || Global[name] != "" || cte
	}

	// The references.
	var refs []tableRef
	for i := 0; i < len(toks); i++ {
		switch word(i) {
		case "from", "join", "update", "into":
		default:
			continue
		}
		for j := i + 1; j < len(toks) && isTable(word(j)); {
			ref := tableRef{table: word(j), alias: word(j), group: toks[j].group, at: j, cte: -1}
			_, ref.global = Global[ref.table]
			if body, ok := ctes[ref.table]; ok {
				ref.cte = body
			}
			k := j + 1
			if word(k) == "as" {
				k++
			}
			if a := word(k); a != "" && !notAlias[a] && toks[k].kind == 'i' && a != "as" {
				ref.alias = a
				k++
			}
			refs = append(refs, ref)
			if k < len(toks) && toks[k].text == "," && toks[k].kind == 'o' && word(i) == "from" {
				j = k + 1
				continue
			}
			break
		}
	}
	for _, r := range refs {
		if r.account() {
			res.Tables++
		}
	}
	if res.Tables == 0 {
		return res
	}

	// resolve finds the reference a column qualifier (or, with alias "",
	// a bare column at token i) names: the innermost scope holding the
	// token that has it; for a bare column, the nearest reference before
	// it in that scope, else after it.
	resolve := func(alias string, i int) int {
		for g := toks[i].group; ; g = parent[g] {
			before, after := -1, -1
			for n, r := range refs {
				if r.group != g || alias != "" && r.alias != alias {
					continue
				}
				switch {
				case alias != "":
					return n
				case r.at < i:
					before = n
				case after < 0:
					after = n
				}
			}
			if before >= 0 {
				return before
			}
			if after >= 0 || g == -1 {
				return after
			}
		}
	}

	// Union-find over the references' account ids and the values given.
	uf := map[string]string{}
	var find func(string) string
	find = func(x string) string {
		if p, ok := uf[x]; ok && p != x {
			r := find(p)
			uf[x] = r
			return r
		}
		uf[x] = x
		return x
	}
	union := func(a, b string) { uf[find(a)] = find(b) }
	refNode := func(n int) string { return "ref" + strconv.Itoa(n) }

	// operand reads an account id at token i: a reference's account_id
	// (accounts.id for the accounts table), or a value. It returns the
	// node and how many tokens it spans.
	operand := func(i int) (string, int) {
		if i < 0 || i >= len(toks) {
			return "", 0
		}
		switch tk := toks[i]; {
		case tk.kind == 'p' || tk.kind == 's':
			return "value:" + tk.text + ":" + string(tk.kind), 1
		case (tk.kind == 'i' || tk.kind == 'q') && i+2 < len(toks) && toks[i+1].text == "." && toks[i+1].kind == 'o':
			n := resolve(tk.text, i)
			col := word(i + 2)
			switch {
			case n >= 0 && (col == "account_id" || refs[n].table == "accounts" && col == "id"):
				return refNode(n), 3
			case n >= 0 && col == "ctid":
				return "ctid:" + strconv.Itoa(n), 3
			}
		case tk.kind == 'i' && (tk.text == "account_id" || tk.text == "ctid") && !(i > 0 && toks[i-1].text == "."):
			if n := resolve("", i); n >= 0 && tk.text == "account_id" {
				return refNode(n), 1
			} else if n >= 0 {
				return "ctid:" + strconv.Itoa(n), 1
			}
		}
		return "", 0
	}
	operandBefore := func(i int) string {
		for span := 3; span >= 1; span-- {
			if n, got := operand(i - span); got == span {
				return n
			}
		}
		return ""
	}

	inSet := map[int]bool{}
	for i, tk := range toks {
		if word(i) == "set" {
			for j := i + 1; j < len(toks) && !(toks[j].group == tk.group && slices.Contains([]string{"where", "from", "returning"}, word(j))); j++ {
				if toks[j].group == tk.group {
					inSet[j] = true
				}
			}
		}
	}
	for i, tk := range toks {
		switch {
		case tk.kind == 'i' && tk.text == "account_id" && inSet[i] && i+1 < len(toks) && toks[i+1].text == "=":
			res.Problems = append(res.Problems, "writes account_id")
		case tk.kind == 'o' && tk.text == "=":
			// x = ANY(ARRAY(SELECT y ...)) ties x to y as x = y does.
			j := i + 1
			for j < len(toks) && (toks[j].text == "(" || slices.Contains([]string{"any", "array", "select"}, word(j))) {
				j++
			}
			a, b := operandBefore(i), ""
			if n, _ := operand(j); n != "" {
				b = n
			}
			if a == "" || b == "" || inSet[i] {
				continue
			}
			if x, ok := strings.CutPrefix(a, "ctid:"); ok {
				// The same row of the same table: the same account.
				if y, ok := strings.CutPrefix(b, "ctid:"); ok {
					xn, _ := strconv.Atoi(x)
					yn, _ := strconv.Atoi(y)
					if refs[xn].table == refs[yn].table {
						union(refNode(xn), refNode(yn))
					}
				}
				continue
			}
			if !strings.HasPrefix(b, "ctid:") {
				union(a, b)
			}
		case tk.kind == 'i' && tk.text == "in" && i+1 < len(toks) && toks[i+1].text == "(":
			if i > 0 && toks[i-1].text == ")" && word(i+2) == "select" {
				// (x, y) IN (SELECT a, b ...): x = a, y = b.
				left := opening[i-1]
				for k := 0; ; k++ {
					a := nthExpr(toks, left+1, left, k, operand)
					b := nthExpr(toks, i+3, i+1, k, operand)
					if a == "" && b == "" && k > 8 {
						break
					}
					if a != "" && b != "" && strings.HasPrefix(a, "ref") && strings.HasPrefix(b, "ref") {
						union(a, b)
					}
				}
				continue
			}
			a := operandBefore(i)
			if a == "" {
				continue
			}
			// account_id IN ($1, $2): values only; each is tied.
			for j := i + 2; j < len(toks) && toks[j].group == i+1; j++ {
				if toks[j].kind == 'p' || toks[j].kind == 's' {
					n, _ := operand(j)
					union(a, n)
				}
			}
		}
	}

	for n, r := range refs {
		switch {
		case r.global && directory[r.table]:
			// A directory row (found by its token or hash) names the
			// account it belongs to.
			union(refNode(n), "directory:"+r.table)
		case r.cte >= 0:
			if node := cteAccount(toks, r.cte, operand); node != "" {
				union(refNode(n), node)
			}
		}
	}

	// An INSERT's account_id column takes the value at its place in
	// VALUES or in the SELECT list.
	for n, r := range refs {
		if !r.account() || word(r.at-1) != "into" {
			continue
		}
		open := r.at + 1
		if word(open) == r.alias && r.alias != r.table {
			open++
		}
		if open >= len(toks) || toks[open].text != "(" {
			res.Problems = append(res.Problems, "INSERT INTO "+r.table+" without a column list")
			continue
		}
		col, pos := 0, -1
		end := open + 1
		for ; end < len(toks) && toks[end].group == open; end++ {
			switch {
			case toks[end].text == ",":
				col++
			case word(end) == "account_id":
				pos = col
			}
		}
		if pos < 0 {
			res.Problems = append(res.Problems, "INSERT INTO "+r.table+" without account_id")
			continue
		}
		// The expressions after the column list: every VALUES tuple, or
		// the SELECT list.
		scope := toks[open].group
		for k := end + 1; k < len(toks); k++ {
			if toks[k].group != scope {
				continue
			}
			switch word(k) {
			case "values":
				for v := k + 1; v < len(toks); v++ {
					if toks[v].group != scope {
						continue
					}
					if toks[v].text == "(" {
						if node := nthExpr(toks, v+1, v, pos, operand); node != "" {
							union(refNode(n), node)
						}
					} else if toks[v].text != "," && toks[v].text != ")" {
						break
					}
				}
			case "select":
				if node := nthExpr(toks, k+1, scope, pos, operand); node != "" {
					union(refNode(n), node)
				}
			default:
				continue
			}
			break
		}
	}

	// The verdict.
	values := map[string]bool{}
	for n, r := range refs {
		if !r.account() {
			continue
		}
		root := find(refNode(n))
		tied := false
		for node := range uf {
			if find(node) != root {
				continue
			}
			if strings.HasPrefix(node, "value:") {
				tied = true
				values[valueOf(node, vars)] = true
			} else if strings.HasPrefix(node, "directory:") {
				tied = true
			}
		}
		if res.AllAccounts == "" && !tied {
			res.Problems = append(res.Problems, fmt.Sprintf("%s (as %s) is not tied to an account the statement is given", r.table, r.alias))
		}
		if res.AllAccounts != "" {
			for m, o := range refs[n+1:] {
				if o.account() && branch[o.at] == branch[r.at] && find(refNode(n+1+m)) != root {
					res.Problems = append(res.Problems, fmt.Sprintf("%s (as %s) and %s (as %s) are read together without equal accounts", r.table, r.alias, o.table, o.alias))
				}
			}
		}
	}
	if len(values) > 1 && res.AllAccounts == "" {
		res.Problems = append(res.Problems, fmt.Sprintf("given %d different accounts", len(values)))
	}
	return res
}

// cteAccount returns the account node of what a common table
// expression's body (opening at token body) returns as account_id: its
// RETURNING list, else its SELECT list.
func cteAccount(toks []sqlToken, body int, operand func(int) (string, int)) string {
	start := -1
	for i := body + 1; i < len(toks) && toks[i].group == body || i < len(toks) && toks[i].group != toks[body].group; i++ {
		if toks[i].group != body {
			continue
		}
		if toks[i].kind == 'i' && toks[i].text == "returning" {
			start = i + 1
			break
		}
		if toks[i].kind == 'i' && toks[i].text == "select" && start < 0 {
			start = i + 1
		}
	}
	if start < 0 {
		return ""
	}
	for k := 0; k < 32; k++ {
		node := nthExpr(toks, start, body, k, operand)
		if strings.HasPrefix(node, "ref") {
			return node
		}
	}
	return ""
}

// nthExpr returns the account node of the pos-th comma-separated
// expression from token start in the parenthesis (or scope) group, if
// that expression is one operand.
func nthExpr(toks []sqlToken, start, group, pos int, operand func(int) (string, int)) string {
	col := 0
	for i := start; i < len(toks); i++ {
		tk := toks[i]
		if tk.group != group {
			continue
		}
		if tk.text == "," && tk.kind == 'o' {
			col++
			continue
		}
		if tk.kind == 'i' && (tk.text == "from" || tk.text == "where") || tk.text == ")" {
			return ""
		}
		if col == pos {
			node, span := operand(i)
			if span > 0 && (i+span >= len(toks) || toks[i+span].text == "," || toks[i+span].text == ")" || toks[i+span].kind == 'i' && (toks[i+span].text == "from" || toks[i+span].text == "as")) {
				return node
			}
			return ""
		}
	}
	return ""
}

// valueOf is the account a value node stands for: the statement's $n-th
// variable, or a string literal.
func valueOf(node string, vars []any) string {
	body := strings.TrimPrefix(node, "value:")
	text, kind, _ := strings.Cut(body, ":")
	if kind == "p" {
		if n, err := strconv.Atoi(text); err == nil && n >= 1 && n <= len(vars) {
			return fmt.Sprint(vars[n-1])
		}
	}
	return text
}

// directory are the global tables whose rows name their
// account: found by a token or a hash, they give it.
var directory = map[string]bool{"tokens": true, "console_sessions": true, "password_links": true}

// AccountTables returns the tables of db's public schema that hold
// accounts' rows: those with an account_id column, except the Global ones.
func AccountTables(ctx context.Context, db *sql.DB) (map[string]bool, error) {
	rows, err := db.QueryContext(ctx, `SELECT DISTINCT c.relname FROM pg_class c
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'account_id' AND NOT a.attisdropped
		WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	tables := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		if _, global := Global[name]; !global {
			tables[name] = true
		}
	}
	return tables, rows.Err()
}
