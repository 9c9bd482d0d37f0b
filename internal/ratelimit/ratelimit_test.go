package ratelimit

import (
	"fmt"
	"testing"
	"time"
)

// fakeClock is a clock the test moves.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time      { return c.t }
func (c *fakeClock) add(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *fakeClock               { return &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func TestBurstThenRefill(t *testing.T) {
	clock := newClock()
	l := New(2, 3, 0, clock.now)
	for i := range 3 {
		if ok, _ := l.Allow("a"); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	ok, wait := l.Allow("a")
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("over the burst: allowed %v, wait %v; want refused, 500ms", ok, wait)
	}
	if ok, _ := l.Allow("b"); !ok {
		t.Fatal("another key is limited by the first one's bucket")
	}
	clock.add(499 * time.Millisecond)
	if ok, _ := l.Allow("a"); ok {
		t.Fatal("allowed before a token was back")
	}
	clock.add(2 * time.Millisecond)
	if ok, _ := l.Allow("a"); !ok {
		t.Fatal("refused once a token was back")
	}
	clock.add(time.Hour)
	for i := range 3 {
		if ok, _ := l.Allow("a"); !ok {
			t.Fatalf("after an idle hour, request %d refused: the bucket holds more than burst or refills wrongly", i+1)
		}
	}
	if ok, _ := l.Allow("a"); ok {
		t.Fatal("an idle bucket filled beyond its burst")
	}
}

func TestBucketsBounded(t *testing.T) {
	clock := newClock()
	const maxKeys = 100
	l := New(1, 1, maxKeys, clock.now)
	for i := range 10 * maxKeys {
		l.Allow(fmt.Sprint("busy", i))
		if n := l.Len(); n > maxKeys {
			t.Fatalf("%d buckets held, cap %d", n, maxKeys)
		}
	}
	// Idle buckets go first, and losing one loses nothing: every key
	// seen within the last second keeps its (empty) bucket.
	clock.add(2 * time.Second)
	for i := range maxKeys - 1 {
		l.Allow(fmt.Sprint("fresh", i))
	}
	l.Allow("hot")
	if n := l.Len(); n != maxKeys {
		t.Fatalf("%d buckets held, want %d (the idle ones evicted, the fresh ones kept)", n, maxKeys)
	}
	for i := range maxKeys - 1 {
		if ok, _ := l.Allow(fmt.Sprint("fresh", i)); ok {
			t.Fatalf("key fresh%d got a new bucket: its empty one was evicted while in use", i)
		}
	}
}

// BenchmarkAllow measures a request of a known token.
func BenchmarkAllow(b *testing.B) {
	l := New(1e9, 1, 0, nil)
	for b.Loop() {
		l.Allow("token")
	}
}

// BenchmarkAllowFull measures the worst case: a new token while the map
// is full of buckets in use, none idle, so each one evicts by a scan.
func BenchmarkAllowFull(b *testing.B) {
	clock := newClock()
	l := New(1e-9, 1, 0, clock.now)
	for i := range DefaultMaxKeys {
		l.Allow(fmt.Sprint(i))
	}
	i := 0
	for b.Loop() {
		i++
		l.Allow(fmt.Sprint("new", i))
	}
}
