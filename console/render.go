package console

import (
	"bytes"
	"embed"
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/scimd/scimd/internal/logctx"
	"github.com/scimd/scimd/licensing"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static/console.css
var stylesheet []byte

//go:embed static/console.js
var script []byte

// pageFiles are the templates rendered as whole pages, each inside
// layout.html.
var pageFiles = []string{"signin.html", "password.html", "users.html", "products.html", "connect.html", "error.html", "sessions.html", "user.html", "usage.html", "audit.html", "groups.html", "group.html"}

// parsePages parses each page with the layout and the parts pages share
// (range.html, licenses.html). A template that does not parse is a bug
// caught by every test.
func parsePages() map[string]*template.Template {
	out := map[string]*template.Template{}
	for _, f := range pageFiles {
		out[f] = template.Must(template.New(f).ParseFS(templateFiles, "templates/layout.html", "templates/range.html", "templates/licenses.html", "templates/"+f))
	}
	return out
}

// navItem is a link of the navigation bar.
type navItem struct {
	Title, Path string
	Current     bool
}

// view is what layout.html renders: the page's own data in Page.
type view struct {
	Title string
	// Person is the signed-in person's userName ("" before sign-in).
	Person string
	Nav    []navItem
	CSRF   string
	Page   any
}

// isUnder tells that the path is the page's or one under it.
func isUnder(path, page string) bool {
	return path == page || strings.HasPrefix(path, page+"/")
}

// render answers the page with its data inside the layout.
func (h *Handler) render(c echo.Context, status int, file, title string, data any) error {
	p := person(c)
	v := view{Title: title, Person: p.TokenName, CSRF: formToken(c), Page: data}
	if p.Scope == licensing.ActorConsole {
		for _, pg := range pages {
			if p.Has(pg.Privileges...) {
				v.Nav = append(v.Nav, navItem{Title: pg.Title, Path: pg.Path, Current: isUnder(c.Request().URL.Path, pg.Path)})
			}
		}
	}
	var buf bytes.Buffer
	if err := h.pages[file].ExecuteTemplate(&buf, "layout", v); err != nil {
		logctx.From(c.Request().Context()).Error("console page failed", "page", file, "err", err)
		return c.String(http.StatusInternalServerError, "internal error")
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// errorPage answers a page telling what went wrong, with the status.
func (h *Handler) errorPage(c echo.Context, status int, message string) error {
	return h.render(c, status, "error.html", http.StatusText(status), struct {
		Status  int
		Message string
	}{status, message})
}

// failed answers an error that is not the person's: 503 when the
// database or the password hasher cannot serve now, else a logged
// internal error whose text the person never sees.
func (h *Handler) failed(c echo.Context, err error) error {
	if errors.Is(err, licensing.ErrUnavailable) {
		c.Response().Header().Set(echo.HeaderRetryAfter, strconv.Itoa(licensing.RetryAfterSeconds))
		return h.errorPage(c, http.StatusServiceUnavailable, "The console cannot answer right now; try again in a few seconds.")
	}
	logctx.From(c.Request().Context()).Error("console request failed", "err", err)
	return h.errorPage(c, http.StatusInternalServerError, "Something went wrong on our side. It has been logged.")
}

// stylesheet serves the console's one stylesheet.
func (h *Handler) stylesheet(c echo.Context) error {
	return c.Blob(http.StatusOK, "text/css; charset=utf-8", stylesheet)
}

// script serves the console's one script: enhancements only.
func (h *Handler) script(c echo.Context) error {
	return c.Blob(http.StatusOK, "text/javascript; charset=utf-8", script)
}
