package sqlstore

import (
	"context"
	"testing"
	"time"
)

// BenchmarkSeatTotals measures the read of one /metrics scrape over
// 10,000 accounts with plans of three products (a sixth of them with
// every shared seat occupied). The accounts are deleted, their plans with
// them, when it ends.
func BenchmarkSeatTotals(b *testing.B) {
	benchDialects(b, func(b *testing.B, s *Store) {
		ctx := context.Background()
		now := time.Now()
		tag := "bt-" + randomHex(6) + "-"
		// One statement each: the rows are made by the database.
		for _, st := range []struct {
			q    string
			args []any
		}{
			{`INSERT INTO accounts (id, name, created_at)
			  WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)
			  SELECT ? || i, ? || i, ? FROM n`, []any{tag, tag, s.timeArg(now)}},
			{`INSERT INTO plans (account_id, product_id, named_seats, concurrent_seats, named_used, concurrent_used)
			  SELECT a.id, p.product, 10, 5, 3, a.k % 6 FROM
			    (SELECT id, CAST(SUBSTR(id, LENGTH(?) + 1) AS INTEGER) AS k FROM accounts WHERE id LIKE ? || '%') AS a,
			    (SELECT 'remote-support-v5' AS product UNION ALL SELECT 'remote-support-v4' UNION ALL SELECT 'service-desk') AS p`,
				[]any{tag, tag}},
		} {
			if _, err := exec(s.conn(ctx), "bench seed", st.q, st.args...); err != nil {
				b.Fatal(err)
			}
		}
		b.Cleanup(func() { s.conn(ctx).Exec(`DELETE FROM accounts WHERE id LIKE ?`, tag+"%") })
		totals, err := s.SeatTotals(ctx, now)
		if err != nil {
			b.Fatal(err)
		}
		for _, p := range totals {
			if p.ProductID == "service-desk" && (p.ConcurrentSeats < 50000 || p.FullPools < 1666) {
				b.Fatalf("seeded %+v, want at least 10,000 plans of 5 seats, a sixth of them full", p)
			}
		}
		b.ResetTimer()
		for b.Loop() {
			if _, err := s.SeatTotals(ctx, now); err != nil {
				b.Fatal(err)
			}
		}
	})
}
