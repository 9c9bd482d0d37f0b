-- Agent tokens: a token may sign in as one user of its account, and may
-- expire on its own (the short-lived token an agent gets at sign-in).
-- SQLite cannot add a table constraint to an existing table, so a trigger
-- does what the foreign key does on PostgreSQL: a deleted user's tokens go.
ALTER TABLE tokens ADD COLUMN user_id text;
ALTER TABLE tokens ADD COLUMN expires_at text;
CREATE INDEX tokens_user_idx ON tokens (account_id, user_id) WHERE user_id IS NOT NULL;
CREATE TRIGGER tokens_user_delete AFTER DELETE ON users
BEGIN
    DELETE FROM tokens WHERE account_id = OLD.account_id AND user_id = OLD.id;
END;
