-- The users list filtered by active or inactive (the console's Users
-- page, SCIM's active eq false), in creation order: without this index an
-- account of a million users with few inactive ones is walked whole to
-- fill one page of inactive users (about a second on PostgreSQL).
CREATE INDEX users_account_active_seq_idx ON users (account_id, active, seq);
