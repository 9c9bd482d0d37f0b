package conformance

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/licensing"
)

// usageZones are the zones the roll-up tests report in: UTC, two with
// daylight saving time, and two whose offsets are not whole hours.
var usageZones = []string{"UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Asia/Kathmandu"}

// usageAgents makes n agents of the account with a concurrent license of
// the product.
func usageAgents(t *testing.T, s licensing.Store, accountID, productID string, n int) []licensing.User {
	t.Helper()
	var out []licensing.User
	for i := range n {
		u := newAgent(accountID, fmt.Sprintf("usage%d-%s@example.com", i, newID()[:8]), productID, string(licensing.LicenseConcurrent))
		wantErr(t, "CreateUser", s.CreateUser(context.Background(), u), nil)
		out = append(out, u)
	}
	return out
}

// usageStream drives the seat engine through a random stream of claims
// (some denied, every seat taken) and releases of the agents' sessions,
// at times from start on in random steps (some of zero, some landing on
// whole hours), and returns the time after the last.
func usageStream(t *testing.T, s licensing.Store, r *rand.Rand, accountID, productID string, agents []licensing.User, start time.Time, steps int) time.Time {
	t.Helper()
	ctx := context.Background()
	open := map[string]licensing.Session{}
	at := start
	for range steps {
		switch r.IntN(6) {
		case 0:
			at = at.Truncate(time.Hour).Add(time.Hour) // on an hour's start
		case 1: // the same instant
		default:
			at = at.Add(time.Duration(r.Int64N(int64(50 * time.Minute))))
		}
		u := agents[r.IntN(len(agents))]
		if sess, ok := open[u.ID]; ok && r.IntN(3) > 0 {
			_, err := s.EndSession(ctx, accountID, u.ID, sess.ID, licensing.EndedByAgent, "", at)
			wantErr(t, "EndSession", err, nil)
			delete(open, u.ID)
			continue
		}
		sess := newSession(accountID, u.ID, productID, at)
		sess.ExpiresAt = at.Add(30 * 24 * time.Hour) // held until released
		var inUse *licensing.SharedSeatsInUseError
		switch err := s.StartSession(ctx, sess, ""); {
		case err == nil:
			open[u.ID] = *sess
		case !errors.As(err, &inUse):
			t.Fatalf("StartSession: %v", err)
		}
	}
	return at
}

// usageReference is the report of the seat events alone: what the
// console and the admin API reported before the roll-up.
func usageReference(t *testing.T, s licensing.Store, accountID string, q licensing.UsageQuery, now time.Time) []licensing.UsageBucket {
	t.Helper()
	ctx := context.Background()
	plans, err := s.Usage(ctx, accountID)
	wantErr(t, "Usage", err, nil)
	occupied := map[string]int{}
	q.Seats = map[string]int{}
	for _, u := range plans {
		occupied[u.ProductID], q.Seats[u.ProductID] = u.ConcurrentOccupied, u.ConcurrentSeats
	}
	events, err := s.SeatEvents(ctx, accountID, q.From, now)
	wantErr(t, "SeatEvents", err, nil)
	q.Occupied = licensing.OccupancyAt(q.From, occupied, events)
	return licensing.UsageReport(q, events)
}

// compareUsage checks that AccountUsage (roll-ups where sealed) answers
// exactly the reference for hour and day buckets in every zone, over
// ranges that start and end on and off bucket bounds.
func compareUsage(t *testing.T, s licensing.Store, accountID string, from, to, now time.Time) {
	t.Helper()
	ranges := [][2]time.Time{
		{from, to},
		{from.Add(17*time.Minute + 3*time.Second), to.Add(-41 * time.Minute)},
		{from.Truncate(time.Hour).Add(time.Hour), to.Truncate(time.Hour)},
		{from.Add(-30 * time.Hour), from.Add(5 * time.Hour)},
	}
	for _, name := range usageZones {
		zone, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, bucket := range []string{"hour", "day"} {
			for _, rg := range ranges {
				q, err := licensing.NewUsageQuery(rg[0], rg[1], bucket, zone, now)
				if err != nil {
					t.Fatalf("NewUsageQuery(%v, %v, %s): %v", rg[0], rg[1], bucket, err)
				}
				got, err := licensing.AccountUsage(context.Background(), s, accountID, q, "", now)
				wantErr(t, "AccountUsage", err, nil)
				want := usageReference(t, s, accountID, q, now)
				if len(got) != len(want) {
					t.Fatalf("%s by %s over %v..%v: %d buckets, want %d", name, bucket, rg[0], rg[1], len(got), len(want))
				}
				for i := range want {
					if !got[i].Start.Equal(want[i].Start) || !got[i].End.Equal(want[i].End) || got[i].ProductID != want[i].ProductID ||
						got[i].PeakOccupied != want[i].PeakOccupied || got[i].Denials != want[i].Denials || got[i].Seats != want[i].Seats ||
						got[i].FullSeconds != want[i].FullSeconds || got[i].SeatHours != want[i].SeatHours {
						t.Fatalf("%s by %s over %v..%v, bucket %d:\n got %+v\nwant %+v", name, bucket, rg[0], rg[1], i, got[i], want[i])
					}
				}
			}
		}
	}
}

// testUsageRollup drives random seat streams of two products over four
// days, seals the hours, and checks that reports from the roll-up equal
// the reports from the raw events, before and after plan changes (full is
// judged against today's seats), with summaries of the range stored.
func testUsageRollup(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	setPlan(t, s, a.ID, productV5, 0, 2)
	setPlan(t, s, a.ID, productDesk, 0, 3)
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 14))
	now := time.Now().UTC()
	start := now.Add(-4 * 24 * time.Hour).Add(time.Duration(r.Int64N(int64(time.Hour))))
	end := usageStream(t, s, r, a.ID, productV5, usageAgents(t, s, a.ID, productV5, 4), start, 150)
	usageStream(t, s, r, a.ID, productDesk, usageAgents(t, s, a.ID, productDesk, 5), start.Add(13*time.Minute), 150)
	if _, err := licensing.SealUsage(ctx, s, now); err != nil {
		t.Fatalf("SealUsage: %v", err)
	}
	sealed, _, err := s.UsageSealed(ctx)
	wantErr(t, "UsageSealed", err, nil)
	if !sealed.After(end) {
		t.Fatalf("sealed until %v, before the stream's end %v", sealed, end)
	}
	hours, _, err := s.UsageHours(ctx, a.ID, "", start.Truncate(time.Hour), sealed, sealed, nil)
	wantErr(t, "UsageHours", err, nil)
	if len(hours) < 20 {
		t.Fatalf("%d hourly summaries of the stream, want many", len(hours))
	}
	compareUsage(t, s, a.ID, start, end, now)
	// Today's seats judge the whole range, roll-up or not.
	setPlan(t, s, a.ID, productV5, 0, 1)
	setPlan(t, s, a.ID, productDesk, 0, 5)
	compareUsage(t, s, a.ID, start, end, now)
}

// testUsageRollupRaces records seat events of one hour from many
// goroutines while others seal that hour over and over: no event is left
// out of the summaries (a late one moves the seal back), and the report
// equals the reference.
func testUsageRollupRaces(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	setPlan(t, s, a.ID, productV5, 0, 3)
	agents := usageAgents(t, s, a.ID, productV5, 8)
	hour := time.Now().UTC().Add(-3 * 24 * time.Hour).Truncate(time.Hour)
	sealAt := hour.Add(2*time.Hour + licensing.UsageSealDelay) // seals the hour and the next
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var sealErr error
	var mu sync.Mutex
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := licensing.SealUsage(ctx, s, sealAt); err != nil && !errors.Is(err, licensing.ErrUnavailable) {
				mu.Lock()
				sealErr = err
				mu.Unlock()
			}
		}
	}()
	var claims sync.WaitGroup
	for i, u := range agents {
		claims.Add(1)
		go func() {
			defer claims.Done()
			r := rand.New(rand.NewPCG(uint64(i), 7))
			for range 6 {
				at := hour.Add(time.Duration(r.Int64N(int64(50 * time.Minute))))
				sess := newSession(a.ID, u.ID, productV5, at)
				if err := s.StartSession(ctx, sess, ""); err != nil {
					continue // denied: recorded
				}
				if _, err := s.EndSession(ctx, a.ID, u.ID, sess.ID, licensing.EndedByAgent, "", at.Add(time.Duration(r.Int64N(int64(9*time.Minute))))); err != nil {
					t.Errorf("EndSession: %v", err)
				}
			}
		}()
	}
	claims.Wait()
	close(stop)
	wg.Wait()
	if sealErr != nil {
		t.Logf("a seal failed while claims raced (retried): %v", sealErr)
	}
	if _, err := licensing.SealUsage(ctx, s, time.Now()); err != nil {
		t.Fatalf("SealUsage: %v", err)
	}
	compareUsage(t, s, a.ID, hour.Add(-time.Hour), hour.Add(3*time.Hour), time.Now().UTC())
}
