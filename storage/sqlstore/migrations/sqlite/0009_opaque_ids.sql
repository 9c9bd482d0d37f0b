-- Opaque ids: the secret keys every replica shares (the key that seals
-- list cursors), made once by the first process that needs one, and a
-- random public id per audit entry, shown instead of the identity
-- column, which counts the entries of every account.
CREATE TABLE secret_keys (
    name       TEXT PRIMARY KEY,
    key        BLOB NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z')
);

-- SQLite cannot add a column whose default is computed: existing entries
-- get their ids here, and a trigger gives one to every insert that does
-- not name the column, in the insert's own statement.
ALTER TABLE audit_log ADD COLUMN public_id TEXT;

UPDATE audit_log SET public_id = lower(hex(randomblob(16)));

CREATE TRIGGER audit_log_public_id AFTER INSERT ON audit_log
FOR EACH ROW WHEN NEW.public_id IS NULL
BEGIN
    UPDATE audit_log SET public_id = lower(hex(randomblob(16))) WHERE id = NEW.id;
END;
