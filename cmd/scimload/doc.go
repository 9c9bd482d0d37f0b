// Command scimload measures running scimd servers over HTTP, the way
// identity providers use them: provisioning bursts, imports that page
// through every user, userName lookups and a blend of them. It reports
// throughput, latency percentiles (p50, p95, p99, max) and errors by
// status, as a table or as JSON.
//
// It also seeds large accounts fast, straight into the database through
// the store's bulk path (sqlstore.SeedUsers), so that lookup and import
// can be measured against a million users; the measured operations always
// go through HTTP. With --baseline-sql, provision also inserts the same
// rows with raw SQL into the same PostgreSQL and prints scimd/raw-SQL
// ratios, which are what compares across machines.
//
// scimload only talks to loopback addresses (127.0.0.0/8, ::1,
// localhost): it is a benchmark for a machine of one's own, not a tool to
// point at a production server. Every run is bounded by a count and by
// --duration. It owns nothing outside cmd/scimload.
//
// The seats scenario races agents for a product's concurrent seats
// through the agent API across replicas, checking through the admin API
// (and by counting what the agents hold) that no more seats are occupied
// than the plan has; with --baseline-sql it also runs the same seat cycle
// as raw SQL on scratch tables and prints the ratio.
package main
