-- Admin API: the privileges of admin tokens (comma-separated, sorted) and
-- the audit log of every SCIM and admin write.
ALTER TABLE tokens ADD COLUMN privileges TEXT NOT NULL DEFAULT '';

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    at          TEXT NOT NULL,
    actor_id    TEXT NOT NULL,
    actor_name  TEXT NOT NULL,
    actor_scope TEXT NOT NULL,
    action      TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    detail      TEXT NOT NULL
);
CREATE INDEX audit_log_account_at_idx ON audit_log (account_id, at DESC, id DESC);
