package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"gorm.io/gorm"

	"github.com/scimd/scimd/licensing"
)

// seedColumns are the columns SeedUsers writes, named as CreateUser names
// them, so that a column added later with a default gets that default in
// both.
const seedColumns = "account_id, id, user_name, external_id, display_name, active, doc, created, last_modified, version, password_hash, search"

// seedArgs is the number of columns, and so of parameters, of a row.
const seedArgs = 12

// seedRows is how many users one INSERT statement of SeedUsers writes:
// 6000 parameters a statement, well below the limits of SQLite (32766)
// and PostgreSQL (65535).
const seedRows = 500

// SeedUsers stores many new users of the account at once, for load tests
// and bulk loads: in one transaction, with INSERT statements of up to
// seedRows rows each. Every row is written exactly as CreateUser writes it
// (same columns, same encoding of times, document and empty optional
// text), so that reads cannot tell a seeded user from a created one.
//
// It is all or nothing. It returns ErrInvalid, writing nothing, if a user
// is one CreateUser refuses (no id or userName, Version other than 1, text
// the database cannot hold, a document that is not a JSON object), belongs
// to another account (an empty AccountID means accountID), or holds a
// product (an assignment other than none): seeding applies no seat rules,
// so it takes directory users only. It returns ErrConflict if a userName
// (case-insensitively) or an id is taken, by the account or twice in
// users, and ErrNotFound if the account does not exist. Seeding no users
// succeeds and does nothing.
func (s *Store) SeedUsers(ctx context.Context, accountID string, users []licensing.User) error {
	if len(users) == 0 {
		return nil
	}
	args := make([]any, 0, len(users)*seedArgs)
	for i, u := range users {
		if u.AccountID == "" {
			u.AccountID = accountID
		}
		if err := checkSeed(accountID, u); err != nil {
			return fmt.Errorf("sqlstore: seed users: user %d (%q): %w", i, u.UserName, err)
		}
		doc, err := checkUser(u)
		if err != nil {
			return fmt.Errorf("sqlstore: seed users: user %d (%q): %w", i, u.UserName, err)
		}
		args = append(args, u.AccountID, u.ID, u.UserName, nullString(u.ExternalID), nullString(u.DisplayName), u.Active, doc,
			s.timeArg(u.Created), s.timeArg(u.LastModified), u.Version, nullString(u.PasswordHash), searchText(u))
	}
	full := seedSQL(min(len(users), seedRows))
	return s.tx(ctx, func(tx *gorm.DB) error {
		for chunk := range slices.Chunk(args, seedRows*seedArgs) {
			stmt := full
			if n := len(chunk) / seedArgs; n < seedRows {
				stmt = seedSQL(n) // the last, shorter statement
			}
			if _, err := exec(tx, "seed users", stmt, chunk...); err != nil {
				return err
			}
		}
		return nil
	})
}

// checkSeed refuses what SeedUsers cannot write as CreateUser would.
func checkSeed(accountID string, u licensing.User) error {
	switch {
	case u.AccountID != accountID:
		return fmt.Errorf("%w: the user belongs to account %q, not %q", licensing.ErrInvalid, u.AccountID, accountID)
	case u.Version != 1:
		return fmt.Errorf("%w: version %d, want 1", licensing.ErrInvalid, u.Version)
	}
	for product := range u.Assignments {
		if u.Assignments.Of(product) != licensing.LicenseNone {
			return fmt.Errorf("%w: seeding takes users without assignments (it applies no seat rules)", licensing.ErrInvalid)
		}
	}
	return nil
}

// seedSQL is the INSERT of n users.
func seedSQL(n int) string {
	row := "(" + strings.Repeat("?, ", seedArgs-1) + "?)"
	var b strings.Builder
	b.Grow(len(seedColumns) + 40 + n*(len(row)+1))
	b.WriteString("INSERT INTO users (" + seedColumns + ") VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(row)
	}
	return b.String()
}

// AnalyzeUsers brings what the query planner knows of the users table,
// and of the tables a user's read joins (userTables), up to date after a
// bulk load, as autovacuum would in time: VACUUM (ANALYZE) on PostgreSQL,
// so that plans know the accounts' sizes (without it a freshly seeded
// table looks tiny, and paging an account of a million users sorts it on
// disk; a user's groups are joined by scanning every account's) and
// index-only scans can use the visibility map.
// On SQLite it does nothing: scimd's SQLite plans are chosen without
// statistics, and ANALYZE there would change them.
func (s *Store) AnalyzeUsers(ctx context.Context) error {
	if s.dialect != DialectPostgres {
		return nil
	}
	_, err := exec(s.conn(ctx), "analyze users", `VACUUM (ANALYZE) `+userTables)
	return err
}

// userTables are the tables AnalyzeUsers refreshes.
const userTables = `users, assignments, user_licenses, group_members, "groups"`

// seedEventArgs is the number of columns, and so of parameters, of a
// seat event row of SeedSeatEvents.
const seedEventArgs = 8

// SeedSeatEvents stores many seat events of the account at once, for
// load tests and benchmarks of usage reports, in one transaction (INSERT
// statements of up to seedRows rows each), written exactly as the seat
// engine records them. It applies no seat rules and changes no counts:
// callers seed events that leave the seats occupied as they are (every
// occupied event followed by its release). An empty AccountID means
// accountID; ErrInvalid for an event of another account, without a
// product or user, or of an unknown kind; ErrNotFound if the account does
// not exist.
func (s *Store) SeedSeatEvents(ctx context.Context, accountID string, events []licensing.SeatEvent) error {
	args := make([]any, 0, len(events)*seedEventArgs)
	for i, e := range events {
		if e.AccountID == "" {
			e.AccountID = accountID
		}
		switch {
		case e.AccountID != accountID, e.ProductID == "", e.UserID == "":
			return fmt.Errorf("sqlstore: seed seat events: event %d: %w: of account %q, product %q, user %q", i, licensing.ErrInvalid,
				e.AccountID, e.ProductID, e.UserID)
		case licensing.SeatDelta(e.Kind) == 0 && e.Kind != licensing.SeatDenied:
			return fmt.Errorf("sqlstore: seed seat events: event %d: %w: kind %q", i, licensing.ErrInvalid, e.Kind)
		}
		if err := checkText(e.AccountID, e.ProductID, e.UserID, e.SessionID, string(e.Reason), e.Actor); err != nil {
			return fmt.Errorf("sqlstore: seed seat events: event %d: %w", i, err)
		}
		args = append(args, e.AccountID, e.ProductID, e.UserID, nullString(e.SessionID), string(e.Kind), nullString(string(e.Reason)),
			nullString(e.Actor), s.timeArg(e.At))
	}
	if len(args) == 0 {
		return nil
	}
	row := "(" + strings.Repeat("?, ", seedEventArgs-1) + "?)"
	stmtOf := func(n int) string {
		return "INSERT INTO seat_events (account_id, product_id, user_id, session_id, kind, reason, actor, at) VALUES " +
			strings.TrimSuffix(strings.Repeat(row+",", n), ",")
	}
	earliest := events[0].At
	for _, e := range events {
		if e.At.Before(earliest) {
			earliest = e.At
		}
	}
	return s.tx(ctx, func(tx *gorm.DB) error {
		for chunk := range slices.Chunk(args, seedRows*seedEventArgs) {
			if _, err := exec(tx, "seed seat events", stmtOf(len(chunk)/seedEventArgs), chunk...); err != nil {
				return err
			}
		}
		return s.unseal(tx, earliest) // as recordEvent does
	})
}
