package sqlstore

import (
	"context"
	"database/sql"

	"github.com/scimd/scimd/licensing"
)

// NamedLicenseCounts counts, per product, the account's users holding a
// named license in force through groups only and those waiting for a named
// seat, in one statement over the named rows of user_licenses (a user has
// at most one active and one pending named row of a product).
func (s *Store) NamedLicenseCounts(ctx context.Context, accountID string) ([]licensing.NamedLicenseCount, error) {
	var out []licensing.NamedLicenseCount
	err := query(s.conn(ctx), "named license counts",
		`SELECT l.product_id,
		   SUM(CASE WHEN l.status = 'active' AND NOT EXISTS (
		     SELECT 1 FROM assignments AS a WHERE a.account_id = l.account_id AND a.user_id = l.user_id
		     AND a.product_id = l.product_id AND a.license = 'named') THEN 1 ELSE 0 END),
		   SUM(CASE WHEN l.status = 'pending' THEN 1 ELSE 0 END)
		 FROM user_licenses AS l WHERE l.account_id = ? AND l.license = 'named'
		 GROUP BY l.product_id ORDER BY `+s.byteOrder("l.product_id"),
		[]any{accountID},
		func(rows *sql.Rows) error {
			var n licensing.NamedLicenseCount
			if err := rows.Scan(&n.ProductID, &n.ThroughGroups, &n.Pending); err != nil {
				return err
			}
			out = append(out, n)
			return nil
		})
	return out, err
}
