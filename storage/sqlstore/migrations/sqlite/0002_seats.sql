-- Seats: plans (subscriptions) with their counters, assignments of
-- products to users, concurrent seats, support sessions, the line of
-- waiters and the seat events. Counters are changed only by conditional
-- UPDATEs inside the write transaction that changes the rows they count.

ALTER TABLE users ADD COLUMN password_hash TEXT;

-- One row per account and product. named_used counts active users with a
-- named assignment, concurrent_used the rows of seats; both are changed
-- by conditional UPDATEs, so the limits hold whatever runs concurrently.
-- concurrent_used may exceed concurrent_seats after the plan was lowered.
CREATE TABLE plans (
    account_id       TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    product_id       TEXT NOT NULL,
    named_seats      INTEGER NOT NULL CHECK (named_seats >= 0),
    concurrent_seats INTEGER NOT NULL CHECK (concurrent_seats >= 0),
    named_used       INTEGER NOT NULL DEFAULT 0,
    concurrent_used  INTEGER NOT NULL DEFAULT 0,
    CHECK (named_used >= 0 AND concurrent_used >= 0),
    CHECK (named_used <= named_seats),
    PRIMARY KEY (account_id, product_id)
) WITHOUT ROWID;

-- A user's license of a product; no row means none.
CREATE TABLE assignments (
    account_id TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    product_id TEXT NOT NULL,
    license    TEXT NOT NULL CHECK (license IN ('named', 'concurrent')),
    PRIMARY KEY (account_id, user_id, product_id),
    FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX assignments_product_idx ON assignments (account_id, product_id, license);

-- One row per occupied concurrent seat: the user holds it while
-- open_sessions > 0 (the row is deleted when it drops to 0). No cascade
-- from users: the store frees seats before it deletes a user.
CREATE TABLE seats (
    account_id    TEXT NOT NULL,
    product_id    TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    open_sessions INTEGER NOT NULL CHECK (open_sessions >= 0),
    since         TEXT NOT NULL,
    PRIMARY KEY (account_id, product_id, user_id),
    FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id)
) WITHOUT ROWID;
CREATE INDEX seats_user_idx ON seats (account_id, user_id);

-- Support sessions, kept after they end (for reports). A rowid table: as
-- WITHOUT ROWID, SQLite's planner prefers scanning the account's whole
-- history by primary key to the partial index of open sessions.
CREATE TABLE sessions (
    account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id           TEXT NOT NULL,
    product_id   TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    license      TEXT NOT NULL CHECK (license IN ('named', 'concurrent')),
    state        TEXT NOT NULL CHECK (state IN ('pending', 'connected', 'ended')),
    attended     INTEGER NOT NULL CHECK (attended IN (0, 1)),
    platform     TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    connected_at TEXT,
    last_seen    TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    ended_at     TEXT,
    end_reason   TEXT,
    ended_by     TEXT,
    PRIMARY KEY (account_id, id)
);
CREATE INDEX sessions_open_idx ON sessions (account_id, user_id, product_id) WHERE state <> 'ended';
CREATE INDEX sessions_expiry_idx ON sessions (expires_at) WHERE state <> 'ended';

-- The line of waiters for a seat, first come first served by seq. A
-- waiter is live until expires_at; expired ones are ignored and deleted
-- lazily.
CREATE TABLE waiters (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket     TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    joined_at  TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id) ON DELETE CASCADE
);
CREATE INDEX waiters_line_idx ON waiters (account_id, product_id, seq);
CREATE INDEX waiters_user_idx ON waiters (account_id, user_id);

CREATE TABLE seat_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    product_id TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    session_id TEXT,
    kind       TEXT NOT NULL CHECK (kind IN ('occupied', 'released', 'denied', 'expired', 'ended')),
    reason     TEXT,
    actor      TEXT,
    at         TEXT NOT NULL
);
CREATE INDEX seat_events_account_at_idx ON seat_events (account_id, at);
