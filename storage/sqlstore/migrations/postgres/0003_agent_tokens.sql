-- Agent tokens: a token may sign in as one user of its account, and may
-- expire on its own (the short-lived token an agent gets at sign-in).
ALTER TABLE tokens ADD COLUMN user_id text;
ALTER TABLE tokens ADD COLUMN expires_at timestamptz;
ALTER TABLE tokens ADD CONSTRAINT tokens_user_fkey
    FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id) ON DELETE CASCADE;
CREATE INDEX tokens_user_idx ON tokens (account_id, user_id) WHERE user_id IS NOT NULL;
