// Package outage watches the database's availability from the failures
// the store reports, and keeps what an outage writes to the log bounded:
// one warning when it starts, at most one line per Repeat while it lasts,
// and one when the database answers again, however many requests failed
// meanwhile. It pings the database itself while it is down, so that the
// recovery is logged even without traffic.
//
// It holds no other state and knows nothing of HTTP or SQL: the store
// tells it of failures (sqlstore.Store.OnUnavailable) and it calls the
// probe it is given (sqlstore.Store.Ping).
package outage
