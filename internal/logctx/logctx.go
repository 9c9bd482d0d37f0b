// Package logctx carries the request-scoped logger (with the request id on
// every line) through a context. It holds no other state.
package logctx

import (
	"context"
	"log/slog"
)

type key struct{}

// With returns a context carrying l.
func With(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, key{}, l)
}

// From returns the context's logger, or slog.Default() if it has none.
func From(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(key{}).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}
