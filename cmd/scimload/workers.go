package main

import (
	"sync"
	"time"
)

// runWorkers runs n workers at once and waits for all of them. Each
// worker gets its number and recorders of its own, one per name, so that
// recording takes no lock; a worker returns when its share of the run is
// done (its loop watches the run's context). runWorkers returns the
// recorders merged across workers, in the order of names, and how long
// the run took.
func runWorkers(n int, names []string, work func(w int, recs []*recorder)) ([]*recorder, time.Duration) {
	perWorker := make([][]*recorder, n)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range n {
		recs := make([]*recorder, len(names))
		for i, name := range names {
			recs[i] = newRecorder(name)
		}
		perWorker[w] = recs
		wg.Go(func() { work(w, recs) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	all := make([]*recorder, len(names))
	for i, name := range names {
		all[i] = newRecorder(name)
		for _, recs := range perWorker {
			all[i].merge(recs[i])
		}
	}
	return all, elapsed
}
