package main

import (
	"cmp"
	"slices"
	"time"
)

// How the hand-off of a freed seat is measured, from the agents' clocks
// alone (the servers say nothing about it; the raw-SQL baseline is
// measured the same way).
//
// Each agent notes, per seat cycle: when it first asked for a seat (the
// first start request of the cycle was sent: a denied start that pauses
// and asks again, or a start that waits on the server, keeps asking from
// then on), when it got one (the granted start's answer arrived), and
// when it gave the seat back (the end request was sent, and its answer
// arrived). The seats are interchangeable, so a grant is matched to a
// release first in, first out: every grant takes the seat that has been
// free longest, the plan's seats counting as freed when the phase began.
// A grant whose seat was freed after the agent had asked is a hand-off,
// of grant minus release; the other grants found their seat free already.
//
// Error bounds. The seat is really freed at the commit of the release,
// which lies between the end request's sending and its answer, and really
// taken at the commit of the claim, before the grant's answer arrives.
// Taking the release as the end request sent and the grant as its answer
// moves every release earlier and every grant later than its commit, so
// the k-th release and the k-th grant do too, in time order: each
// hand-off so matched is at least the true one (the k-th claim's commit
// less the k-th release's commit), and exceeds it by at most the end
// request's latency plus the time from a claim's commit to its answer
// (bounded by the start's latency). These percentiles are upper bounds.
// The same pairs measured from the end's answer instead (release =
// answer of the end) undercount by the time from the release's commit to
// that answer and overcount by that of the grant, the two tails of a
// request: a closer but unbounded estimate, reported beside (never below
// 0).
//
// The seat-idle fraction is the seat-time, over the phase, when a seat
// was free (by the same clocks: from the end request sent to the next
// grant) while an agent was asking for one (from its first start request
// to its grant), divided by seats x the phase's length: at each moment,
// the smaller of the seats free and the agents asking. It is an upper
// bound for the same reason.

// seatCycle is one agent's seat cycle by the agent's clock. A zero granted
// is a cycle that got no seat (the agent stopped asking at left); a zero
// ended is a seat whose end failed or was cut short (its release is not
// known, so it is not counted as freed).
type seatCycle struct {
	asked, granted, endSent, ended, left time.Time
}

// HandoffReport is how fast freed seats went to agents asking for one.
type HandoffReport struct {
	// Grants counts the seats granted during the phase: Handoffs of a
	// seat freed while the agent was asking, Direct of a seat free
	// before it asked, Unmatched without any seat freed before it by
	// these clocks (after an end that failed).
	Grants    int `json:"grants"`
	Handoffs  int `json:"handoffs"`
	Direct    int `json:"direct"`
	Unmatched int `json:"unmatched,omitempty"`
	// The hand-offs from the end request sent to the grant's answer
	// (upper bounds), in milliseconds.
	P50Ms float64 `json:"p50_ms"`
	P95Ms float64 `json:"p95_ms"`
	P99Ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`
	// The same from the end's answer to the grant's answer.
	FromAnswerP50Ms float64 `json:"from_answer_p50_ms"`
	FromAnswerP99Ms float64 `json:"from_answer_p99_ms"`
	// SeatIdle is the share of the phase's seat-time during which a seat
	// was free while an agent asked for one.
	SeatIdle float64 `json:"seat_idle"`
}

// The kinds of a timeline's events, in the order they are taken at one
// instant: a seat freed then may go to a grant of the same instant.
const (
	evRelease = iota
	evGrant
	evAsk
	evLeave
)

type seatEvent struct {
	at    time.Time
	kind  int
	cycle int // index in the cycles
}

// freed is a seat freed: when its end was sent and answered.
type freed struct{ sent, answered time.Time }

// handoffs measures the hand-offs and the seat-idle fraction of a phase
// that ran from begin to end with seats seats (see above).
func handoffs(cycles []seatCycle, seats int, begin, end time.Time) HandoffReport {
	events := make([]seatEvent, 0, 3*len(cycles))
	for i, c := range cycles {
		events = append(events, seatEvent{c.asked, evAsk, i})
		if c.granted.IsZero() {
			events = append(events, seatEvent{c.left, evLeave, i})
			continue
		}
		events = append(events, seatEvent{c.granted, evGrant, i})
		if !c.ended.IsZero() {
			events = append(events, seatEvent{c.endSent, evRelease, i})
		}
	}
	slices.SortStableFunc(events, func(a, b seatEvent) int {
		return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.kind, b.kind))
	})

	var rep HandoffReport
	free := make([]freed, seats, seats+len(cycles))
	for i := range free {
		free[i] = freed{begin, begin}
	}
	var sent, answered []time.Duration
	var idle time.Duration
	asking := 0
	last := begin
	for _, e := range events {
		if e.at.After(last) && last.Before(end) {
			at := e.at
			if at.After(end) {
				at = end
			}
			idle += at.Sub(last) * time.Duration(min(len(free), asking))
			last = at
		}
		c := cycles[e.cycle]
		switch e.kind {
		case evAsk:
			asking++
		case evLeave:
			asking--
		case evRelease:
			free = append(free, freed{c.endSent, c.ended})
		case evGrant:
			asking--
			rep.Grants++
			if len(free) == 0 {
				rep.Unmatched++
				continue
			}
			f := free[0]
			free = free[1:]
			if !c.asked.Before(f.sent) {
				rep.Direct++
				continue
			}
			rep.Handoffs++
			sent = append(sent, c.granted.Sub(f.sent))
			answered = append(answered, max(c.granted.Sub(f.answered), 0))
		}
	}
	if end.After(last) {
		idle += end.Sub(last) * time.Duration(min(len(free), asking))
	}
	slices.Sort(sent)
	slices.Sort(answered)
	rep.P50Ms, rep.P95Ms = ms(percentile(sent, 50)), ms(percentile(sent, 95))
	rep.P99Ms, rep.MaxMs = ms(percentile(sent, 99)), ms(percentile(sent, 100))
	rep.FromAnswerP50Ms, rep.FromAnswerP99Ms = ms(percentile(answered, 50)), ms(percentile(answered, 99))
	if span := end.Sub(begin); span > 0 && seats > 0 {
		rep.SeatIdle = float64(idle) / float64(span*time.Duration(seats))
	}
	return rep
}
