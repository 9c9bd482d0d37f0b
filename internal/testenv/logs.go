package testenv

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
)

// Logs is a slog.Handler that keeps every record, for tests that check
// what was logged. It is safe for concurrent use.
type Logs struct {
	mu    sync.Mutex
	lines []LogLine
	attrs []slog.Attr
	// shared is the Logs that handlers made by WithAttrs add to.
	shared *Logs
}

// LogLine is one record kept by Logs.
type LogLine struct {
	Level   slog.Level
	Message string
	// Attrs are the record's attributes as key=value.
	Attrs string
}

func (l LogLine) String() string { return fmt.Sprintf("%s %s %s", l.Level, l.Message, l.Attrs) }

// NewLogs returns an empty Logs.
func NewLogs() *Logs {
	l := &Logs{}
	l.shared = l
	return l
}

// Logger returns a logger writing into l at every level.
func (l *Logs) Logger() *slog.Logger { return slog.New(l) }

// Enabled implements slog.Handler: every level is kept.
func (l *Logs) Enabled(context.Context, slog.Level) bool { return true }

// Handle implements slog.Handler.
func (l *Logs) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	add := func(a slog.Attr) bool {
		fmt.Fprintf(&b, "%s=%v ", a.Key, a.Value)
		return true
	}
	for _, a := range l.attrs {
		add(a)
	}
	r.Attrs(add)
	s := l.shared
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lines = append(s.lines, LogLine{Level: r.Level, Message: r.Message, Attrs: strings.TrimSpace(b.String())})
	return nil
}

// WithAttrs implements slog.Handler.
func (l *Logs) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &Logs{attrs: append(append([]slog.Attr(nil), l.attrs...), attrs...), shared: l.shared}
}

// WithGroup implements slog.Handler; groups are not kept apart.
func (l *Logs) WithGroup(string) slog.Handler { return l }

// Lines returns the records kept so far at level min or above, except
// those whose message is one of skip.
func (l *Logs) Lines(min slog.Level, skip ...string) []LogLine {
	s := l.shared
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []LogLine
	for _, line := range s.lines {
		if line.Level >= min && !slices.Contains(skip, line.Message) {
			out = append(out, line)
		}
	}
	return out
}
