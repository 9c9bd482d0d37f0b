package licensing

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net/netip"
	"strings"
	"time"
)

// SignInThrottles is the part of the Store that counts failed password
// sign-ins, so that every process sharing the database throttles alike.
// Keys are opaque to the store (SignInThrottle makes them).
type SignInThrottles interface {
	// SignInBlockedUntil returns the latest time until which one of the
	// keys is blocked, if that is after now, else the zero time. A key
	// without failures is not blocked.
	SignInBlockedUntil(ctx context.Context, keys []string, now time.Time) (time.Time, error)
	// RecordSignInFailure counts a failed sign-in of key at now and
	// returns the key's count, in one step that concurrent failures, in
	// any process, cannot lose: the count goes on from the stored one, or
	// starts again at 1 if the key's last failure was at or before
	// quietSince (its failures are forgotten, and its block with them).
	// In the same transaction the key is then blocked until block(count),
	// unless that is not later than the block it has. Quiet keys stay
	// until the retention purge deletes them (PurgeSignInThrottle).
	RecordSignInFailure(ctx context.Context, key string, now, quietSince time.Time, block func(failures int) time.Time) (int, error)
	// ClearSignInFailures forgets the failures (and block) of key. A key
	// without failures is not an error.
	ClearSignInFailures(ctx context.Context, key string) error
}

// DefaultSignInQuiet is how long without a failure forgets a key's failed
// sign-ins (SignInPolicy.Quiet), and how long the reaper keeps a quiet key
// (PurgeSignInThrottle).
const DefaultSignInQuiet = 24 * time.Hour

// SignInPolicy sets how failed password sign-ins slow down the next ones.
// After the free failures of a key, each further failure blocks the key
// for a delay that doubles from FirstDelay up to MaxDelay; a key quiet for
// Quiet starts again with its free failures.
type SignInPolicy struct {
	// UserFailures are the free failures per account and userName.
	// Default 5.
	UserFailures int
	// AddressFailures are the free failures per client address (IPv6
	// addresses grouped by /64). Default 20.
	AddressFailures int
	// FirstDelay is the block after the first failure beyond the free
	// ones. Default 1 second.
	FirstDelay time.Duration
	// MaxDelay caps the block. Default 15 minutes.
	MaxDelay time.Duration
	// Quiet is how long without a failure forgets a key's failures.
	// Default 24 hours.
	Quiet time.Duration
}

func (p SignInPolicy) withDefaults() SignInPolicy {
	if p.UserFailures <= 0 {
		p.UserFailures = 5
	}
	if p.AddressFailures <= 0 {
		p.AddressFailures = 20
	}
	if p.FirstDelay <= 0 {
		p.FirstDelay = time.Second
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = 15 * time.Minute
	}
	if p.Quiet <= 0 {
		p.Quiet = DefaultSignInQuiet
	}
	return p
}

// Delay returns how long a key is blocked after its failures-th failure,
// free failures being allowed.
func (p SignInPolicy) Delay(failures, free int) time.Duration {
	p = p.withDefaults()
	if failures <= free {
		return 0
	}
	d := p.FirstDelay
	for i := free + 1; i < failures && d < p.MaxDelay; i++ {
		d *= 2
	}
	return min(d, p.MaxDelay)
}

// SignInAttempt names who tries to sign in with a password: the account
// and userName as sent (whether or not they exist), and the client's
// address.
type SignInAttempt struct {
	Account, UserName, Address string
}

// SignInThrottledError refuses a password sign-in before its password is
// checked: the account's userName, or the client's address, failed too
// often lately.
type SignInThrottledError struct {
	// RetryAfter is how long until an attempt will be checked.
	RetryAfter time.Duration
}

func (e *SignInThrottledError) Error() string {
	return fmt.Sprintf("too many failed sign-ins: retry in %d seconds", e.Seconds())
}

// Seconds is RetryAfter in whole seconds, rounded up, at least 1.
func (e *SignInThrottledError) Seconds() int {
	return max(1, int(math.Ceil(e.RetryAfter.Seconds())))
}

// SignInThrottle slows down password guessing: per account and userName
// (a user's password), and per client address (one password tried on
// many users), failures beyond the free ones block further attempts for
// growing delays. A blocked attempt is refused before its user is looked
// up and before its password is hashed, whether or not the user exists.
type SignInThrottle struct {
	store  SignInThrottles
	clock  Clock
	policy SignInPolicy
}

// NewSignInThrottle returns the throttle over the store (zero policy
// fields take their defaults).
func NewSignInThrottle(store SignInThrottles, clock Clock, policy SignInPolicy) *SignInThrottle {
	return &SignInThrottle{store: store, clock: clock, policy: policy.withDefaults()}
}

// Check returns a *SignInThrottledError if the attempt is blocked now,
// nil if its password may be checked.
func (t *SignInThrottle) Check(ctx context.Context, a SignInAttempt) error {
	now := t.clock.Now()
	until, err := t.store.SignInBlockedUntil(ctx, []string{userKey(a), addressKey(a)}, now)
	if err != nil {
		return err
	}
	if until.After(now) {
		return &SignInThrottledError{RetryAfter: until.Sub(now)}
	}
	return nil
}

// Failed counts a failed attempt (a wrong password, an unknown account or
// userName) against its userName and its address.
func (t *SignInThrottle) Failed(ctx context.Context, a SignInAttempt) error {
	now := t.clock.Now()
	quiet := now.Add(-t.policy.Quiet)
	for _, k := range []struct {
		key  string
		free int
	}{{userKey(a), t.policy.UserFailures}, {addressKey(a), t.policy.AddressFailures}} {
		block := func(failures int) time.Time { return now.Add(t.policy.Delay(failures, k.free)) }
		if _, err := t.store.RecordSignInFailure(ctx, k.key, now, quiet, block); err != nil {
			return err
		}
	}
	return nil
}

// Succeeded forgets the failures of the attempt's userName. The address
// keeps its count: one good password must not reset the count of
// another's guesses from the same place.
func (t *SignInThrottle) Succeeded(ctx context.Context, a SignInAttempt) error {
	return t.store.ClearSignInFailures(ctx, userKey(a))
}

// userKey is the throttle key of an account's userName (case-insensitive,
// as userNames are). Keys are hashes: the throttle stores no userNames.
func userKey(a SignInAttempt) string {
	return throttleKey("user", strings.ToLower(a.Account), strings.ToLower(a.UserName))
}

// addressKey is the throttle key of the client's address: an IPv4
// address, or the /64 of an IPv6 one (a single host usually holds a whole
// /64). An address that does not parse is keyed as it is.
func addressKey(a SignInAttempt) string {
	addr := a.Address
	if ip, err := netip.ParseAddr(a.Address); err == nil {
		ip = ip.Unmap()
		if ip.Is6() {
			addr = netip.PrefixFrom(ip.WithZone(""), 64).Masked().String()
		} else {
			addr = ip.String()
		}
	}
	return throttleKey("address", addr)
}

func throttleKey(kind string, parts ...string) string {
	h := sha256.New()
	for _, p := range append([]string{kind}, parts...) {
		fmt.Fprintf(h, "%d:%s", len(p), p) // length-prefixed: no two lists collide
	}
	return kind[:1] + ":" + hex.EncodeToString(h.Sum(nil))
}
