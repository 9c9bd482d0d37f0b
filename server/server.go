package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/scimd/scimd/internal/logctx"
	"github.com/scimd/scimd/internal/problem"
	"github.com/scimd/scimd/licensing"
)

// SCIMPath is where the SCIM adapter is mounted.
const SCIMPath = "/scim/v2"

// Options are what the HTTP surface is assembled from.
type Options struct {
	Store  licensing.Store
	Clock  licensing.Clock
	Logger *slog.Logger
	// SCIM serves paths relative to SCIMPath.
	SCIM http.Handler
	// Agent registers the agent API's routes on its group.
	Agent registrar
	// Admin registers the admin API's routes on its group.
	Admin registrar
	// Console, if set, registers the admin console's pages on the
	// ConsolePath group (see console.go).
	Console consoleMount
	// OpenAPI is the OpenAPI document of the agent and admin APIs, served
	// at OpenAPIPath.
	OpenAPI []byte
	// Requests, if set, is told of every request (see metrics.go).
	Requests RequestObserver
	// Metrics, if set, serves the Prometheus metrics at MetricsPath.
	Metrics http.Handler
	// Edge is the trust boundary: hosts, proxies, rate limits, deadlines
	// (see edge.go).
	Edge Edge
}

// registrar mounts an API's routes on its group; auth authenticates the
// API's tokens.
type registrar interface {
	Register(g *echo.Group, auth echo.MiddlewareFunc)
}

// Where the REST APIs are mounted.
const (
	AgentPath   = "/api/v1/agent"
	AdminPath   = "/api/v1/admin"
	OpenAPIPath = "/api/v1/openapi.json"
)

// New returns the HTTP handler of scimd.
func New(opts Options) *echo.Echo {
	if opts.Clock == nil {
		opts.Clock = licensing.SystemClock{}
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = errorHandler(opts.Logger)
	e.IPExtractor = ipExtractor(opts.Edge.TrustedProxies)
	routes := &routeSet{}
	if opts.Requests != nil {
		e.Use(observeRequests(opts.Requests, routes))
	}
	e.Use(requestID(), securityHeaders())
	e.Use(requestLogger(opts.Logger))
	e.Use(recoverer())
	e.Use(originOf(opts.Edge), deadlines(opts.Edge))
	limiter := newLimiter(opts.Edge, opts.Clock)

	e.GET("/healthz", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	})
	e.GET("/readyz", func(c echo.Context) error {
		ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
		defer cancel()
		if err := opts.Store.Ping(ctx); err != nil {
			// An unavailable database is logged by the outage monitor,
			// not once per probe of the load balancer.
			level := slog.LevelWarn
			if errors.Is(err, licensing.ErrUnavailable) || problem.TimedOut(err) || problem.ClientClosed(c.Request().Context(), err) {
				level = slog.LevelDebug
			}
			logctx.From(c.Request().Context()).Log(ctx, level, "readiness check failed", "err", err)
			return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "database unreachable"})
		}
		return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
	})

	scim := echo.WrapHandler(http.StripPrefix(SCIMPath, opts.SCIM))
	g := e.Group(SCIMPath, withRateLimit(authenticate(opts.Store, opts.Clock, licensing.ScopeSCIM), limiter))
	g.Any("", scim)
	g.Any("/*", scim)
	if opts.Agent != nil {
		opts.Agent.Register(e.Group(AgentPath, apiBodyLimit), withRateLimit(authenticate(opts.Store, opts.Clock, licensing.ScopeAgent), limiter))
	}
	if opts.Admin != nil {
		opts.Admin.Register(e.Group(AdminPath, apiBodyLimit), withRateLimit(authenticate(opts.Store, opts.Clock, licensing.ScopeAdmin), limiter))
	}
	if opts.Console != nil {
		opts.Console.Register(e.Group(ConsolePath))
	}
	if opts.OpenAPI != nil {
		e.GET(OpenAPIPath, func(c echo.Context) error {
			return c.Blob(http.StatusOK, "application/json", opts.OpenAPI)
		})
	}
	if opts.Metrics != nil {
		e.GET(MetricsPath, echo.WrapHandler(opts.Metrics))
	}
	routes.fill(e)
	return e
}

// apiBodyLimit caps the bodies of the agent and admin APIs, which are
// small JSON objects: a larger one is answered 413.
var apiBodyLimit = middleware.BodyLimit("1M")

// requestLogger gives every request a logger carrying its request id and
// logs one line when it ends.
func requestLogger(base *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			req := c.Request()
			id := c.Response().Header().Get(echo.HeaderXRequestID)
			l := base.With("request_id", id)
			c.SetRequest(req.WithContext(logctx.With(req.Context(), l)))
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			l.Info("request", "method", req.Method, "path", req.URL.Path, "client", c.RealIP(), "status", c.Response().Status,
				"bytes", c.Response().Size, "duration_ms", float64(time.Since(start).Microseconds())/1000)
			return nil
		}
	}
}

// recoverer turns a panic into a logged internal error; the client sees
// only "internal error" in its protocol's format.
func recoverer() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) (err error) {
			defer func() {
				if p := recover(); p != nil {
					if p == http.ErrAbortHandler {
						panic(p)
					}
					logctx.From(c.Request().Context()).Error("panic while serving request", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
					err = echo.NewHTTPError(http.StatusInternalServerError)
				}
			}()
			return next(c)
		}
	}
}

// authenticate requires a bearer token of the scope and puts its
// principal into the request context.
func authenticate(store licensing.Store, clock licensing.Clock, scope licensing.Scope) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			bearer, ok := bearerToken(req.Header.Get(echo.HeaderAuthorization))
			if !ok {
				return &authError{detail: "A bearer token is required: Authorization: Bearer <token>."}
			}
			p, err := licensing.Authenticate(req.Context(), store, clock, bearer, scope)
			if errors.Is(err, licensing.ErrUnauthenticated) {
				return &authError{detail: "The bearer token is not valid for this API."}
			}
			if err != nil {
				return err
			}
			c.SetRequest(req.WithContext(licensing.WithPrincipal(req.Context(), p)))
			return next(c)
		}
	}
}

func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// authError is a missing or bad credential (401).
type authError struct{ detail string }

func (e *authError) Error() string { return e.detail }

// errorHandler is the one place where an error escaping a handler becomes
// a response: a SCIM error under /scim, an RFC 9457 problem elsewhere.
// Internal error text is logged, never sent.
func errorHandler(base *slog.Logger) func(error, echo.Context) {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		status, detail := http.StatusInternalServerError, "internal error"
		var ae *authError
		var he *echo.HTTPError
		var rl *rateLimitedError
		switch {
		case errors.As(err, &ae):
			status, detail = http.StatusUnauthorized, ae.detail
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="scimd"`)
		case errors.As(err, &misdirectedError{}):
			status, detail = http.StatusMisdirectedRequest, err.Error()
		case errors.As(err, &rl):
			status, detail = http.StatusTooManyRequests, rl.Error()
			c.Response().Header().Set(echo.HeaderRetryAfter, strconv.Itoa(rl.retryAfter))
		case errors.As(err, &he) && he.Code < 500:
			status, detail = he.Code, http.StatusText(he.Code)
		case problem.ClientClosed(c.Request().Context(), err):
			status, detail = problem.StatusClientClosed, "The client closed the request before it was answered."
			logctx.From(c.Request().Context()).Debug("client went away", "err", err)
		case errors.Is(err, licensing.ErrUnavailable), problem.TimedOut(err):
			status, detail = http.StatusServiceUnavailable, "The service cannot answer right now; retry in a few seconds."
			c.Response().Header().Set(echo.HeaderRetryAfter, strconv.Itoa(licensing.RetryAfterSeconds))
		default:
			logctx.From(c.Request().Context()).Error("request failed", "err", err)
		}
		if strings.HasPrefix(c.Request().URL.Path, SCIMPath) {
			writeJSON(c, status, "application/scim+json", map[string]any{
				"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:Error"},
				"status":  fmt.Sprint(status),
				"detail":  detail,
			})
			return
		}
		if status == http.StatusMisdirectedRequest && !strings.HasPrefix(c.Request().URL.Path, "/api/") {
			c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextPlainCharsetUTF8)
			_ = c.String(status, detail+"\n")
			return
		}
		code := "internal_error"
		switch {
		case status == http.StatusUnauthorized:
			code = "unauthenticated"
		case status == http.StatusMisdirectedRequest:
			code = "misdirected_request"
		case status == http.StatusTooManyRequests:
			code = "rate_limited"
		case status == http.StatusNotFound:
			code = "not_found"
		case status == http.StatusServiceUnavailable:
			code = problem.CodeUnavailable
		case status == problem.StatusClientClosed:
			code = problem.CodeClientClosed
		case status < 500:
			code = "invalid_request"
		}
		writeJSON(c, status, "application/problem+json", map[string]any{
			"type":   "about:blank",
			"title":  http.StatusText(status),
			"status": status,
			"detail": detail,
			"code":   code,
		})
	}
}

func writeJSON(c echo.Context, status int, contentType string, v any) {
	body, _ := json.Marshal(v)
	c.Response().Header().Set(echo.HeaderContentType, contentType)
	if c.Request().Method == http.MethodHead {
		c.Response().WriteHeader(status)
		return
	}
	_ = c.Blob(status, contentType, body)
}
