-- Tokens handed out by the agent app's sign-in are marked: they open the
-- agent API but cannot sign in again. The token list pages by (created_at,
-- id) in SQL.
ALTER TABLE tokens ADD COLUMN sign_in INTEGER NOT NULL DEFAULT 0;
DROP INDEX tokens_account_idx;
CREATE INDEX tokens_account_idx ON tokens (account_id, created_at, id);
-- Sign-in tokens made before this migration carry the name sign-in gave
-- them and an expiry.
UPDATE tokens SET sign_in = 1 WHERE scope = 'agent' AND name = 'agent sign-in' AND expires_at IS NOT NULL;
