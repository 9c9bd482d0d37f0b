package console

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/scimd/scimd/licensing"
)

// Path is where the console is mounted.
const Path = "/console"

// page is a page of the navigation bar and the privileges that open it:
// a person needs any one of them. The bar shows a person only the pages
// they may open; a direct URL to another answers a 403 page.
type page struct {
	Title      string
	Path       string
	Privileges []licensing.Privilege
}

// pages lists the console's pages in the order of the navigation bar.
var pages = []page{
	{"Users", Path + "/users", []licensing.Privilege{licensing.PrivRead, licensing.PrivUsers, licensing.PrivProducts}},
	{"Groups", Path + "/groups", []licensing.Privilege{licensing.PrivRead, licensing.PrivUsers, licensing.PrivProducts}},
	{"Products and plan", Path + "/products", []licensing.Privilege{licensing.PrivRead, licensing.PrivProducts, licensing.PrivBilling, licensing.PrivSessions}},
	{"Shared sessions", Path + "/sessions", []licensing.Privilege{licensing.PrivRead, licensing.PrivSessions}},
	{"Usage", Path + "/usage", []licensing.Privilege{licensing.PrivRead, licensing.PrivSessions, licensing.PrivBilling}},
	{"Audit log", Path + "/audit", []licensing.Privilege{licensing.PrivRead}},
	{"Connect an identity provider", Path + "/connect", []licensing.Privilege{licensing.PrivTokens}},
}

// pageAt returns the page of the path.
func pageAt(path string) page {
	for _, p := range pages {
		if p.Path == path {
			return p
		}
	}
	panic("console: no page " + path)
}

// Register mounts the console's routes on g (the /console group).
func (h *Handler) Register(g *echo.Group) {
	g.Use(middleware.BodyLimit("64K"), pageHeaders)
	public, signedIn := h.csrf(false), h.csrf(true)

	g.GET("", h.home, h.session)
	g.GET("/", h.home, h.session)
	g.GET("/static/console.css", h.stylesheet)
	g.GET("/static/console.js", h.script)

	g.GET("/signin", h.signInShow, h.anonymousToken)
	g.POST("/signin", h.signInCheck, public)
	g.POST("/signout", h.signOut, h.session, signedIn)
	g.GET("/password", h.passwordShow, h.anonymousToken)
	g.POST("/password", h.passwordCheck, public)

	users := pageAt(Path + "/users")
	g.GET("/users", h.usersShow, h.session, h.opens(users.Privileges...))
	g.GET("/users/:id", h.userShow, h.session, h.opens(users.Privileges...))
	g.POST("/users/:id/products/:product", h.licenseCheck, h.session, signedIn, h.opens(licensing.PrivProducts))
	g.POST("/users/:id/active", h.activeCheck, h.session, signedIn, h.opens(licensing.PrivUsers))
	g.POST("/users/:id/privileges", h.privilegesCheck, h.session, signedIn, h.opens(licensing.PrivUsers))
	groups := pageAt(Path + "/groups")
	g.GET("/groups", h.groupsShow, h.session, h.opens(groups.Privileges...))
	g.GET("/groups/:id", h.groupShow, h.session, h.opens(groups.Privileges...))
	g.POST("/groups/:id/products/:product", h.groupLicenseCheck, h.session, signedIn, h.opens(licensing.PrivProducts))
	products := pageAt(Path + "/products")
	g.GET("/products", h.productsShow, h.session, h.opens(products.Privileges...))
	g.POST("/products/:product/plan", h.planCheck, h.session, signedIn, h.opens(licensing.PrivBilling))

	sessions := pageAt(Path + "/sessions")
	g.GET("/sessions", h.sessionsShow, h.session, h.opens(sessions.Privileges...))
	g.GET("/sessions/events", h.sessionsEvents, h.session, h.opens(sessions.Privileges...))
	g.POST("/sessions/end", h.sessionsEnd, h.session, signedIn, h.opens(licensing.PrivSessions))

	usage := pageAt(Path + "/usage")
	g.GET("/usage", h.usageShow, h.session, h.opens(usage.Privileges...))
	g.GET("/usage.csv", h.usageCSV, h.session, h.opens(usage.Privileges...))
	g.GET("/audit", h.auditShow, h.session, h.opens(pageAt(Path+"/audit").Privileges...))

	g.GET("/connect", h.connectShow, h.session, h.opens(licensing.PrivTokens))
	g.POST("/connect/token", h.tokenCheck, h.session, signedIn, h.opens(licensing.PrivTokens))

	g.Any("/*", func(c echo.Context) error {
		return h.errorPage(c, http.StatusNotFound, "There is no such page in the console.")
	})
}

// pageHeaders keeps the console's pages to themselves: no other site may
// frame them (clickjacking), and they load and post only to scimd.
func pageHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		return next(c)
	}
}

// home sends the person to the first page they may open.
func (h *Handler) home(c echo.Context) error {
	p := person(c)
	for _, pg := range pages {
		if p.Has(pg.Privileges...) {
			return c.Redirect(http.StatusSeeOther, pg.Path)
		}
	}
	return h.errorPage(c, http.StatusForbidden, "Your console privileges open no page yet.")
}

// opens refuses, with a 403 page, a person holding none of the
// privileges.
func (h *Handler) opens(privileges ...licensing.Privilege) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if !person(c).Has(privileges...) {
				return h.errorPage(c, http.StatusForbidden,
					"This page needs one of these privileges, which you do not hold: "+licensing.FormatPrivileges(privileges)+".")
			}
			return next(c)
		}
	}
}
