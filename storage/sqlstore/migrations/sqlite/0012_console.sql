-- The admin console: console users (users holding admin privileges),
-- one-time links where they choose a password, and their sessions. Link
-- tokens and session ids are stored as SHA-256 hashes only. Each row goes
-- with its user.
CREATE TABLE console_users (
    account_id TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    privileges TEXT NOT NULL,
    PRIMARY KEY (account_id, user_id),
    FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id) ON DELETE CASCADE
);

CREATE TABLE password_links (
    hash       BLOB PRIMARY KEY,
    account_id TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT,
    FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id) ON DELETE CASCADE
);
CREATE INDEX password_links_user_idx ON password_links (account_id, user_id);

CREATE TABLE console_sessions (
    hash       BLOB PRIMARY KEY,
    account_id TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_seen  TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id) ON DELETE CASCADE
);
CREATE INDEX console_sessions_user_idx ON console_sessions (account_id, user_id);

-- The purge deletes the sessions that ended and the links used or
-- expired (licensing.PurgeConsoleSessions, PurgePasswordLinks).
CREATE INDEX console_sessions_seen_idx ON console_sessions (last_seen);
CREATE INDEX console_sessions_expires_idx ON console_sessions (expires_at);
CREATE INDEX password_links_expires_idx ON password_links (expires_at);
CREATE INDEX password_links_used_idx ON password_links (used_at) WHERE used_at IS NOT NULL;
