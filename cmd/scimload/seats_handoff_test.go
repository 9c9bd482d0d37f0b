package main

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// at is a moment t milliseconds after the epoch of a synthetic timeline.
func at(t float64) time.Time {
	return time.Unix(0, 0).Add(time.Duration(t * float64(time.Millisecond)))
}

// TestHandoffsTwoReplicas replays a timeline of 2 seats through which
// agents on two replicas overlap: releases whose answers arrive after the
// grant they freed, a grant of a seat free before the agent asked, an end
// that failed, an agent that never got a seat.
func TestHandoffsTwoReplicas(t *testing.T) {
	cycles := []seatCycle{
		// a and b take the plan's two free seats at once.
		{asked: at(0), granted: at(2), endSent: at(100), ended: at(110)}, // a via replica 1: the end answers late
		{asked: at(0), granted: at(3), endSent: at(102), ended: at(104)}, // b via replica 2
		// c and d wait; c gets a's seat before a's end answered (the
		// overlap), d gets b's.
		{asked: at(10), granted: at(103), endSent: at(200), ended: at(201)},
		{asked: at(20), granted: at(108), endSent: at(300), ended: at(305)},
		// e asks after c's seat was freed: it finds it free.
		{asked: at(250), granted: at(253)}, // and its end fails: no release
		// f asks, and waits until it gives up: d's seat, freed at 300,
		// is matched to nobody.
		{asked: at(260), left: at(400)},
	}
	got := handoffs(cycles, 2, at(0), at(400))
	want := HandoffReport{Grants: 5, Handoffs: 2, Direct: 3,
		P50Ms: 3, P95Ms: 6, P99Ms: 6, MaxMs: 6, // c: 103-100, d: 108-102
		FromAnswerP50Ms: 0, FromAnswerP99Ms: 4, // c: 103-110 < 0, d: 108-104
	}
	// Idle seat-time while agents asked: 0-2 two seats free and two
	// asking (4 ms), 2-3 one and one (1 ms), 100-102 a's seat free and
	// two asking (2 ms), 102-103 both seats (2 ms), 103-108 b's seat for
	// d (5 ms), 250-253 c's seat for e (3 ms), 300-400 d's seat while f
	// asks (100 ms): 117 ms of 2 seats x 400 ms.
	want.SeatIdle = 117.0 / 800
	if got != want {
		t.Errorf("handoffs =\n%+v, want\n%+v", got, want)
	}
}

// TestHandoffsUnmatched checks a grant with no seat freed before it by the
// agents' clocks: the end of its seat's holder failed.
func TestHandoffsUnmatched(t *testing.T) {
	cycles := []seatCycle{
		{asked: at(0), granted: at(1), endSent: at(50)}, // end failed
		{asked: at(5), granted: at(60), endSent: at(70), ended: at(71)},
	}
	got := handoffs(cycles, 1, at(0), at(100))
	if got.Grants != 2 || got.Direct != 1 || got.Unmatched != 1 || got.Handoffs != 0 || got.P50Ms != 0 {
		t.Errorf("handoffs = %+v, want 2 grants: 1 direct, 1 unmatched", got)
	}
}

// TestHandoffsBoundTheTrueOnes simulates seats handed from release commit
// to claim commit, then the clocks the agents see: the end sent up to a
// before the release's commit and answered up to b after it, the grant
// answered up to g after the claim's commit. The hand-offs measured from
// the end sent must lie between the true ones and the true ones + a + g,
// at every percentile, as seats_handoff.go states.
func TestHandoffsBoundTheTrueOnes(t *testing.T) {
	const seats, perSeat = 4, 300
	const a, b, g = 8.0, 5.0, 3.0
	rng := rand.New(rand.NewPCG(1, 2))
	var truth, seen []seatCycle
	for range seats {
		claim := 1 + rng.Float64()*5
		for range perSeat {
			release := claim + 20 + rng.Float64()*80
			// Every agent asked at once, after the plan's seats were free.
			c := seatCycle{asked: at(0.5), granted: at(claim), endSent: at(release), ended: at(release)}
			truth = append(truth, c)
			c.granted = at(claim + rng.Float64()*g)
			c.endSent, c.ended = at(release-rng.Float64()*a), at(release+rng.Float64()*b)
			seen = append(seen, c)
			claim = release + rng.Float64()*rng.Float64()*60 // hand-offs of all lengths
		}
	}
	end := at(200_000)
	want, got := handoffs(truth, seats, at(0), end), handoffs(seen, seats, at(0), end)
	if want.Handoffs != seats*(perSeat-1) || got.Handoffs != want.Handoffs || got.Direct != seats || got.Unmatched != 0 {
		t.Fatalf("true %+v, seen %+v: want %d hand-offs and %d direct grants in both", want, got, seats*(perSeat-1), seats)
	}
	for _, p := range []struct {
		name       string
		truth, got float64
	}{{"p50", want.P50Ms, got.P50Ms}, {"p95", want.P95Ms, got.P95Ms}, {"p99", want.P99Ms, got.P99Ms}, {"max", want.MaxMs, got.MaxMs}} {
		if p.got < p.truth || p.got > p.truth+a+g+0.002 {
			t.Errorf("%s: measured %.3f ms, true %.3f ms: want within [true, true+%.0f]", p.name, p.got, p.truth, a+g)
		}
	}
	if got.SeatIdle < want.SeatIdle {
		t.Errorf("seat idle measured %.4f below the true %.4f", got.SeatIdle, want.SeatIdle)
	}
	if slices.ContainsFunc([]float64{want.P50Ms, want.P99Ms}, func(v float64) bool { return v <= 0 }) {
		t.Errorf("true hand-offs %+v: the simulation made none", want)
	}
}
