-- Seats: plans (subscriptions) with their counters, assignments of
-- products to users, concurrent seats, support sessions, the line of
-- waiters and the seat events. Counters are changed only by conditional
-- UPDATEs inside the write transaction that changes the rows they count.

ALTER TABLE users ADD COLUMN password_hash text;

-- One row per account and product. named_used counts active users with a
-- named assignment, concurrent_used the rows of seats; both are changed
-- by conditional UPDATEs, so the limits hold whatever runs concurrently.
-- concurrent_used may exceed concurrent_seats after the plan was lowered.
CREATE TABLE plans (
    account_id       text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    product_id       text NOT NULL,
    named_seats      integer NOT NULL CHECK (named_seats >= 0),
    concurrent_seats integer NOT NULL CHECK (concurrent_seats >= 0),
    named_used       integer NOT NULL DEFAULT 0,
    concurrent_used  integer NOT NULL DEFAULT 0,
    CHECK (named_used >= 0 AND concurrent_used >= 0),
    CHECK (named_used <= named_seats),
    PRIMARY KEY (account_id, product_id)
);

-- A user's license of a product; no row means none.
CREATE TABLE assignments (
    account_id text NOT NULL,
    user_id    text NOT NULL,
    product_id text NOT NULL,
    license    text NOT NULL CHECK (license IN ('named', 'concurrent')),
    PRIMARY KEY (account_id, user_id, product_id),
    FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id) ON DELETE CASCADE
);
CREATE INDEX assignments_product_idx ON assignments (account_id, product_id, license);

-- One row per occupied concurrent seat: the user holds it while
-- open_sessions > 0 (the row is deleted when it drops to 0). No cascade
-- from users: the store frees seats before it deletes a user.
CREATE TABLE seats (
    account_id    text NOT NULL,
    product_id    text NOT NULL,
    user_id       text NOT NULL,
    open_sessions integer NOT NULL CHECK (open_sessions >= 0),
    since         timestamptz NOT NULL,
    PRIMARY KEY (account_id, product_id, user_id),
    FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id)
);
CREATE INDEX seats_user_idx ON seats (account_id, user_id);

-- Support sessions, kept after they end (for reports).
CREATE TABLE sessions (
    account_id   text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id           text NOT NULL,
    product_id   text NOT NULL,
    user_id      text NOT NULL,
    license      text NOT NULL CHECK (license IN ('named', 'concurrent')),
    state        text NOT NULL CHECK (state IN ('pending', 'connected', 'ended')),
    attended     boolean NOT NULL,
    platform     text NOT NULL,
    created_at   timestamptz NOT NULL,
    connected_at timestamptz,
    last_seen    timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    ended_at     timestamptz,
    end_reason   text,
    ended_by     text,
    PRIMARY KEY (account_id, id)
);
CREATE INDEX sessions_open_idx ON sessions (account_id, user_id, product_id) WHERE state <> 'ended';
CREATE INDEX sessions_expiry_idx ON sessions (expires_at) WHERE state <> 'ended';

-- The line of waiters for a seat, first come first served by seq. A
-- waiter is live until expires_at; expired ones are ignored and deleted
-- lazily.
CREATE TABLE waiters (
    seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket     text NOT NULL UNIQUE,
    account_id text NOT NULL,
    product_id text NOT NULL,
    user_id    text NOT NULL,
    joined_at  timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id) ON DELETE CASCADE
);
CREATE INDEX waiters_line_idx ON waiters (account_id, product_id, seq);
CREATE INDEX waiters_user_idx ON waiters (account_id, user_id);

CREATE TABLE seat_events (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    product_id text NOT NULL,
    user_id    text NOT NULL,
    session_id text,
    kind       text NOT NULL CHECK (kind IN ('occupied', 'released', 'denied', 'expired', 'ended')),
    reason     text,
    actor      text,
    at         timestamptz NOT NULL
);
CREATE INDEX seat_events_account_at_idx ON seat_events (account_id, at);
