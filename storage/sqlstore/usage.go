package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/scimd/scimd/licensing"
)

// The hourly summaries of the seat events (licensing.UsageRollups):
// table usage_hours and the seal in usage_seal (migration 0014).
//
// How no event is left out of a sealed hour: SealUsage runs with every
// writer of seat events held off (on PostgreSQL a SHARE lock on
// seat_events, which waits for the transactions that inserted into it to
// end and keeps new inserts waiting until the seal commits; on SQLite
// write transactions take turns anyway), and recordEvent, after inserting
// an event, moves the seal back to the event's hour if it is past it. So
// an event is either committed before the seal reads the hour, or
// inserted after the seal committed, and then sees the new seal and moves
// it back.

// sealLockTimeout bounds how long SealUsage waits for the transactions
// writing seat events: it gives up (and the next run tries again) rather
// than keep new seat claims waiting behind a slow transaction.
const sealLockTimeout = "2s"

// usageSpansPerQuery is the most time spans one query of SeatEventsIn
// reads.
const usageSpansPerQuery = 100

// UsageSealed returns the seal and the time of the earliest seat event
// at or after it (licensing.UsageRollups).
func (s *Store) UsageSealed(ctx context.Context) (time.Time, time.Time, error) {
	sealed, err := s.seal(s.conn(ctx))
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	var next dbTime
	q, args := `/* all accounts: the sealer seals every account's hours */ SELECT MIN(at) FROM seat_events`, []any(nil)
	if sealed.Valid {
		q, args = q+` WHERE at >= ?`, []any{s.timeArg(sealed.Time)}
	}
	err = query(s.conn(ctx), "usage seal", q, args, func(rows *sql.Rows) error { return rows.Scan(&next) })
	return sealed.Time, next.Time, err
}

// seal reads the seal; not Valid if there is none.
func (s *Store) seal(db *gorm.DB) (dbTime, error) {
	var sealed dbTime
	err := query(db, "usage seal", `SELECT sealed FROM usage_seal WHERE id = 1`, nil,
		func(rows *sql.Rows) error { return rows.Scan(&sealed) })
	return sealed, err
}

// SealUsage sums up the hours of [from, to) and moves the seal to to
// (licensing.UsageRollups).
func (s *Store) SealUsage(ctx context.Context, from, to time.Time, summarize func([]licensing.SeatEvent) []licensing.UsageHour) error {
	from, to = from.UTC(), to.UTC()
	if !from.Truncate(time.Hour).Equal(from) || !to.Truncate(time.Hour).Equal(to) || to.Before(from) {
		return fmt.Errorf("sqlstore: seal usage: %w: [%v, %v) is not a range of whole hours", licensing.ErrInvalid, from, to)
	}
	return s.tx(ctx, func(tx *gorm.DB) error {
		if s.dialect == DialectPostgres {
			if _, err := exec(tx, "seal usage", `SET LOCAL lock_timeout = '`+sealLockTimeout+`'`); err != nil {
				return err
			}
			if _, err := exec(tx, "seal usage", `LOCK TABLE seat_events IN SHARE MODE`); err != nil {
				return err
			}
		}
		// The first seal starts at from; then one sealer at a time (the
		// row lock), and only from the seal.
		if _, err := exec(tx, "seal usage", `INSERT INTO usage_seal (id, sealed) VALUES (1, ?) ON CONFLICT (id) DO NOTHING`, s.timeArg(from)); err != nil {
			return err
		}
		var sealed dbTime
		err := query(tx, "usage seal", `SELECT sealed FROM usage_seal WHERE id = 1`+s.lock("FOR UPDATE"), nil,
			func(rows *sql.Rows) error { return rows.Scan(&sealed) })
		if err != nil {
			return err
		}
		if !sealed.Time.Equal(from) {
			return nil // sealed by another process, or moved back
		}
		if from.Equal(to) {
			return nil
		}
		var events []licensing.SeatEvent
		err = query(tx, "seal usage", `/* all accounts: the sealer seals every account's hours */ SELECT account_id, product_id, kind, at FROM seat_events WHERE at >= ? AND at < ?`,
			[]any{s.timeArg(from), s.timeArg(to)},
			func(rows *sql.Rows) error {
				var e licensing.SeatEvent
				var kind string
				var at dbTime
				if err := rows.Scan(&e.AccountID, &e.ProductID, &kind, &at); err != nil {
					return err
				}
				e.Kind, e.At = licensing.SeatEventKind(kind), at.Time
				events = append(events, e)
				return nil
			})
		if err != nil {
			return err
		}
		if _, err := exec(tx, "seal usage", `/* all accounts: the sealer seals every account's hours */ DELETE FROM usage_hours WHERE hour >= ? AND hour < ?`, s.timeArg(from), s.timeArg(to)); err != nil {
			return err
		}
		const cols = 8
		var args []any
		for _, h := range summarize(events) {
			args = append(args, h.AccountID, s.timeArg(h.Hour), h.ProductID, h.Net, h.Low, h.Denials, h.EncodeHeld(), h.Quarters)
		}
		row := "(" + strings.Repeat("?, ", cols-1) + "?)"
		for chunk := range slices.Chunk(args, seedRows*cols) {
			if _, err := exec(tx, "seal usage", `/* all accounts: the sealer seals every account's hours */ INSERT INTO usage_hours (account_id, hour, product_id, net, low, denials, held, quarters) VALUES `+
				strings.TrimSuffix(strings.Repeat(row+",", len(chunk)/cols), ","), chunk...); err != nil {
				return err
			}
		}
		_, err = exec(tx, "seal usage", `UPDATE usage_seal SET sealed = ? WHERE id = 1 AND sealed = ?`, s.timeArg(to), s.timeArg(from))
		return err
	})
}

// unseal moves the seal back to the hour of a seat event just recorded
// at at, in its transaction, if the seal is past it.
func (s *Store) unseal(db *gorm.DB, at time.Time) error {
	hour := s.timeArg(at.UTC().Truncate(time.Hour))
	_, err := exec(db, "record seat event", `UPDATE usage_seal SET sealed = ? WHERE id = 1 AND sealed > ?`, hour, hour)
	return err
}

// UsageHours returns the account's summaries of [from, to) and the net
// change per product over [to, netTo) (licensing.UsageRollups).
func (s *Store) UsageHours(ctx context.Context, accountID, productID string, from, to, netTo time.Time,
	quarters []time.Time) ([]licensing.UsageHour, map[string]int, error) {
	where := `account_id = ? AND hour >= ? AND hour < ?`
	args := []any{accountID, s.timeArg(from), s.timeArg(to)}
	if productID != "" {
		where += ` AND product_id = ?`
		args = append(args, productID)
	}
	// The quarters, long text, only of the hours asked for.
	quartersCol, quartersArgs := `''`, []any{}
	if len(quarters) > 0 {
		quartersCol = `CASE WHEN hour IN (?` + strings.Repeat(`, ?`, len(quarters)-1) + `) THEN quarters ELSE '' END`
		for _, h := range quarters {
			quartersArgs = append(quartersArgs, s.timeArg(h))
		}
	}
	var out []licensing.UsageHour
	err := query(s.conn(ctx), "usage hours", `SELECT product_id, hour, net, low, denials, held, `+quartersCol+` FROM usage_hours WHERE `+where,
		append(quartersArgs, args...),
		func(rows *sql.Rows) error {
			h := licensing.UsageHour{AccountID: accountID}
			var hour dbTime
			var held string
			if err := rows.Scan(&h.ProductID, &hour, &h.Net, &h.Low, &h.Denials, &held, &h.Quarters); err != nil {
				return err
			}
			h.Hour = hour.Time
			if err := h.DecodeHeld(held); err != nil {
				return err
			}
			out = append(out, h)
			return nil
		})
	if err != nil {
		return nil, nil, err
	}
	net := map[string]int{}
	if to.Before(netTo) {
		args[1], args[2] = s.timeArg(to), s.timeArg(netTo)
		err = query(s.conn(ctx), "usage hours", `SELECT product_id, SUM(net) FROM usage_hours WHERE `+where+` GROUP BY product_id`, args,
			func(rows *sql.Rows) error {
				var p string
				var n int
				if err := rows.Scan(&p, &n); err != nil {
					return err
				}
				net[p] = n
				return nil
			})
	}
	return out, net, err
}

// SeatEventsIn lists the account's seat events within the spans, by
// time (licensing.UsageRollups): one statement of up to
// usageSpansPerQuery SELECTs joined by UNION ALL, each a range scan of
// seat_events_account_at_idx, of the columns a report needs.
func (s *Store) SeatEventsIn(ctx context.Context, accountID string, spans []licensing.TimeSpan) ([]licensing.SeatEvent, error) {
	var out []licensing.SeatEvent
	sorted := slices.SortedFunc(slices.Values(spans), func(a, b licensing.TimeSpan) int { return a.From.Compare(b.From) })
	for chunk := range slices.Chunk(sorted, usageSpansPerQuery) {
		var parts []string
		var args []any
		for _, sp := range chunk {
			parts = append(parts, `SELECT id, product_id, kind, at FROM seat_events WHERE account_id = ? AND at >= ? AND at < ?`)
			args = append(args, accountID, s.timeArg(sp.From), s.timeArg(sp.To))
		}
		err := query(s.conn(ctx), "seat events", strings.Join(parts, ` UNION ALL `)+` ORDER BY at, id`, args,
			func(rows *sql.Rows) error {
				e := licensing.SeatEvent{AccountID: accountID}
				var kind string
				var at dbTime
				if err := rows.Scan(&e.ID, &e.ProductID, &kind, &at); err != nil {
					return err
				}
				e.Kind, e.At = licensing.SeatEventKind(kind), at.Time
				out = append(out, e)
				return nil
			})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
