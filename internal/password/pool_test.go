package password

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/licensing"
)

// waitQueued waits until n callers wait in the pool.
func waitQueued(t *testing.T, p *Pool, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, queued, _ := p.Load(); queued == n {
			return
		}
		if time.Now().After(deadline) {
			_, queued, _ := p.Load()
			t.Fatalf("%d callers wait, want %d", queued, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestPoolHashVerify(t *testing.T) {
	p := NewPool(PoolOptions{Workers: 2})
	ctx := context.Background()
	h, err := p.Hash(ctx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	for _, lane := range []Lane{LaneSignIn, LaneWrite} {
		if ok, err := p.Verify(ctx, lane, h, "correct horse"); err != nil || !ok {
			t.Errorf("lane %d: the right password: %v, %v", lane, ok, err)
		}
		if ok, err := p.Verify(ctx, lane, h, "wrong"); err != nil || ok {
			t.Errorf("lane %d: a wrong password: %v, %v", lane, ok, err)
		}
	}
	if !Verify(h, "correct horse") {
		t.Error("a pool's hash does not verify without the pool")
	}
	if running, queued, capacity := p.Load(); running != 0 || queued != 0 || capacity != 2 {
		t.Errorf("idle Load() = %d, %d, %d; want 0, 0, 2", running, queued, capacity)
	}
}

// TestPoolBusy fills a lane: one more caller is refused at once with an
// error adapters answer 503, while the other lane still takes waiters.
func TestPoolBusy(t *testing.T) {
	p := NewPool(PoolOptions{Workers: 1, MaxWaiting: 2, MaxWait: time.Minute})
	ctx := context.Background()
	if err := p.acquire(ctx, LaneWrite); err != nil { // the one worker, held
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for i := range 3 {
		lane := LaneSignIn
		if i == 2 {
			lane = LaneWrite
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := p.Verify(ctx, lane, "", "pw")
			errs <- err
		}()
		waitQueued(t, p, i+1)
	}
	if _, err := p.Verify(ctx, LaneSignIn, "", "pw"); !errors.Is(err, ErrBusy) || !errors.Is(err, licensing.ErrUnavailable) {
		t.Fatalf("a third sign-in waiter: %v, want ErrBusy (licensing.ErrUnavailable)", err)
	}
	p.release()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("a waiter within the bound: %v", err)
		}
	}
	if running, queued, _ := p.Load(); running != 0 || queued != 0 {
		t.Errorf("after the burst Load() = %d running, %d queued", running, queued)
	}
}

// TestPoolMaxWait: a waiter whose wait runs out is refused with ErrBusy
// and leaves its lane.
func TestPoolMaxWait(t *testing.T) {
	p := NewPool(PoolOptions{Workers: 1, MaxWait: time.Millisecond})
	if err := p.acquire(context.Background(), LaneSignIn); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Hash(context.Background(), "pw"); !errors.Is(err, ErrBusy) {
		t.Fatalf("Hash with the worker held past MaxWait: %v, want ErrBusy", err)
	}
	p.release()
	if running, queued, _ := p.Load(); running != 0 || queued != 0 {
		t.Errorf("Load() = %d running, %d queued, want 0 and 0", running, queued)
	}
}

// TestPoolLanesTakeTurns: with a burst of sign-ins waiting, a password
// write that comes after them runs second, not after the whole burst (one
// first-come queue would run it last).
func TestPoolLanesTakeTurns(t *testing.T) {
	for _, flood := range []Lane{LaneSignIn, LaneWrite} {
		other := 1 - flood
		p := NewPool(PoolOptions{Workers: 1})
		ctx := context.Background()
		if err := p.acquire(ctx, flood); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var order []Lane
		var wg sync.WaitGroup
		run := func(lane Lane) {
			defer wg.Done()
			if err := p.acquire(ctx, lane); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			order = append(order, lane)
			mu.Unlock()
			p.release()
		}
		for i := range 4 {
			wg.Add(1)
			go run(flood)
			waitQueued(t, p, i+1)
		}
		wg.Add(1)
		go run(other)
		waitQueued(t, p, 5)
		p.release()
		wg.Wait()
		if len(order) != 5 || (order[0] != other && order[1] != other) {
			t.Errorf("flood of lane %d: served %v, want lane %d first or second", flood, order, other)
		}
	}
}

// TestPoolContext: a caller whose context ends while waiting gets the
// context's error and leaves the lane; an ended context hashes nothing.
func TestPoolContext(t *testing.T) {
	p := NewPool(PoolOptions{Workers: 1, MaxWait: time.Minute})
	if err := p.acquire(context.Background(), LaneWrite); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := p.Verify(ctx, LaneSignIn, "", "pw")
		done <- err
	}()
	waitQueued(t, p, 1)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiter: %v, want context.Canceled", err)
	}
	if _, queued, _ := p.Load(); queued != 0 {
		t.Fatalf("%d still queued after the cancelled waiter left", queued)
	}
	p.release()
	if _, err := p.Hash(ctx, "pw"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Hash with an ended context: %v", err)
	}
	if running, _, _ := p.Load(); running != 0 {
		t.Fatalf("%d running after every caller left", running)
	}
}

// TestPoolGiveUpRace: callers giving up while workers are handed over
// neither lose a worker nor keep one.
func TestPoolGiveUpRace(t *testing.T) {
	p := NewPool(PoolOptions{Workers: 2})
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if i%2 == 0 {
				go cancel() // gives up at some point of its wait, or never
			}
			if err := p.acquire(ctx, Lane(i%2)); err == nil {
				p.release()
			}
		}()
	}
	wg.Wait()
	if running, queued, _ := p.Load(); running != 0 || queued != 0 {
		t.Fatalf("Load() = %d running, %d queued after every caller left", running, queued)
	}
}
