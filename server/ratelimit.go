package server

import (
	"math"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/scimd/scimd/internal/ratelimit"
	"github.com/scimd/scimd/licensing"
)

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
