package main

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// SeatsReport is what the seats scenario checked, beside its operations.
type SeatsReport struct {
	Product     string  `json:"product"`
	Agents      int     `json:"agents"`
	Seats       int     `json:"seats"`
	HoldMs      float64 `json:"hold_ms"`
	PauseMs     float64 `json:"pause_ms"`
	WaitSeconds int     `json:"wait_seconds"`
	Rounds      int     `json:"rounds,omitempty"`
	// Scimd is the run against the servers, RawSQL the baseline's.
	Scimd  SeatsCheck  `json:"scimd"`
	RawSQL *SeatsCheck `json:"raw_sql,omitempty"`
}

// SeatsCheck is one phase's seat cycles and its oversell check.
type SeatsCheck struct {
	// Cycles counts seat start+end cycles completed (start, connect,
	// heartbeat, hold, end succeeded).
	Cycles       int     `json:"cycles"`
	CyclesPerSec float64 `json:"cycles_per_sec"`
	// Denials counts starts refused because every seat was taken.
	Denials int `json:"denials"`
	// Readings counts the monitor's successful readings of the seats
	// during the run (the admin API, or the baseline's counter).
	Readings    int `json:"readings"`
	MaxOccupied int `json:"max_occupied"`
	MaxWaiting  int `json:"max_waiting"`
	// Violations counts readings with more seats occupied than the plan
	// has.
	Violations int `json:"violations"`
	// MaxHeld is the most agents that held a seat at once as the agents
	// saw it (grant received to end sent); HeldViolations counts the
	// grants that made them more than the seats.
	MaxHeld        int `json:"max_held"`
	HeldViolations int `json:"held_violations"`
	// FinalOccupied and FinalWaiting are read once every agent ended;
	// FinalOccupied is -1 if that reading failed (FinalError says why).
	FinalOccupied int    `json:"final_occupied"`
	FinalWaiting  int    `json:"final_waiting"`
	FinalError    string `json:"final_error,omitempty"`
	// Handoff is how fast freed seats went to agents asking for one.
	Handoff HandoffReport `json:"handoff"`
}

// errSeatCheck is returned after a seats report whose check failed: an
// oversell, or seats left occupied.
var errSeatCheck = errors.New("the seat check failed")

// problems lists what the phase's check found wrong.
func (s SeatsCheck) problems(phase string, seats int) []string {
	var out []string
	if s.Violations > 0 {
		out = append(out, fmt.Sprintf("OVERSELL (%s): %d of %d readings showed more than %d seats occupied (at most %d)", phase, s.Violations, s.Readings, seats, s.MaxOccupied))
	}
	if s.HeldViolations > 0 {
		out = append(out, fmt.Sprintf("OVERSELL (%s): %d grants left more than %d agents holding a seat at once (at most %d)", phase, s.HeldViolations, seats, s.MaxHeld))
	}
	switch {
	case s.FinalOccupied < 0:
		out = append(out, fmt.Sprintf("%s: the seats could not be read after the run: %s", phase, s.FinalError))
	case s.FinalOccupied > 0:
		out = append(out, fmt.Sprintf("%s: %d seats still occupied after every agent ended", phase, s.FinalOccupied))
	}
	return out
}

// problems lists what the report's checks found wrong.
func (r *SeatsReport) problems() []string {
	out := r.Scimd.problems("scimd", r.Seats)
	if r.RawSQL != nil {
		out = append(out, r.RawSQL.problems("raw SQL", r.Seats)...)
	}
	return out
}

// writeTable prints the seat checks for people.
func (r *SeatsReport) writeTable(w io.Writer, baseline *BaselineReport) {
	d := func(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }
	fmt.Fprintf(w, "seats: %d agents racing for %d concurrent seats of %s, hold %s, pause after a denial %s, wait %ds",
		r.Agents, r.Seats, r.Product, d(r.HoldMs), d(r.PauseMs), r.WaitSeconds)
	if r.Rounds > 0 {
		fmt.Fprintf(w, ", %d rounds each", r.Rounds)
	}
	fmt.Fprintln(w)
	line := func(name, monitor string, s SeatsCheck) {
		fmt.Fprintf(w, "%s: %d seat start+end cycles (%.1f/s), %d denials; %s: %d readings, occupied at most %d of %d, waiting at most %d, %d over; "+
			"agents held at most %d seats at once; occupied after the run: ", name, s.Cycles, s.CyclesPerSec, s.Denials, monitor,
			s.Readings, s.MaxOccupied, r.Seats, s.MaxWaiting, s.Violations, s.MaxHeld)
		if s.FinalOccupied < 0 {
			fmt.Fprintf(w, "unknown (%s)\n", s.FinalError)
		} else {
			fmt.Fprintf(w, "%d\n", s.FinalOccupied)
		}
		h := s.Handoff
		fmt.Fprintf(w, "%s hand-off, freed seat to an agent asking (end sent to start answered, an upper bound): %d of %d grants, p50 %.2f ms, p95 %.2f, p99 %.2f, max %.2f; "+
			"from the end's answer p50 %.2f, p99 %.2f; seat idle while agents asked %.1f%% of seat-time",
			name, h.Handoffs, h.Grants, h.P50Ms, h.P95Ms, h.P99Ms, h.MaxMs, h.FromAnswerP50Ms, h.FromAnswerP99Ms, h.SeatIdle*100)
		if h.Unmatched > 0 {
			fmt.Fprintf(w, "; %d grants matched no release (ends that failed)", h.Unmatched)
		}
		fmt.Fprintln(w)
	}
	line("scimd", "admin API", r.Scimd)
	if r.RawSQL != nil {
		line("raw SQL", "plan counter", *r.RawSQL)
		if baseline != nil {
			fmt.Fprintf(w, "seat cycles scimd/raw-SQL: %.1f/s against %.1f/s = %.1f%%\n", r.Scimd.CyclesPerSec, r.RawSQL.CyclesPerSec, baseline.ThroughputRatio*100)
		}
	}
	for _, p := range r.problems() {
		fmt.Fprintln(w, p)
	}
}
