// Package origin carries the public base URL of the request being served
// (scheme://host, or the configured --base-url) through its context. The
// server's edge middleware decides it once per request, from the
// configuration or from a Host it accepts; every URL builder (SCIM
// meta.location, Location headers) reads it from here and never from the
// request's headers. It holds no other state.
package origin

import (
	"context"
	"strings"
)

type key struct{}

// With returns a context carrying base, the public base URL without a
// trailing slash (e.g. https://scim.example.com).
func With(ctx context.Context, base string) context.Context {
	return context.WithValue(ctx, key{}, strings.TrimSuffix(base, "/"))
}

// From returns the context's base URL, and false if it has none.
func From(ctx context.Context) (string, bool) {
	base, ok := ctx.Value(key{}).(string)
	return base, ok
}
