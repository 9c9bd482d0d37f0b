package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"time"
)

// roundRobin hands out base URLs in turn, safely from many goroutines.
type roundRobin struct {
	bases []string
	next  atomic.Uint64
}

func newRoundRobin(bases []string) *roundRobin { return &roundRobin{bases: bases} }

// pick returns the next base URL.
func (r *roundRobin) pick() string {
	i := r.next.Add(1) - 1
	return r.bases[i%uint64(len(r.bases))]
}

// client sends SCIM requests to the targets in turn.
type client struct {
	http    *http.Client
	targets *roundRobin
	auth    string
}

// newClient returns a client keeping up to concurrency connections per
// target, dialling loopback addresses only, ignoring proxy settings and
// following no redirect.
func newClient(c common) *client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second, Control: loopbackOnly}
	transport := &http.Transport{
		Proxy:               nil,
		DialContext:         dialer.DialContext,
		MaxIdleConns:        2 * c.concurrency * len(c.bases),
		MaxIdleConnsPerHost: 2 * c.concurrency,
		IdleConnTimeout:     90 * time.Second,
	}
	return &client{
		http: &http.Client{
			Transport:     transport,
			Timeout:       c.timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		targets: newRoundRobin(c.bases),
		auth:    "Bearer " + c.token,
	}
}

// answer is a response read to its end.
type answer struct {
	status int
	body   []byte
	// took is from sending the request to reading the last byte.
	took time.Duration
}

// do sends one SCIM request to the next target. pathQuery is relative to
// the SCIM base URL ("/Users?count=0").
func (c *client) do(ctx context.Context, method, pathQuery string, body []byte) (answer, error) {
	return c.send(ctx, method, c.targets.pick()+pathQuery, c.auth, scimMediaType, body)
}

// Media types of the requests.
const (
	scimMediaType = "application/scim+json"
	jsonMediaType = "application/json"
)

// send sends one request to url with the Authorization header value auth;
// mediaType is what it accepts and, with a body, what it sends.
func (c *client) send(ctx context.Context, method, url, auth, mediaType string, body []byte) (answer, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Authorization", auth)
	req.Header.Set("Accept", mediaType)
	if body != nil {
		req.Header.Set("Content-Type", mediaType)
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	took := time.Since(start)
	if err != nil {
		return answer{}, err
	}
	return answer{status: resp.StatusCode, body: b, took: took}, nil
}

// classify names the failure of a request that got no HTTP answer.
func classify(err error) string {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return errTimeout
	}
	return errTransport
}

// outcome records one request's failure in rec: a transport failure or a
// status other than want. It returns whether the request succeeded (the
// caller records the success, once it has checked the body). A request
// cut short because the run ended (ctx done) is not recorded at all.
func outcome(ctx context.Context, rec *recorder, a answer, err error, want int) bool {
	r := httpResult(ctx, a, err, want)
	if r.class != "" && !r.cut {
		rec.failDetail(r.class, r.detail)
	}
	return r.class == "" && !r.cut
}

// httpResult is the result of a request that should answer want: a
// success with its latency, a failure by status or class, or cut short
// because ctx ended.
func httpResult(ctx context.Context, a answer, err error, want int) result {
	switch {
	case err != nil && ctx.Err() != nil:
		return result{cut: true}
	case err != nil:
		return result{class: classify(err), detail: err.Error()}
	case a.status != want:
		return result{class: strconv.Itoa(a.status), detail: snippet(a.body)}
	}
	return result{took: a.took}
}

// snippet is the start of a response body, for error messages.
func snippet(b []byte) string {
	const n = 300
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}
