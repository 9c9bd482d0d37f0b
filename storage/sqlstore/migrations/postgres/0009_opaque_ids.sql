-- Opaque ids: the secret keys every replica shares (the key that seals
-- list cursors), made once by the first process that needs one, and a
-- random public id per audit entry, shown instead of the identity
-- column, which counts the entries of every account.
CREATE TABLE secret_keys (
    name       text PRIMARY KEY,
    key        bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- The default is evaluated per row: existing entries get an id each, and
-- every insert that does not name the column gets a fresh one.
ALTER TABLE audit_log ADD COLUMN public_id text NOT NULL
    DEFAULT replace(gen_random_uuid()::text, '-', '');
