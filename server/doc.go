// Package server assembles scimd's HTTP surface on echo: request ids,
// structured request logs, panic recovery, bearer-token authentication,
// health endpoints, request metrics by route template and /metrics (see
// metrics.go), the trust boundary (edge.go: allowed hosts, trusted
// proxies and the one public base URL put in each request's context;
// headers.go: security headers and strict request ids; ratelimit.go:
// per-token rate limits; deadline.go: per-route deadlines), and the
// mounts of the adapters. It holds no business rules and nothing imports
// it but cmd.
package server
