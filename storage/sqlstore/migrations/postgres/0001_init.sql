-- Accounts, tokens and the SCIM directory (users, groups, memberships).

CREATE TABLE accounts (
    id         text PRIMARY KEY,
    name       text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL
);

CREATE TABLE tokens (
    id         text PRIMARY KEY,
    account_id text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name       text NOT NULL,
    scope      text NOT NULL,
    hash       bytea NOT NULL,
    created_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE INDEX tokens_account_idx ON tokens (account_id, created_at);

-- seq orders users by creation and anchors keyset cursors.
CREATE TABLE users (
    seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id    text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id            text NOT NULL,
    user_name     text NOT NULL,
    external_id   text,
    display_name  text,
    active        boolean NOT NULL,
    doc           jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(doc) = 'object'),
    created       timestamptz NOT NULL,
    last_modified timestamptz NOT NULL,
    version       bigint NOT NULL,
    CONSTRAINT users_account_id_key UNIQUE (account_id, id)
);
CREATE UNIQUE INDEX users_account_user_name_key ON users (account_id, lower(user_name));
CREATE INDEX users_account_external_id_idx ON users (account_id, external_id);
CREATE INDEX users_account_seq_idx ON users (account_id, seq);

CREATE TABLE groups (
    seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id    text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id            text NOT NULL,
    display_name  text NOT NULL,
    external_id   text,
    doc           jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(doc) = 'object'),
    created       timestamptz NOT NULL,
    last_modified timestamptz NOT NULL,
    version       bigint NOT NULL,
    CONSTRAINT groups_account_id_key UNIQUE (account_id, id)
);
CREATE UNIQUE INDEX groups_account_display_name_key ON groups (account_id, lower(display_name));
CREATE INDEX groups_account_external_id_idx ON groups (account_id, external_id);
CREATE INDEX groups_account_seq_idx ON groups (account_id, seq);

-- A member is a user or a group of the same account; the store checks
-- that when it writes a membership (holding a KEY SHARE lock on the member
-- until commit) and removes memberships when it deletes their member.
CREATE TABLE group_members (
    account_id  text NOT NULL,
    group_id    text NOT NULL,
    member_id   text NOT NULL,
    member_type text NOT NULL CHECK (member_type IN ('User', 'Group')),
    PRIMARY KEY (account_id, group_id, member_id),
    FOREIGN KEY (account_id, group_id) REFERENCES groups (account_id, id) ON DELETE CASCADE
);
CREATE INDEX group_members_member_idx ON group_members (account_id, member_id);
