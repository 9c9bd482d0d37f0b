package licensing

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// This file rolls seat events up by the hour, so that a usage report over
// months reads a few thousand summaries instead of every event.
//
// A summary (UsageHour) describes one UTC hour of one product relative
// to the seats occupied when the hour began, which it does not know: the
// net change, the lowest point any event reached, the denials, and how
// long each level relative to the start was held. A report starts from
// the occupancy it derives backwards from now (as UsageReport's callers
// do) and adds each summary's levels to it, which gives exactly the
// numbers of walking the hour's events: peak, seat-time and time at 100%
// judged against today's seats, whatever the plan was when the hour was
// summed up. (Absolute numbers would go stale when the plan changes, or
// when the occupancy derived at summing time differs from the one a
// report derives.)
//
// Hours are summed up lazily, by Seal, once they are UsageSealDelay in
// the past: events are recorded with the time a request began, so an
// hour's last events may commit a little after it ends. Everything from
// the seal on is read from the raw events. A seat event recorded for an
// hour already sealed (an old time) moves the seal back to its hour, in
// the event's transaction, and the store seals with every writer of seat
// events held off (see UsageRollups.SealUsage), so no event is left out.

// UsageSealDelay is how long after its end an hour is summed up.
const UsageSealDelay = 10 * time.Minute

// usageSealStep is the most hours one SealUsage call sums up: the seal
// holds off seat writes while it runs, so it catches up on a long past
// (after the upgrade that adds it) in steps.
const usageSealStep = 6

// UsageHour sums up the seat events of one product during one UTC hour
// [Hour, Hour+1h), relative to the seats occupied when the hour began.
type UsageHour struct {
	AccountID, ProductID string
	// Hour is the start of the hour, in UTC.
	Hour time.Time
	// Net is the change of the seats occupied over the hour.
	Net int
	// Low is the lowest change since the start that a single event left
	// (0 or below): a report that starts the hour below -Low seats would
	// clamp at zero, and computes the hour from its events instead.
	Low int
	// Denials counts the denied events.
	Denials int
	// Held is how long each change since the start was held during the
	// hour; the durations add up to an hour.
	Held map[int]time.Duration
	// Quarters sums up the hour's four quarters the same way, each
	// relative to the seats occupied when it began, encoded by
	// EncodeQuarters: buckets of zones whose days or hours start at a
	// quarter past a UTC hour (Asia/Kolkata, Asia/Kathmandu) are read
	// from them. Decoded only for such hours.
	Quarters string
}

// quarter is a quarter hour of a UsageHour, as UsageHour sums up an
// hour.
type quarter struct {
	net, low, denials int
	held              map[int]time.Duration
}

func (q *quarter) hold(level int, d time.Duration) { q.held[level] += d }
func (q *quarter) deny()                           { q.denials++ }

// EncodeQuarters sums up the events of the hour h (sorted by time, all
// within it) by quarter: four "net low denials held" parts, held as
// EncodeHeld writes it with commas, separated by "|".
func encodeQuarters(h time.Time, evs []SeatEvent) string {
	parts := make([]string, 4)
	for i := range 4 {
		start := h.Add(time.Duration(i) * 15 * time.Minute)
		q := quarter{held: map[int]time.Duration{}}
		var rest []SeatEvent
		q.net, q.low, rest = walkEvents(&q, 0, false, evs, start, start.Add(15*time.Minute))
		evs = rest
		held := UsageHour{Held: q.held}.EncodeHeld()
		parts[i] = strconv.Itoa(q.net) + " " + strconv.Itoa(q.low) + " " + strconv.Itoa(q.denials) + " " + strings.ReplaceAll(held, " ", ",")
	}
	return strings.Join(parts, "|")
}

// decodeQuarters reads what encodeQuarters wrote. ErrInvalid if it is
// not such text.
func decodeQuarters(s string) ([4]quarter, error) {
	var out [4]quarter
	parts := strings.Split(s, "|")
	if len(parts) != 4 {
		return out, fmt.Errorf("%w: malformed usage quarters %q", ErrInvalid, s)
	}
	for i, p := range parts {
		f := strings.SplitN(p, " ", 4)
		if len(f) != 4 {
			return out, fmt.Errorf("%w: malformed usage quarters %q", ErrInvalid, s)
		}
		var nums [3]int
		for j := range 3 {
			n, err := strconv.Atoi(f[j])
			if err != nil {
				return out, fmt.Errorf("%w: malformed usage quarters %q", ErrInvalid, s)
			}
			nums[j] = n
		}
		var h UsageHour
		if err := h.DecodeHeld(strings.ReplaceAll(f[3], ",", " ")); err != nil {
			return out, err
		}
		out[i] = quarter{net: nums[0], low: nums[1], denials: nums[2], held: h.Held}
	}
	return out, nil
}

// hold and deny make a UsageHour a usageSink.
func (h *UsageHour) hold(level int, d time.Duration) { h.Held[level] += d }
func (h *UsageHour) deny()                           { h.Denials++ }

// EncodeHeld writes Held as text, "level:nanoseconds" pairs by level
// separated by spaces, as stores keep it.
func (h UsageHour) EncodeHeld() string {
	var b strings.Builder
	for _, level := range slices.Sorted(maps.Keys(h.Held)) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.Itoa(level))
		b.WriteByte(':')
		b.WriteString(strconv.FormatInt(int64(h.Held[level]), 10))
	}
	return b.String()
}

// DecodeHeld reads what EncodeHeld wrote into Held. ErrInvalid if it is
// not such text.
func (h *UsageHour) DecodeHeld(s string) error {
	h.Held = map[int]time.Duration{}
	for pair := range strings.FieldsSeq(s) {
		level, ns, ok := strings.Cut(pair, ":")
		l, err1 := strconv.Atoi(level)
		n, err2 := strconv.ParseInt(ns, 10, 64)
		if !ok || err1 != nil || err2 != nil {
			return fmt.Errorf("%w: malformed usage summary %q", ErrInvalid, s)
		}
		h.Held[l] = time.Duration(n)
	}
	return nil
}

// SummarizeHours sums up seat events (any order, any accounts) by
// account, product and UTC hour. Only hours with events get a summary:
// an hour without any held its start's seats throughout.
func SummarizeHours(events []SeatEvent) []UsageHour {
	evs := slices.Clone(events)
	slices.SortStableFunc(evs, func(a, b SeatEvent) int {
		return cmp.Or(strings.Compare(a.AccountID, b.AccountID), strings.Compare(a.ProductID, b.ProductID), a.At.Compare(b.At))
	})
	var out []UsageHour
	for len(evs) > 0 {
		first := evs[0]
		hour := first.At.UTC().Truncate(time.Hour)
		n := 0
		for n < len(evs) && evs[n].AccountID == first.AccountID && evs[n].ProductID == first.ProductID && evs[n].At.Before(hour.Add(time.Hour)) {
			n++
		}
		h := UsageHour{AccountID: first.AccountID, ProductID: first.ProductID, Hour: hour, Held: map[int]time.Duration{}}
		h.Net, h.Low, _ = walkEvents(&h, 0, false, evs[:n], hour, hour.Add(time.Hour))
		h.Quarters = encodeQuarters(hour, evs[:n])
		out = append(out, h)
		evs = evs[n:]
	}
	return out
}

// UsageRollups is the part of the Store that keeps the hourly summaries.
type UsageRollups interface {
	// UsageSealed returns the seal (every UTC hour before it is summed
	// up: an hour of an account's product without a summary had no seat
	// events; the zero time when nothing is) and the time of the earliest
	// seat event kept, of any account, at or after the seal (zero if
	// there is none).
	UsageSealed(ctx context.Context) (sealed, next time.Time, err error)
	// SealUsage sums up the hours of [from, to) (whole UTC hours, from
	// the current seal or, when there is none, from any hour) and moves
	// the seal to to: in one transaction that holds off every write of a
	// seat event until it ends, it reads the seat events of every account
	// in the range, stores what summarize makes of them (replacing
	// summaries of the same hours) and moves the seal to to if it is
	// still from or there is none (else another process sealed, or an event of an old time
	// moved the seal back, and the seal stays); with from equal to to it
	// only sets the seal where there is none. ErrInvalid if from and to
	// are not whole hours with from <= to.
	SealUsage(ctx context.Context, from, to time.Time, summarize func([]SeatEvent) []UsageHour) error
	// UsageHours returns the account's summaries with from <= Hour < to
	// (of productID only, unless it is ""), by product then hour, with
	// Quarters only for the hours in quarters (else ""), and the sum of
	// Net per product over the summaries with to <= Hour < netTo.
	UsageHours(ctx context.Context, accountID, productID string, from, to, netTo time.Time, quarters []time.Time) ([]UsageHour, map[string]int, error)
	// SeatEventsIn lists the account's seat events within any of the
	// spans ([From, To) each; spans must not overlap), by time then id,
	// with their ID, AccountID, ProductID, Kind and At only.
	SeatEventsIn(ctx context.Context, accountID string, spans []TimeSpan) ([]SeatEvent, error)
}

// TimeSpan is the time from From up to To, To excluded.
type TimeSpan struct{ From, To time.Time }

// SealUsage sums up the hours that are UsageSealDelay past at now and
// not summed up yet (a bounded number of steps of usageSealStep hours,
// hours without events at once; call it again to go on) and returns the
// seal reached. Any number of processes may run it at once.
func SealUsage(ctx context.Context, store UsageRollups, now time.Time) (time.Time, error) {
	bound := now.UTC().Add(-UsageSealDelay).Truncate(time.Hour)
	var from time.Time
	for step := 0; step < 1000; step++ {
		sealed, next, err := store.UsageSealed(ctx)
		if err != nil {
			return from, err
		}
		from = sealed
		nextHour := next.UTC().Truncate(time.Hour)
		if from.IsZero() {
			// Nothing sealed yet: from the first event's hour on.
			from = bound
			if !next.IsZero() {
				from = earliest(nextHour, bound)
			}
		}
		if !sealed.IsZero() && !from.Before(bound) {
			return from, nil
		}
		to := earliest(from.Add(usageSealStep*time.Hour), bound)
		if next.IsZero() || !nextHour.Before(bound) {
			to = bound // no events to sum up
		} else if nextHour.After(from) {
			to = nextHour // none before this hour
		}
		if err := store.SealUsage(ctx, from, to, SummarizeHours); err != nil {
			return from, err
		}
		if sealed.IsZero() && to.Equal(from) {
			return from, nil
		}
	}
	return from, nil
}
