package server

import (
	"context"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/scimd/scimd/internal/origin"
	"github.com/scimd/scimd/internal/ratelimit"
	"github.com/scimd/scimd/licensing"
)

// Edge is the trust boundary of the HTTP surface: which Host and
// X-Forwarded-* headers are believed, per-token rate limits and the
// deadlines of requests. The zero value accepts the local host names
// only, trusts no proxy and limits nothing.
type Edge struct {
	// BaseURL is the public URL clients reach scimd at, without the SCIM
	// path (e.g. https://scim.example.com). When set, every URL is built
	// from it and no request's Host is ever used.
	BaseURL string
	// AllowedHosts are the Host values (a name, matching any port, or
	// name:port) a request may carry when BaseURL is empty; a request
	// with another Host is answered 421. Empty: DefaultAllowedHosts.
	AllowedHosts []string
	// TrustedProxies are the peers whose X-Forwarded-For, -Proto and
	// -Host headers are believed; everyone else's are ignored.
	TrustedProxies []*net.IPNet
	// RateLimit is the requests a second each token (SCIM, admin or
	// agent) may make in this process, refilling a bucket of
	// RateLimitBurst; 0 limits nothing.
	RateLimit      float64
	RateLimitBurst int
	// WriteTimeout bounds each request: its context ends and its
	// connection stops taking writes once it has passed (plus
	// writeGrace, to answer the timeout). An agent's start of a session,
	// which may wait for a seat, gets MaxWait more. 0: no deadline.
	WriteTimeout time.Duration
	MaxWait      time.Duration
}

// DefaultAllowedHosts are the hosts accepted when Edge.AllowedHosts is
// empty (cmd adds the host of the listen address).
var DefaultAllowedHosts = []string{"localhost", "127.0.0.1", "::1"}

// hostExempt are the routes that answer whatever the Host: they build no
// URL, and health checks and scrapers address replicas by IP.
var hostExempt = map[string]bool{"/healthz": true, "/readyz": true, MetricsPath: true}

// ipExtractor returns the client address of a request: the peer's, or,
// from a trusted proxy, the nearest untrusted address of
// X-Forwarded-For. echo's defaults (trusting every private network) are
// turned off.
func ipExtractor(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// peerTrusted reports whether the request's direct peer is a trusted
// proxy.
func peerTrusted(r *http.Request, trusted []*net.IPNet) bool {
	if len(trusted) == 0 {
		return false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return false
	}
	for _, n := range trusted {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// lastForwarded is the value the nearest proxy put in a forwarded header
// (the last of a comma-separated list), "" if none.
func lastForwarded(r *http.Request, name string) string {
	v := r.Header.Values(name)
	if len(v) == 0 {
		return ""
	}
	parts := strings.Split(v[len(v)-1], ",")
	return strings.TrimSpace(parts[len(parts)-1])
}

// hostSet matches Host values against the allowed hosts.
type hostSet struct {
	names map[string]bool // any port
	exact map[string]bool // host:port
}

func newHostSet(hosts []string) hostSet {
	if len(hosts) == 0 {
		hosts = DefaultAllowedHosts
	}
	s := hostSet{names: map[string]bool{}, exact: map[string]bool{}}
	for _, h := range hosts {
		h = strings.ToLower(strings.TrimSpace(h))
		if name, port, err := net.SplitHostPort(h); err == nil && port != "" {
			s.exact[net.JoinHostPort(name, port)] = true
			continue
		}
		s.names[strings.Trim(h, "[]")] = true
	}
	return s
}

func (s hostSet) allows(host string) bool {
	host = strings.ToLower(host)
	if name, port, err := net.SplitHostPort(host); err == nil {
		return s.exact[net.JoinHostPort(name, port)] || s.names[name]
	}
	return host != "" && s.names[strings.Trim(host, "[]")]
}

// misdirectedError is a request whose Host this server does not answer
// for (421).
type misdirectedError struct{}

func (misdirectedError) Error() string {
	return "This server does not answer for the Host of the request; use the address it is configured for."
}

// originOf decides the public base URL of each request and puts it in the
// request context (internal/origin): the configured BaseURL, or the
// scheme and Host of the request (from a trusted proxy, its
// X-Forwarded-Proto and -Host) when the Host is allowed; another Host is
// answered 421.
func originOf(edge Edge) echo.MiddlewareFunc {
	allowed := newHostSet(edge.AllowedHosts)
	base := strings.TrimSuffix(edge.BaseURL, "/")
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if base != "" {
				c.SetRequest(req.WithContext(origin.With(req.Context(), base)))
				return next(c)
			}
			if hostExempt[c.Path()] {
				return next(c)
			}
			scheme, host := "http", strings.ToLower(req.Host)
			if req.TLS != nil {
				scheme = "https"
			}
			if peerTrusted(req, edge.TrustedProxies) {
				if p := lastForwarded(req, echo.HeaderXForwardedProto); p == "http" || p == "https" {
					scheme = p
				}
				if h := lastForwarded(req, "X-Forwarded-Host"); h != "" {
					host = strings.ToLower(h)
				}
			}
			if !allowed.allows(host) {
				return misdirectedError{}
			}
			c.SetRequest(req.WithContext(origin.With(req.Context(), scheme+"://"+host)))
			return next(c)
		}
	}
}

// secretRoutes are the routes whose answers carry a secret (a bearer
// token): never stored by a cache.
var secretRoutes = map[string]bool{
	http.MethodPost + " " + AgentPath + "/signin": true,
	http.MethodPost + " " + AdminPath + "/tokens": true,
}

// ConsolePath is where the admin console is mounted; its pages carry
// CSRF tokens and are never cached.
const ConsolePath = "/console"

// securityHeaders sets X-Content-Type-Options: nosniff on every answer
// and Cache-Control: no-store on the answers that carry secrets and on
// the console.
func securityHeaders() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Response().Header()
			h.Set(echo.HeaderXContentTypeOptions, "nosniff")
			p := c.Request().URL.Path
			if secretRoutes[c.Request().Method+" "+c.Path()] || p == ConsolePath || strings.HasPrefix(p, ConsolePath+"/") {
				h.Set(echo.HeaderCacheControl, "no-store")
			}
			return next(c)
		}
	}
}

// requestIDHeader accepts a client's X-Request-Id only if it is 1 to 64
// characters of [A-Za-z0-9._-] (it goes into logs and answers); any other
// value is replaced by a fresh one.
func requestID() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			id := c.Request().Header.Get(echo.HeaderXRequestID)
			if !validRequestID(id) {
				id = licensing.NewID()
			}
			c.Response().Header().Set(echo.HeaderXRequestID, id)
			return next(c)
		}
	}
}

func validRequestID(id string) bool {
	if len(id) < 1 || len(id) > 64 {
		return false
	}
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
		default:
			return false
		}
	}
	return true
}

// rateLimitedError is a request over its token's rate limit (429).
type rateLimitedError struct{ retryAfter int }

func (e *rateLimitedError) Error() string {
	return "Too many requests with this token; retry after " + strconv.Itoa(e.retryAfter) + " seconds."
}

// rateLimit refuses the requests of a token over its rate (429 with
// Retry-After). It runs after authentication; a request without a
// principal is not its concern.
func rateLimit(l *ratelimit.Limiter) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p, ok := licensing.PrincipalFrom(c.Request().Context())
			if !ok {
				return next(c)
			}
			if allowed, wait := l.Allow(p.TokenID); !allowed {
				return &rateLimitedError{retryAfter: max(1, int((wait+time.Second-1)/time.Second))}
			}
			return next(c)
		}
	}
}

// withRateLimit returns auth followed by the rate limit (auth alone when
// l is nil).
func withRateLimit(auth echo.MiddlewareFunc, l *ratelimit.Limiter) echo.MiddlewareFunc {
	if l == nil {
		return auth
	}
	limit := rateLimit(l)
	return func(next echo.HandlerFunc) echo.HandlerFunc { return auth(limit(next)) }
}

// writeGrace is how long past a request's deadline its connection still
// takes writes, so that the answer to a timed-out request gets out.
const writeGrace = 2 * time.Second

// waitingRoute is the route that may wait for a seat (the agent's start of
// a session), bounded by MaxWait on top of WriteTimeout.
const waitingRoute = http.MethodPost + " " + AgentPath + "/sessions"

// deadlines puts the route's deadline on the request context and on the
// connection's writes.
func deadlines(edge Edge) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if edge.WriteTimeout <= 0 {
				return next(c)
			}
			d := edge.WriteTimeout
			if c.Request().Method+" "+c.Path() == waitingRoute {
				d += edge.MaxWait
			}
			ctx, cancel := context.WithTimeout(c.Request().Context(), d)
			defer cancel()
			deadline, _ := ctx.Deadline()
			// Not every ResponseWriter can (httptest's recorder cannot); the
			// context deadline holds regardless.
			_ = http.NewResponseController(c.Response()).SetWriteDeadline(deadline.Add(writeGrace))
			c.SetRequest(c.Request().WithContext(ctx))
			return next(c)
		}
	}
}

// newLimiter returns the per-token limiter of the edge, nil if it limits
// nothing. A burst below 1 is one second's worth of requests.
func newLimiter(edge Edge, clock licensing.Clock) *ratelimit.Limiter {
	if edge.RateLimit <= 0 {
		return nil
	}
	burst := edge.RateLimitBurst
	if burst < 1 {
		burst = int(math.Ceil(edge.RateLimit))
	}
	return ratelimit.New(edge.RateLimit, burst, 0, clock.Now)
}
