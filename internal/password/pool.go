package password

import (
	"context"
	"crypto/subtle"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/scimd/scimd/licensing"
)

// Lane is a queue of the Pool. Sign-ins and password writes wait in
// separate lanes, served in turn, so that a burst of one cannot starve the
// other.
type Lane int

// The lanes.
const (
	// LaneSignIn is the lane of the agent app's sign-in checks (Verify).
	LaneSignIn Lane = iota
	// LaneWrite is the lane of the passwords set through SCIM or the
	// admin API (Hash, and the Verify that tells whether a write repeats
	// the stored password).
	LaneWrite
	lanes
)

// ErrBusy refuses a hash when its lane holds as many waiters as it may,
// or the wait ran out: the server is busy, the caller may retry later
// (an adapter answers 503 with Retry-After, as for any
// licensing.ErrUnavailable).
var ErrBusy = fmt.Errorf("password hashing is busy: %w", licensing.ErrUnavailable)

// PoolOptions size a Pool.
type PoolOptions struct {
	// Workers is how many hashes run at once. Default: GOMAXPROCS. Each
	// takes 19 MiB and a core for its whole run, so more at once would
	// only add memory (16 concurrent provisioning writes with passwords
	// grew the server past 500 MB) without finishing any sooner.
	Workers int
	// MaxWaiting is how many callers may wait in each lane; one more is
	// refused with ErrBusy at once. Default 256.
	MaxWaiting int
	// MaxWait bounds how long a caller waits for a worker before ErrBusy.
	// Default 10 seconds.
	MaxWait time.Duration
}

// Pool runs the argon2id hashes of a process on a bounded number of
// workers. Callers beyond the workers wait in their lane, first come first
// served within it; a freed worker goes to the other lane's first waiter
// when the lane served last has waiters too. A wait ends early, with the
// context's error, when the caller's context ends.
type Pool struct {
	opts PoolOptions

	mu      sync.Mutex
	running int
	queues  [lanes][]chan struct{}
	// last is the lane served last, so the other goes next.
	last Lane
}

// NewPool returns a pool with the options (zero values take the defaults).
func NewPool(opts PoolOptions) *Pool {
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.MaxWaiting <= 0 {
		opts.MaxWaiting = 256
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = 10 * time.Second
	}
	return &Pool{opts: opts}
}

// Hash returns the argon2id hash of password, as the package's Hash does,
// computed on a worker of the write lane. It returns ErrBusy if the lane
// is full or the wait ran out, and ctx's error if ctx ended first.
func (p *Pool) Hash(ctx context.Context, password string) (string, error) {
	salt, err := newSalt()
	if err != nil {
		return "", err
	}
	if err := p.acquire(ctx, LaneWrite); err != nil {
		return "", err
	}
	defer p.release()
	return encode(salt, key([]byte(password), salt)), nil
}

// Verify reports, as the package's Verify does, whether password is the
// one hash was made from, computed on a worker of the lane. Errors as
// Hash; an error means nothing was checked.
func (p *Pool) Verify(ctx context.Context, lane Lane, hash, password string) (bool, error) {
	if lane < 0 || lane >= lanes {
		return false, fmt.Errorf("password: no lane %d", lane)
	}
	if err := p.acquire(ctx, lane); err != nil {
		return false, err
	}
	defer p.release()
	return verify(hash, password), nil
}

// Verifier returns Verify on the lane, for a caller that checks
// passwords of one kind only.
func (p *Pool) Verifier(lane Lane) func(ctx context.Context, hash, password string) (bool, error) {
	return func(ctx context.Context, hash, password string) (bool, error) {
		return p.Verify(ctx, lane, hash, password)
	}
}

// Load reports the hashes running, the callers waiting (both lanes), and
// the workers, for monitoring.
func (p *Pool) Load() (running, queued, capacity int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.running, len(p.queues[LaneSignIn]) + len(p.queues[LaneWrite]), p.opts.Workers
}

// acquire takes a worker for the caller, waiting in the lane if none is
// free.
func (p *Pool) acquire(ctx context.Context, lane Lane) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p.mu.Lock()
	if p.running < p.opts.Workers && len(p.queues[LaneSignIn])+len(p.queues[LaneWrite]) == 0 {
		p.running++
		p.mu.Unlock()
		return nil
	}
	if len(p.queues[lane]) >= p.opts.MaxWaiting {
		p.mu.Unlock()
		return ErrBusy
	}
	// The channel is closed when a worker is handed over (release keeps
	// running as it is: the worker passes from one caller to the next).
	granted := make(chan struct{})
	p.queues[lane] = append(p.queues[lane], granted)
	p.mu.Unlock()

	t := time.NewTimer(p.opts.MaxWait)
	defer t.Stop()
	var err error
	select {
	case <-granted:
		return nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-t.C:
		err = ErrBusy
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, g := range p.queues[lane] {
		if g == granted {
			p.queues[lane] = append(p.queues[lane][:i:i], p.queues[lane][i+1:]...)
			return err
		}
	}
	// Handed a worker while giving up: pass it on.
	p.handOver()
	return err
}

// release gives the caller's worker to the next waiter, or frees it.
func (p *Pool) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.handOver()
}

// handOver passes a worker that its caller no longer needs to the first
// waiter of the lane whose turn it is, or frees it. p.mu must be held.
func (p *Pool) handOver() {
	next := 1 - p.last
	if len(p.queues[next]) == 0 {
		next = p.last
	}
	q := p.queues[next]
	if len(q) == 0 {
		p.running--
		return
	}
	close(q[0])
	p.queues[next] = q[1:]
	p.last = next
}

// verify is Verify without a pool.
func verify(hash, password string) bool {
	ps, ok := parse(hash)
	if !ok {
		key([]byte(password), make([]byte, SaltLen))
		return false
	}
	got := argon2Key([]byte(password), ps)
	return subtle.ConstantTimeCompare(got, ps.key) == 1
}
