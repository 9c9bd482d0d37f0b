// Package sqlstore implements licensing.Store with gorm over two SQL
// dialects: SQLite (pure Go, the embedded default) and PostgreSQL
// (production, shared by several scimd replicas).
//
// It owns the SQL schema and its versioned migrations (migrations/<dialect>),
// the translation of licensing.Query into parameterised SQL, the mapping of
// driver errors to the domain errors of package licensing, and the
// connection settings each dialect needs to stay correct under concurrency
// (WAL, busy timeout and immediate write transactions on SQLite, advisory
// locks for migrations and ordered row locks on PostgreSQL).
//
// It must not touch HTTP, SCIM or configuration: it imports licensing and
// gorm only, and it holds no business rules beyond what the Store contract
// states. Uniqueness is decided by unique indexes, never by querying first,
// and every limit or check that must hold under concurrency is enforced by
// the database inside one statement or transaction. The seat limits are
// conditional UPDATEs of the counters of plans, written in the same
// transaction as the rows they count (user_licenses, seats); the rules
// themselves (which license is in force, from which sources) come from
// package licensing (Grants.Holdings). licenses.go tells how the
// licenses in force are kept materialized under group writes, and how the
// named queue moves; seats.go tells how the seat transactions stay correct
// when they race; watch.go how waiters learn, within moments and across
// processes, that a seat may be theirs (licensing.SeatWatcher: PostgreSQL
// NOTIFY, heard on a LISTEN connection of pgx's own, or an in-process
// hand-off on SQLite); throttle.go how failed sign-ins are counted;
// console.go keeps console privileges, password links and console
// sessions, whose rows go with their user.
// retention.go purges what retention no longer keeps in short batches
// that skip rows locked elsewhere, and reads the PostgreSQL settings an
// operator should be warned about (Warnings). unavailable.go tells how a
// database that cannot serve is reported (licensing.ErrUnavailable,
// Store.OnUnavailable) and recovered from without a restart.
package sqlstore
