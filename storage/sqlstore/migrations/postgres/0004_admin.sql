-- Admin API: the privileges of admin tokens (comma-separated, sorted) and
-- the audit log of every SCIM and admin write.
ALTER TABLE tokens ADD COLUMN privileges text NOT NULL DEFAULT '';

CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id  text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    at          timestamptz NOT NULL,
    actor_id    text NOT NULL,
    actor_name  text NOT NULL,
    actor_scope text NOT NULL,
    action      text NOT NULL,
    target_type text NOT NULL,
    target_id   text NOT NULL,
    detail      text NOT NULL
);
CREATE INDEX audit_log_account_at_idx ON audit_log (account_id, at DESC, id DESC);
