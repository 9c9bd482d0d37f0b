-- Retention: the purger deletes, in small batches across every account,
-- the rows that ended before a cutoff. These indexes let each batch find
-- its rows without scanning the table.
CREATE INDEX sessions_ended_idx ON sessions (ended_at) WHERE state = 'ended';
CREATE INDEX seat_events_at_idx ON seat_events (at);
CREATE INDEX audit_log_at_idx ON audit_log (at);
CREATE INDEX tokens_revoked_idx ON tokens (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX tokens_expires_idx ON tokens (expires_at) WHERE expires_at IS NOT NULL;
