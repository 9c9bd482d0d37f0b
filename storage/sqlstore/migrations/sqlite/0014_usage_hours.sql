-- Hourly summaries of the seat events (licensing.UsageHour), so that a
-- usage report over months reads a few thousand rows instead of every
-- event: per account, UTC hour and product, relative to the seats
-- occupied when the hour began (net change, lowest change, denials, and
-- "level:nanoseconds" held per level; and the same per quarter hour, for
-- zones such as Asia/Kolkata whose days start at half past). Written by the seal
-- (licensing.SealUsage) for hours at least ten minutes past; purged with
-- the seat events (--retain-seat-events) by usage_hours_hour_idx.
CREATE TABLE usage_hours (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    hour       TEXT NOT NULL,
    product_id TEXT NOT NULL,
    net        INTEGER NOT NULL,
    low        INTEGER NOT NULL,
    denials    INTEGER NOT NULL,
    held       TEXT NOT NULL,
    quarters   TEXT NOT NULL,
    PRIMARY KEY (account_id, hour, product_id)
);
CREATE INDEX usage_hours_hour_idx ON usage_hours (hour);

-- The seal: every hour before it is summed up in usage_hours. One row,
-- absent until the first seal.
CREATE TABLE usage_seal (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    sealed TEXT NOT NULL
);
