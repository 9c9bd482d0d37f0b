-- Hourly summaries of the seat events (licensing.UsageHour), so that a
-- usage report over months reads a few thousand rows instead of every
-- event: per account, UTC hour and product, relative to the seats
-- occupied when the hour began (net change, lowest change, denials, and
-- "level:nanoseconds" held per level; and the same per quarter hour, for
-- zones such as Asia/Kolkata whose days start at half past). Written by the seal
-- (licensing.SealUsage) for hours at least ten minutes past; purged with
-- the seat events (--retain-seat-events) by usage_hours_hour_idx.
CREATE TABLE usage_hours (
    account_id text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    hour       timestamptz NOT NULL,
    product_id text NOT NULL,
    net        integer NOT NULL,
    low        integer NOT NULL,
    denials    integer NOT NULL,
    held       text NOT NULL,
    quarters   text NOT NULL,
    PRIMARY KEY (account_id, hour, product_id)
);
CREATE INDEX usage_hours_hour_idx ON usage_hours (hour);

-- The seal: every hour before it is summed up in usage_hours. One row,
-- absent until the first seal.
CREATE TABLE usage_seal (
    id     integer PRIMARY KEY CHECK (id = 1),
    sealed timestamptz NOT NULL
);
