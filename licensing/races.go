package licensing

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// MaxRaceAttempts bounds the attempts of a write that read an object,
// changed it and stored it only if its version had not moved, when other
// writes of the same object keep committing first (an identity provider
// pushing one group's members in several requests at once makes many lose
// in a row). A write that still loses is refused with ErrUnavailable.
const MaxRaceAttempts = 20

// RetryLostRace decides what follows the attempt-th try (counted from 1)
// of a read-change-write that ended with err. When err is ErrStale (a
// write of the same object committed between the read and the write) and
// attempts remain, it waits a random time, up to 2 ms per attempt so far
// and at most 20 ms, so that the writers racing for one object spread
// out, and reports true: the caller reads the object again and reapplies
// its change. When the attempts are spent it returns an error wrapping
// ErrUnavailable: nothing was written, and the client may retry later;
// when ctx has ended, or ends during the wait, one wrapping ctx.Err() as
// well, so that adapters tell a client that went away from an unavailable
// service. Any other err (nil included) is returned as it is.
func RetryLostRace(ctx context.Context, attempt int, err error) (bool, error) {
	if !errors.Is(err, ErrStale) {
		return false, err
	}
	if attempt >= MaxRaceAttempts {
		return false, fmt.Errorf("%w: lost %d races for one object", ErrUnavailable, attempt)
	}
	if ctx.Err() == nil {
		t := time.NewTimer(time.Duration(rand.Int64N(int64(min(attempt, 10)) * int64(2*time.Millisecond))))
		defer t.Stop()
		select {
		case <-t.C:
			return true, nil
		case <-ctx.Done():
		}
	}
	return false, fmt.Errorf("%w: lost %d races for one object, then %w", ErrUnavailable, attempt, ctx.Err())
}
