package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/scimd/scimd/licensing"
)

// maxLimit caps the rows one page reads, whatever the query asks.
const maxLimit = 1 << 30

// listPlan is the SQL of one listing: the count of what the filter
// selects and one page of it.
type listPlan struct {
	count     string
	countArgs []any
	page      string
	pageArgs  []any
	// sortKey is the ORDER BY expression, "" when listing by creation.
	sortKey  string
	sortKind licensing.Kind
	order    uint32
}

// planList translates q into SQL over res. cols are the columns the page
// selects; the plan appends r.seq and, when sorting, the sort key.
func (s *Store) planList(res *resource, cols, accountID string, q licensing.Query) (listPlan, error) {
	if q.Limit < 0 || q.Offset < 0 {
		return listPlan{}, invalid("negative offset or limit")
	}
	t := &translator{dialect: s.dialect, res: res}
	where := "r.account_id = ?"
	args := []any{accountID}
	if q.Filter != nil {
		f, err := t.cond(q.Filter, scope{})
		if err != nil {
			return listPlan{}, err
		}
		where += " AND " + f
		args = append(args, t.args...)
	}
	if q.Text != "" {
		if res != usersResource {
			return listPlan{}, invalid("text search applies to users only")
		}
		where += ` AND r.search LIKE ? ESCAPE '\'`
		args = append(args, "%"+escapeLike(strings.ToLower(q.Text))+"%")
	}
	p := listPlan{
		count:     "SELECT COUNT(*) FROM " + res.table + " AS r WHERE " + where,
		countArgs: args,
		order:     orderFingerprint(res, q),
	}
	if q.Filter == nil && q.Text == "" && res.totals != "" {
		p.count = "SELECT COALESCE(SUM(n), 0) FROM " + res.totals + " WHERE account_id = ?"
	}
	if q.SortBy != nil {
		key, err := t.sortKeyIn(*q.SortBy, q.SortElements)
		if err != nil {
			return listPlan{}, err
		}
		p.sortKey, p.sortKind = key, q.SortBy.Kind
	}
	pageArgs := slices.Clone(args)
	offset := q.Offset
	if q.After != "" {
		c, err := decodeCursor(q.After, p.order)
		if err != nil {
			return listPlan{}, err
		}
		cond, cargs, err := keyset(p.sortKey, q.Descending, c)
		if err != nil {
			return listPlan{}, err
		}
		where += " AND " + cond
		pageArgs = append(pageArgs, cargs...)
		offset = 0
	}
	sel, orderBy := cols+", r.seq", "r.seq"
	if p.sortKey != "" {
		sel += ", " + p.sortKey
		dir := "ASC NULLS LAST"
		if q.Descending {
			dir = "DESC NULLS FIRST"
		}
		orderBy = p.sortKey + " " + dir + ", r.seq"
	}
	// One more than asked tells whether there is a next page.
	pageArgs = append(pageArgs, min(q.Limit, maxLimit)+1, offset)
	if offset == 0 {
		p.page = "SELECT " + sel + " FROM " + res.table + " AS r WHERE " + where + " ORDER BY " + orderBy + " LIMIT ? OFFSET ?"
	} else {
		// A deep page skips its offset over the index alone, reading
		// only the seqs, then reads the rows of the page: skipping whole
		// rows costs twice as much at a million users. The outer rows are
		// found by the primary key, which leads with the account.
		p.page = "SELECT " + sel + " FROM " + res.table + " AS r WHERE r.account_id = ? AND r.seq IN (SELECT r.seq FROM " + res.table + " AS r WHERE " + where +
			" ORDER BY " + orderBy + " LIMIT ? OFFSET ?) ORDER BY " + orderBy
		pageArgs = append([]any{accountID}, pageArgs...)
	}
	p.pageArgs = pageArgs
	return p, nil
}

// list runs the plan of q: the page, each row read by scan with the
// destinations for r.seq and the sort key appended, then the total. A
// page that is the last of an offset listing and holds something (or
// starts at 0) tells the total itself: offset + its items; only the other
// pages pay for the count (a lookup by userName never does).
func list[T any](ctx context.Context, s *Store, res *resource, cols, accountID string, q licensing.Query,
	scan func(rows *sql.Rows, extra ...any) (T, error)) (licensing.Page[T], error) {
	var page licensing.Page[T]
	p, err := s.planList(res, cols, accountID, q)
	if err != nil {
		return page, err
	}
	db := s.conn(ctx)
	if q.Limit > 0 {
		if page, err = listPage(db, p, q, scan); err != nil {
			return licensing.Page[T]{}, err
		}
	}
	switch {
	case q.WithoutTotal:
	case q.Limit > 0 && page.Next == "" && q.After == "" && (len(page.Items) > 0 || q.Offset == 0):
		page.Total = q.Offset + len(page.Items)
	default:
		err = query(db, "count", p.count, p.countArgs, func(rows *sql.Rows) error {
			return rows.Scan(&page.Total)
		})
	}
	return page, err
}

// listPage reads the page of the plan.
func listPage[T any](db *gorm.DB, p listPlan, q licensing.Query, scan func(rows *sql.Rows, extra ...any) (T, error)) (licensing.Page[T], error) {
	var page licensing.Page[T]
	type position struct {
		seq int64
		key any
	}
	var last position
	more := false
	err := query(db, "list", p.page, p.pageArgs, func(rows *sql.Rows) error {
		var pos position
		extra := []any{&pos.seq}
		if p.sortKey != "" {
			extra = append(extra, &pos.key)
		}
		item, err := scan(rows, extra...)
		if err != nil {
			return err
		}
		if len(page.Items) == q.Limit {
			more = true
			return nil
		}
		page.Items = append(page.Items, item)
		last = pos
		return nil
	})
	if err != nil {
		return licensing.Page[T]{}, err
	}
	if more {
		c := cursor{Order: p.order, Seq: counter(last.seq)}
		if p.sortKey != "" {
			if c.Type, c.Key, err = encodeKey(last.key, p.sortKind); err != nil {
				return licensing.Page[T]{}, fmt.Errorf("sqlstore: list: %w", err)
			}
		}
		page.Next = c.encode()
	}
	return page, nil
}

// cursor is the position after the last item of a page: its creation
// sequence and, when sorting, its sort key. Order ties it to the listing
// it came from.
type cursor struct {
	Order uint32  `json:"o"`
	Seq   counter `json:"s"`
	// Type tells how Key is written: s string, i integer, f float, b
	// boolean, t time; "" means the sort key was NULL (or there is none).
	Type string `json:"t,omitempty"`
	Key  string `json:"k,omitempty"`
}

// counter is a row sequence or identity in a position: a count of the
// rows of every account. It is written as a string of 20 digits, whatever
// its value, so that the length of a position (which its sealed cursor
// keeps) tells nothing of how many rows there are.
type counter int64

// MarshalJSON writes the counter as 20 digits in a string.
func (c counter) MarshalJSON() ([]byte, error) {
	return fmt.Appendf(nil, `"%020d"`, int64(c)), nil
}

// UnmarshalJSON reads what MarshalJSON writes.
func (c *counter) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	n, err := strconv.ParseInt(s, 10, 64)
	*c = counter(n)
	return err
}

func (c cursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string, order uint32) (cursor, error) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &c) != nil {
		return cursor{}, invalid("malformed cursor")
	}
	if c.Order != order {
		return cursor{}, invalid("cursor belongs to another listing or order")
	}
	return c, nil
}

// jsonCursor is the text of a cursor holding v (a position in a listing
// that orders by time and id): base64 of its JSON.
func jsonCursor(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

// cutPage cuts a page read with one row more than its limit (to learn
// whether more follow) to the limit and, if there were more, sets its
// Next to the cursor after the last item kept (position's, as jsonCursor
// encodes it).
func cutPage[T any](page *licensing.Page[T], limit int, position func(T) any) {
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		page.Next = jsonCursor(position(page.Items[limit-1]))
	}
}

// readJSONCursor decodes into v a cursor jsonCursor made; ErrInvalid if
// it is malformed.
func readJSONCursor(s string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, v) != nil {
		return invalid("malformed cursor")
	}
	return nil
}

// orderFingerprint identifies the resource type and order of a listing.
func orderFingerprint(res *resource, q licensing.Query) uint32 {
	h := fnv.New32a()
	fmt.Fprint(h, res.table)
	if a := q.SortBy; a != nil {
		fmt.Fprintf(h, "|%q|%d|%t|%t", a.Path, a.Kind, a.CaseExact, q.Descending)
		if q.SortElements > 0 {
			fmt.Fprintf(h, "|%d", q.SortElements)
		}
	}
	return h.Sum32()
}

// encodeKey writes a sort key as the driver returned it. PostgreSQL
// returns numeric values as text; the kind says they are numbers.
func encodeKey(v any, kind licensing.Kind) (typ, text string, err error) {
	if b, ok := v.([]byte); ok {
		v = string(b)
	}
	numeric := kind == licensing.KindInt || kind == licensing.KindDecimal
	switch v := v.(type) {
	case nil:
		return "", "", nil
	case string:
		if !numeric {
			return "s", v, nil
		}
		if _, err := strconv.ParseInt(v, 10, 64); err == nil {
			return "i", v, nil
		}
		if _, err := strconv.ParseFloat(v, 64); err == nil {
			return "f", v, nil
		}
		return "", "", fmt.Errorf("sort key %q is not a number", v)
	case int64:
		return "i", strconv.FormatInt(v, 10), nil
	case float64:
		return "f", strconv.FormatFloat(v, 'g', -1, 64), nil
	case bool:
		return "b", strconv.FormatBool(v), nil
	case time.Time:
		return "t", v.UTC().Format(time.RFC3339Nano), nil
	}
	return "", "", fmt.Errorf("sort key of unexpected type %T", v)
}

func decodeKey(typ, text string) (v any, err error) {
	switch typ {
	case "s":
		return text, nil
	case "i":
		v, err = strconv.ParseInt(text, 10, 64)
	case "f":
		v, err = strconv.ParseFloat(text, 64)
	case "b":
		v, err = strconv.ParseBool(text)
	case "t":
		v, err = time.Parse(time.RFC3339Nano, text)
	default:
		err = fmt.Errorf("unknown key type %q", typ)
	}
	if err != nil {
		return nil, invalid("malformed cursor")
	}
	return v, nil
}

// keyset returns the condition selecting what comes after c in the order
// key ASC NULLS LAST, seq (or key DESC NULLS FIRST, seq; or seq alone).
func keyset(key string, desc bool, c cursor) (string, []any, error) {
	if key == "" {
		if c.Type != "" {
			return "", nil, invalid("malformed cursor")
		}
		return "r.seq > ?", []any{int64(c.Seq)}, nil
	}
	if c.Type == "" {
		if desc {
			return "(" + key + " IS NOT NULL OR r.seq > ?)", []any{int64(c.Seq)}, nil
		}
		return "(" + key + " IS NULL AND r.seq > ?)", []any{int64(c.Seq)}, nil
	}
	v, err := decodeKey(c.Type, c.Key)
	if err != nil {
		return "", nil, err
	}
	if desc {
		return "(" + key + " < ? OR (" + key + " = ? AND r.seq > ?))", []any{v, v, int64(c.Seq)}, nil
	}
	return "(" + key + " > ? OR (" + key + " = ? AND r.seq > ?) OR " + key + " IS NULL)", []any{v, v, int64(c.Seq)}, nil
}
