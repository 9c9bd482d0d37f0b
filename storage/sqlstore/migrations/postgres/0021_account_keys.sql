-- Every key of an account's rows leads with account_id (docs/scaling.md):
-- a distributed PostgreSQL that shards by account (Citus distributing each
-- table by account_id) accepts a primary key or a unique index only when it
-- holds the shard key, and finds a row by one shard's index only when the
-- key starts with it. Until now users, groups and the line of waiters were
-- keyed by a sequence over all accounts, audit_log and seat_events by an id
-- over all accounts, and a waiter's ticket was unique over all accounts.
-- The sequences stay (they order rows within an account); only the keys
-- change. The (account_id, seq) indexes that the lists already used become
-- the primary keys, so no index is added to users or groups.

ALTER TABLE users DROP CONSTRAINT users_pkey;
DROP INDEX users_account_seq_idx;
ALTER TABLE users ADD CONSTRAINT users_pkey PRIMARY KEY (account_id, seq);

ALTER TABLE groups DROP CONSTRAINT groups_pkey;
DROP INDEX groups_account_seq_idx;
ALTER TABLE groups ADD CONSTRAINT groups_pkey PRIMARY KEY (account_id, seq);

ALTER TABLE waiters DROP CONSTRAINT waiters_pkey;
ALTER TABLE waiters ADD CONSTRAINT waiters_pkey PRIMARY KEY (account_id, seq);
ALTER TABLE waiters DROP CONSTRAINT waiters_ticket_key;
ALTER TABLE waiters ADD CONSTRAINT waiters_ticket_key UNIQUE (account_id, ticket);

ALTER TABLE audit_log DROP CONSTRAINT audit_log_pkey;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_pkey PRIMARY KEY (account_id, id);

ALTER TABLE seat_events DROP CONSTRAINT seat_events_pkey;
ALTER TABLE seat_events ADD CONSTRAINT seat_events_pkey PRIMARY KEY (account_id, id);
