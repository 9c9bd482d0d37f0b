package licensing

import "time"

// Clock tells the time. It is injected everywhere time matters so that
// leases, expiry and reports can be tested without sleeping.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock, in UTC.
type SystemClock struct{}

// Now returns the current UTC time.
func (SystemClock) Now() time.Time { return time.Now().UTC() }
