package licensing

import "errors"

// Domain errors. Stores return these (possibly wrapped with %w); adapters
// compare them with errors.Is and translate them once at their boundary.
var (
	// ErrNotFound means the addressed object does not exist in the caller's
	// account. Objects of other accounts are reported as not found too.
	ErrNotFound = errors.New("not found")
	// ErrConflict means a uniqueness rule was violated, such as a second
	// user with the same userName in one account.
	ErrConflict = errors.New("conflict")
	// ErrStale means the object changed since the caller read it: the
	// version the caller expected is no longer the current one.
	ErrStale = errors.New("stale version")
	// ErrInvalid means the request names something that cannot be used,
	// such as a group member that is neither a user nor a group of the
	// account.
	ErrInvalid = errors.New("invalid")
	// ErrUnauthenticated means a credential is unknown, malformed or revoked.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrUnavailable means something the request needs (the database, the
	// password hasher) cannot serve it now, through no fault of the
	// request: retried later, it may succeed. Nothing was changed. Adapters
	// answer 503 with a Retry-After of RetryAfterSeconds.
	ErrUnavailable = errors.New("temporarily unavailable")
)

// RetryAfterSeconds is how long a client is asked to wait before retrying
// a request refused with ErrUnavailable.
const RetryAfterSeconds = 5
