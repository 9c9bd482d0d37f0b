// Package config holds scimd's typed configuration: defaults, loading from
// the environment and command-line flags, and validation that reports every
// problem at once. It must not open databases or listen on sockets.
package config
