-- Accounts, tokens and the SCIM directory (users, groups, memberships).
-- Timestamps are UTC text of fixed width (2006-01-02T15:04:05.000000Z), so
-- that comparing the text compares the times.

CREATE TABLE accounts (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);

CREATE TABLE tokens (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    scope      TEXT NOT NULL,
    hash       BLOB NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX tokens_account_idx ON tokens (account_id, created_at);

-- seq orders users by creation and anchors keyset cursors; AUTOINCREMENT
-- keeps it from reusing the number of a deleted last row.
CREATE TABLE users (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id    TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id            TEXT NOT NULL,
    user_name     TEXT NOT NULL,
    external_id   TEXT,
    display_name  TEXT,
    active        INTEGER NOT NULL CHECK (active IN (0, 1)),
    doc           TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(doc) AND json_type(doc) = 'object'),
    created       TEXT NOT NULL,
    last_modified TEXT NOT NULL,
    version       INTEGER NOT NULL
);
CREATE UNIQUE INDEX users_account_id_key ON users (account_id, id);
CREATE UNIQUE INDEX users_account_user_name_key ON users (account_id, lower(user_name));
CREATE INDEX users_account_external_id_idx ON users (account_id, external_id);
CREATE INDEX users_account_seq_idx ON users (account_id, seq);

CREATE TABLE "groups" (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id    TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id            TEXT NOT NULL,
    display_name  TEXT NOT NULL,
    external_id   TEXT,
    doc           TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(doc) AND json_type(doc) = 'object'),
    created       TEXT NOT NULL,
    last_modified TEXT NOT NULL,
    version       INTEGER NOT NULL
);
CREATE UNIQUE INDEX groups_account_id_key ON "groups" (account_id, id);
CREATE UNIQUE INDEX groups_account_display_name_key ON "groups" (account_id, lower(display_name));
CREATE INDEX groups_account_external_id_idx ON "groups" (account_id, external_id);
CREATE INDEX groups_account_seq_idx ON "groups" (account_id, seq);

-- A member is a user or a group of the same account; the store checks
-- that when it writes a membership and removes memberships when it
-- deletes their member.
CREATE TABLE group_members (
    account_id  TEXT NOT NULL,
    group_id    TEXT NOT NULL,
    member_id   TEXT NOT NULL,
    member_type TEXT NOT NULL CHECK (member_type IN ('User', 'Group')),
    PRIMARY KEY (account_id, group_id, member_id),
    FOREIGN KEY (account_id, group_id) REFERENCES "groups" (account_id, id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX group_members_member_idx ON group_members (account_id, member_id);
