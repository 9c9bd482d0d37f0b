package server

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

// deadlineRecorder is a ResponseWriter that remembers the write deadline
// set on it, as a connection's does.
type deadlineRecorder struct {
	*httptest.ResponseRecorder
	deadline time.Time
}

func (r *deadlineRecorder) SetWriteDeadline(t time.Time) error {
	r.deadline = t
	return nil
}

// TestDeadlines checks that every route's request context and connection
// writes get the write timeout as deadline, the agent's start of a session
// (which may wait for a seat) the maximum wait on top, and that a handler
// cut by its deadline is answered 503, not 500.
func TestDeadlines(t *testing.T) {
	const write, wait = time.Minute, 10 * time.Minute
	e := echo.New()
	e.HTTPErrorHandler = errorHandler(slog.New(slog.DiscardHandler))
	e.Use(deadlines(Edge{WriteTimeout: write, MaxWait: wait}))
	var ctxDeadline time.Time
	record := func(c echo.Context) error {
		ctxDeadline, _ = c.Request().Context().Deadline()
		return c.NoContent(http.StatusNoContent)
	}
	e.GET("/healthz", record)
	e.GET(AgentPath+"/sessions", record)
	e.POST(AgentPath+"/sessions", record)
	e.POST(AdminPath+"/users", record)

	for _, c := range []struct {
		method, path string
		want         time.Duration
	}{
		{"GET", "/healthz", write},
		{"POST", AdminPath + "/users", write},
		{"GET", AgentPath + "/sessions", write},
		{"POST", AgentPath + "/sessions", write + wait},
	} {
		ctxDeadline = time.Time{}
		rec := &deadlineRecorder{ResponseRecorder: httptest.NewRecorder()}
		before := time.Now()
		e.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, nil))
		after := time.Now()
		if rec.Code != http.StatusNoContent {
			t.Fatalf("%s %s: %d", c.method, c.path, rec.Code)
		}
		if ctxDeadline.Before(before.Add(c.want)) || ctxDeadline.After(after.Add(c.want)) {
			t.Errorf("%s %s: context deadline %v after the start, want %v", c.method, c.path, ctxDeadline.Sub(before), c.want)
		}
		if !rec.deadline.Equal(ctxDeadline.Add(writeGrace)) {
			t.Errorf("%s %s: write deadline %v, want the context's plus %v", c.method, c.path, rec.deadline.Sub(ctxDeadline), writeGrace)
		}
	}

	// A handler stopped by its deadline answers 503 with Retry-After.
	cut := echo.New()
	cut.HTTPErrorHandler = errorHandler(slog.New(slog.DiscardHandler))
	cut.Use(deadlines(Edge{WriteTimeout: time.Millisecond}))
	cut.GET(AdminPath+"/users", func(c echo.Context) error {
		select {
		case <-c.Request().Context().Done():
			return c.Request().Context().Err()
		case <-time.After(10 * time.Second): // no deadline came: answer 204, which fails the test
			return c.NoContent(http.StatusNoContent)
		}
	})
	rec := httptest.NewRecorder()
	cut.ServeHTTP(rec, httptest.NewRequest("GET", AdminPath+"/users", nil))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Errorf("a request past its deadline: %d Retry-After %q, want 503 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
	}
}
