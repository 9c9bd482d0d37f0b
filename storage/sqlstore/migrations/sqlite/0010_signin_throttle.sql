-- Failed password sign-ins, counted per key (a hash of the account and
-- userName tried, or of the client's address) so that every replica
-- throttles alike. blocked_until is when the next attempt may be
-- checked; rows quiet for long are deleted by the sign-ins that fail
-- later (by last_failure_at).
CREATE TABLE signin_throttle (
    key             TEXT PRIMARY KEY,
    failures        INTEGER NOT NULL,
    last_failure_at TEXT NOT NULL,
    blocked_until   TEXT
);
CREATE INDEX signin_throttle_quiet_idx ON signin_throttle (last_failure_at);

