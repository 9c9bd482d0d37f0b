package console

import (
	"context"
	"html/template"
	"log/slog"

	"github.com/scimd/scimd/licensing"
)

// Options configure the console.
type Options struct {
	Store   licensing.Store
	Clock   licensing.Clock
	Catalog licensing.Catalog
	// Verify checks a password against its stored hash (a password.Pool's
	// Verifier on the sign-in lane). An error matching
	// licensing.ErrUnavailable answers 503.
	Verify func(ctx context.Context, hash, password string) (bool, error)
	// HashPassword makes the stored hash of a password chosen through a
	// one-time link (a password.Pool's Hash).
	HashPassword func(ctx context.Context, password string) (string, error)
	// SignIn sets how failed sign-ins slow down the next ones; zero
	// fields take licensing's defaults, shared with the agent app.
	SignIn licensing.SignInPolicy
	// Logger logs what the person is not told (internal errors).
	Logger *slog.Logger
	// SCIMPath is where the SCIM API is mounted, for the base URL the
	// Connect page shows. Default "/scim/v2".
	SCIMPath string
	// Cursors seals the cursors of the lists' page links (cmd passes the
	// database's, licensing.LoadCursors). Nil: licensing.EphemeralCursors.
	Cursors *licensing.Cursors
	// Retention is how long the store keeps seat events, for the Usage
	// page to say when a range reaches before them (cmd passes the
	// admin API's).
	Retention licensing.Retention
}

// Handler serves the console.
type Handler struct {
	opts     Options
	throttle *licensing.SignInThrottle
	pages    map[string]*template.Template
}

// New returns the console handler.
func New(opts Options) *Handler {
	if opts.Clock == nil {
		opts.Clock = licensing.SystemClock{}
	}
	if opts.SCIMPath == "" {
		opts.SCIMPath = "/scim/v2"
	}
	if opts.Cursors == nil {
		opts.Cursors = licensing.EphemeralCursors()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Handler{opts: opts, throttle: licensing.NewSignInThrottle(opts.Store, opts.Clock, opts.SignIn), pages: parsePages()}
}
