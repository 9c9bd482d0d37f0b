// Package console is the admin console: server-rendered pages at
// /console for console users (users of an account holding admin
// privileges), over the same licensing services as the admin API.
//
// It owns its routes (routes.go), its cookie sessions (stored hashed in
// the database through licensing.ConsoleStore, session.go), the CSRF
// check of every form (csrf.go), and its templates and stylesheet,
// embedded with go:embed (render.go). Each page action has a file of its
// own. Every form works without JavaScript: POST, then redirect, then GET.
//
// It imports licensing and echo, never gorm and never another adapter;
// it does not call the admin API over HTTP. Writes are audited with the
// signed-in person as actor (licensing.ConsolePrincipal).
package console
