package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"gorm.io/gorm"
)

// What the plan of docs/scaling.md relies on to shard PostgreSQL by
// account: every key of an account's rows leads with account_id, and no
// statement reads or writes rows of two accounts together. The tables
// that are not an account's, and why each may stay global, are these.
var globalTables = map[string]string{
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

// TestShardingReadinessKeys: on PostgreSQL, the primary key and every
// unique index of every table that holds account_id lead with it, and the
// tables without it are the global tables named above.
func TestShardingReadinessKeys(t *testing.T) {
	s := openPostgres(t)
	db := s.conn(context.Background())
	withAccount := map[string]bool{}
	err := query(db, "tables", `SELECT c.relname, EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'account_id' AND NOT a.attisdropped)
		FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')`, nil,
		func(r *sql.Rows) error {
			var name string
			var has bool
			err := r.Scan(&name, &has)
			withAccount[name] = has
			return err
		})
	if err != nil {
		t.Fatal(err)
	}
	if len(withAccount) < 20 {
		t.Fatalf("found %d tables; is the schema migrated?", len(withAccount))
	}
	for name, has := range withAccount {
		_, global := globalTables[name]
		switch {
		case !has && !global:
			t.Errorf("table %s has no account_id and is not a named global table", name)
		case has && global && name != "tokens" && name != "console_sessions" && name != "password_links":
			t.Errorf("table %s holds account_id but is named global: key it by account instead", name)
		}
	}
	for name := range globalTables {
		if _, ok := withAccount[name]; !ok {
			t.Errorf("global table %s does not exist: update globalTables", name)
		}
	}
	type key struct{ table, index, first string }
	var keys []key
	err = query(db, "keys", `SELECT c.relname, i.relname, COALESCE(a.attname, pg_get_indexdef(x.indexrelid, 1, true))
		FROM pg_index x
		JOIN pg_class c ON c.oid = x.indrelid
		JOIN pg_class i ON i.oid = x.indexrelid
		LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = x.indkey[0]
		WHERE c.relnamespace = 'public'::regnamespace AND x.indisunique`, nil,
		func(r *sql.Rows) error {
			var k key
			err := r.Scan(&k.table, &k.index, &k.first)
			keys = append(keys, k)
			return err
		})
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, k := range keys {
		if _, global := globalTables[k.table]; global {
			continue
		}
		checked++
		if k.first != "account_id" {
			t.Errorf("unique index %s of %s leads with %s, not account_id", k.index, k.table, k.first)
		}
	}
	if checked < 15 {
		t.Errorf("checked %d unique indexes of accounts' tables; expected more", checked)
	}
}

// statementLog collects every distinct statement the Stores it watches run
// (as PostgreSQL receives it, with $n placeholders) with the values of one
// of its runs, so that the statements can be checked for the account they
// touch.
type statementLog struct {
	mu   sync.Mutex
	runs map[string][]any
}

func newStatementLog() *statementLog { return &statementLog{runs: map[string][]any{}} }

// watch records the statements s runs from now on.
func (l *statementLog) watch(t testing.TB, s *Store) {
	t.Helper()
	record := func(db *gorm.DB) {
		sql := db.Statement.SQL.String()
		if sql == "" {
			return
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		if _, ok := l.runs[sql]; !ok {
			l.runs[sql] = slices.Clone(db.Statement.Vars)
		}
	}
	cb := s.db.Callback()
	for _, err := range []error{
		cb.Create().After("gorm:create").Register("sharding:record", record),
		cb.Query().After("gorm:query").Register("sharding:record", record),
		cb.Update().After("gorm:update").Register("sharding:record", record),
		cb.Delete().After("gorm:delete").Register("sharding:record", record),
		cb.Row().After("gorm:row").Register("sharding:record", record),
		cb.Raw().After("gorm:raw").Register("sharding:record", record),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// check reports every recorded statement that touches the rows of more
// than one account, or of an account not pinned by a value the statement
// was given (see accountScope); it returns how many statements touched
// accounts' tables and the reasons given by those that ran across all
// accounts by design.
func (l *statementLog) check(t *testing.T) (scoped int, fanOut []string) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	stmts := make([]string, 0, len(l.runs))
	for s := range l.runs {
		stmts = append(stmts, s)
	}
	sort.Strings(stmts)
	for _, stmt := range stmts {
		r := accountScope(stmt, l.runs[stmt])
		if r.refs == 0 {
			continue
		}
		scoped++
		if r.allAccounts != "" && !slices.Contains(fanOut, r.allAccounts) {
			fanOut = append(fanOut, r.allAccounts)
		}
		for _, p := range r.problems {
			t.Errorf("%s:\n%s", p, stmt)
		}
	}
	return scoped, fanOut
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
type scopeResult struct {
	refs        int
	allAccounts string
	problems    []string
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

func accountScope(stmt string, vars []any) scopeResult {
	toks, comments := lexSQL(stmt)
	var res scopeResult
	for _, c := range comments {
		if r, ok := strings.CutPrefix(strings.TrimSpace(c), "all accounts:"); ok {
			res.allAccounts = strings.TrimSpace(r)
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
		return accountTables[name] || globalTables[name] != "" || cte
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
			_, ref.global = globalTables[ref.table]
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
			res.refs++
		}
	}
	if res.refs == 0 {
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
			res.problems = append(res.problems, "writes account_id")
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
		case r.global && accountTablesWithDirectory[r.table]:
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
			res.problems = append(res.problems, "INSERT INTO "+r.table+" without a column list")
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
			res.problems = append(res.problems, "INSERT INTO "+r.table+" without account_id")
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
		if res.allAccounts == "" && !tied {
			res.problems = append(res.problems, fmt.Sprintf("%s (as %s) is not tied to an account the statement is given", r.table, r.alias))
		}
		if res.allAccounts != "" {
			for m, o := range refs[n+1:] {
				if o.account() && branch[o.at] == branch[r.at] && find(refNode(n+1+m)) != root {
					res.problems = append(res.problems, fmt.Sprintf("%s (as %s) and %s (as %s) are read together without equal accounts", r.table, r.alias, o.table, o.alias))
				}
			}
		}
	}
	if len(values) > 1 && res.allAccounts == "" {
		res.problems = append(res.problems, fmt.Sprintf("given %d different accounts", len(values)))
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

// accountTablesWithDirectory are the global tables whose rows name their
// account: found by a token or a hash, they give it.
var accountTablesWithDirectory = map[string]bool{"tokens": true, "console_sessions": true, "password_links": true}

// accountTables are the tables that hold an account's rows (filled from
// the schema by TestPostgresConformance before it checks statements).
var accountTables = map[string]bool{}

// loadAccountTables fills accountTables from the schema.
func loadAccountTables(t testing.TB, s *Store) {
	t.Helper()
	err := query(s.conn(context.Background()), "account tables", `SELECT DISTINCT c.relname FROM pg_class c
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'account_id' AND NOT a.attisdropped
		WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')`, nil,
		func(r *sql.Rows) error {
			var name string
			err := r.Scan(&name)
			if _, global := globalTables[name]; !global {
				accountTables[name] = true
			}
			return err
		})
	if err != nil {
		t.Fatal(err)
	}
}

// TestAccountScope: the reading of statements finds what crosses or
// escapes an account, and accepts the shapes scimd uses.
func TestAccountScope(t *testing.T) {
	for name := range map[string]bool{"users": true, "assignments": true, "groups": true, "plans": true, "waiters": true, "audit_log": true} {
		if !accountTables[name] {
			accountTables[name] = true
			t.Cleanup(func() { delete(accountTables, name) })
		}
	}
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
		r := accountScope(c.stmt, c.vars)
		got := strings.Join(r.problems, "; ")
		switch {
		case c.problem == "" && got != "":
			t.Errorf("%s: %s, want no problem", c.stmt, got)
		case c.problem != "" && !strings.Contains(got, c.problem):
			t.Errorf("%s: problems %q, want %q", c.stmt, got, c.problem)
		}
		if r.refs == 0 {
			t.Errorf("%s: no account's table found", c.stmt)
		}
	}
}
