package server

import (
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/scimd/scimd/internal/origin"
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
