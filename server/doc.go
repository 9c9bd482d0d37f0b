// Package server assembles scimd's HTTP surface on echo: request ids,
// structured request logs, panic recovery, bearer-token authentication,
// health endpoints, request metrics by route template and /metrics (see
// metrics.go), and the mounts of the adapters (SCIM now; admin and agent
// later). It holds no business rules and nothing imports it but cmd.
package server
