package server_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/testenv"
)

// statusRecorder is a server.RequestObserver that hands on the status of
// every answer.
type statusRecorder chan int

func (r statusRecorder) ObserveRequest(_, _ string, status int, _ time.Duration) { r <- status }

// TestClientGoneIs499 cancels each request while the store serves it, as
// a client that goes away does: the request is recorded 499 (not 500),
// and logged at debug, never as an error, in every API and in the
// authentication before them.
func TestClientGoneIs499(t *testing.T) {
	real := testenv.SQLite(t)
	entered := make(chan struct{}, 1)
	store := &downStore{Store: real, fail: func(ctx context.Context) error {
		if ctx.Err() == nil { // a handler's later calls fail at once
			entered <- struct{}{}
		}
		<-ctx.Done()
		return fmt.Errorf("sqlstore: users: %w", ctx.Err())
	}}
	logs := testenv.NewLogs()
	observed := make(statusRecorder, 1)
	ts := serveDown(t, store, logs.Logger(), observed)
	acct, scimToken := testenv.Account(t, real)
	calls := downCalls(t, real, acct, scimToken)
	requests := 0
	for _, tokensDown := range []bool{false, true} {
		store.tokensDown.Store(tokensDown)
		for _, c := range calls {
			if tokensDown && c.body != "" {
				// net/http notices a client gone only once the body
				// was read, which authentication does not do.
				continue
			}
			requests++
			ctx, cancel := context.WithCancel(t.Context())
			req, _ := http.NewRequestWithContext(ctx, c.method, ts.URL+c.path, strings.NewReader(c.body))
			req.Header.Set("Authorization", "Bearer "+c.token)
			req.Header.Set("Content-Type", "application/json")
			done := make(chan error, 1)
			go func() {
				resp, err := http.DefaultClient.Do(req)
				if err == nil {
					resp.Body.Close()
				}
				done <- err
			}()
			select {
			case <-entered:
			case err := <-done:
				t.Fatalf("%s: answered before reaching the store: %v", c.name, err)
			}
			cancel()
			if err := <-done; err == nil {
				t.Errorf("%s: answered though cancelled", c.name)
			}
			if status := <-observed; status != 499 {
				t.Errorf("%s (token lookup down %v): recorded %d, want 499", c.name, tokensDown, status)
			}
		}
	}
	if errs := logs.Lines(slog.LevelError); len(errs) > 0 {
		t.Errorf("clients that went away were logged as errors: %v", errs)
	}
	gone := 0
	for _, l := range logs.Lines(slog.LevelDebug) {
		if strings.Contains(l.Message, "client went away") {
			gone++
		}
	}
	if gone != requests {
		t.Errorf("%d debug lines of a client gone, want %d (one per request)", gone, requests)
	}
}
