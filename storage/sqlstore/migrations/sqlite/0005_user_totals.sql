-- The number of users per account, kept by triggers in the transaction of
-- every insert and delete, so that an unfiltered listing's totalResults
-- costs a sum of a few rows instead of a count over the account. SQLite
-- has one writer at a time, so one row per account (shard 0) suffices;
-- the table has the shape of PostgreSQL's, whose counts are spread over
-- shards.
CREATE TABLE user_totals (
    account_id TEXT NOT NULL,
    shard      INTEGER NOT NULL,
    n          INTEGER NOT NULL,
    PRIMARY KEY (account_id, shard)
) WITHOUT ROWID;

INSERT INTO user_totals (account_id, shard, n)
SELECT account_id, 0, count(*) FROM users GROUP BY account_id;

CREATE TRIGGER user_totals_insert AFTER INSERT ON users
BEGIN
    INSERT INTO user_totals (account_id, shard, n) VALUES (NEW.account_id, 0, 1)
    ON CONFLICT (account_id, shard) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER user_totals_delete AFTER DELETE ON users
BEGIN
    UPDATE user_totals SET n = n - 1 WHERE account_id = OLD.account_id AND shard = 0;
END;
