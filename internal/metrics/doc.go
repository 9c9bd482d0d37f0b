// Package metrics owns scimd's Prometheus metrics: their names, types,
// labels and help, in one registry of its own (never the process-wide
// default one), and the handler that serves them at /metrics.
//
// It is told what happens through small methods and interfaces that the
// rest of scimd knows without importing it: requests (server's
// RequestObserver), seat events once committed and audit entries the
// store could not write (licensing.StoreObserver), reaper runs (a function
// cmd wires), and it reads
// the rest when scraped: seat totals over all accounts
// (licensing.SeatTotals, with a timeout), the database pool and the
// password-hash slots.
//
// No metric carries an account, a user, a token or a session: the labels
// are a route template, a method, a status, a product of the catalog and
// a kind of event, each from a bounded set of values. It must not import
// the adapters, server or storage: cmd wires it to them.
package metrics
