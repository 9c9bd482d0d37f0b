-- Failed password sign-ins, counted per key (a hash of the account and
-- userName tried, or of the client's address) so that every replica
-- throttles alike. blocked_until is when the next attempt may be
-- checked; rows quiet for a day are deleted by the retention purge
-- (by last_failure_at).
CREATE TABLE signin_throttle (
    key             text PRIMARY KEY,
    failures        integer NOT NULL,
    last_failure_at timestamptz NOT NULL,
    blocked_until   timestamptz
);
CREATE INDEX signin_throttle_quiet_idx ON signin_throttle (last_failure_at);

-- One place in line per user and product: a user who asks again while
-- waiting shares the place they have. holders counts the requests
-- sharing it; the place is left when the last one leaves. Of duplicates
-- made before, the earliest place is kept.
ALTER TABLE waiters ADD COLUMN holders integer NOT NULL DEFAULT 1;
DELETE FROM waiters WHERE EXISTS (
    SELECT 1 FROM waiters AS o
    WHERE o.account_id = waiters.account_id AND o.product_id = waiters.product_id
      AND o.user_id = waiters.user_id AND o.seq < waiters.seq);
-- Led by the user, so that the line's lookups keep waiters_line_idx; it
-- also serves what waiters_user_idx served.
CREATE UNIQUE INDEX waiters_user_product_idx ON waiters (account_id, user_id, product_id);
DROP INDEX waiters_user_idx;
