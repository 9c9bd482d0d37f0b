// Package ratelimit is a token-bucket rate limiter keyed by a string (a
// token id), holding a bounded number of buckets in memory. It limits one
// process: with several replicas each one keeps its own buckets. It holds
// no HTTP and no storage.
package ratelimit

import (
	"math"
	"sync"
	"time"
)

// DefaultMaxKeys is the number of buckets a Limiter keeps at most unless
// told otherwise: at a few dozen bytes each, a few megabytes.
const DefaultMaxKeys = 65536

// Limiter gives each key a bucket of Burst tokens refilled at Rate tokens
// a second; a request takes one token.
type Limiter struct {
	rate    float64
	burst   float64
	maxKeys int
	now     func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// New returns a limiter of rate tokens a second (> 0) and burst tokens
// (< 1 counts as 1) per key, keeping at most maxKeys buckets (<= 0:
// DefaultMaxKeys). now is the clock (nil: time.Now).
func New(rate float64, burst, maxKeys int, now func() time.Time) *Limiter {
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	if now == nil {
		now = time.Now
	}
	return &Limiter{rate: rate, burst: float64(max(burst, 1)), maxKeys: maxKeys, now: now, buckets: map[string]*bucket{}}
}

// Allow takes a token from key's bucket. When the bucket is empty it
// takes nothing and returns false with the time until a token is back.
func (l *Limiter) Allow(key string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if ok {
		b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
		b.last = now
	} else {
		if len(l.buckets) >= l.maxKeys {
			l.evict(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration(math.Ceil((1 - b.tokens) / l.rate * float64(time.Second)))
	return false, wait
}

// Len returns the number of buckets held.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// evict makes room for new buckets. It drops every bucket that has filled
// up again since its last use, which loses nothing (a new bucket starts
// full). If that leaves the map more than 15/16 full, it drops arbitrary
// buckets (Go's map order is random) down to that, so that each scan
// makes room for many new keys; a token whose bucket was dropped starts
// again with a full one.
func (l *Limiter) evict(now time.Time) {
	refill := time.Duration(l.burst / l.rate * float64(time.Second))
	for k, b := range l.buckets {
		if now.Sub(b.last) >= refill {
			delete(l.buckets, k)
		}
	}
	keep := l.maxKeys - max(1, l.maxKeys/16)
	for k := range l.buckets {
		if len(l.buckets) <= keep {
			break
		}
		delete(l.buckets, k)
	}
}
