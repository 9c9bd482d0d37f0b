-- The number of users per account, kept by triggers in the transaction of
-- every insert and delete, so that an unfiltered listing's totalResults
-- costs a sum of a few rows instead of a count over the account (which
-- takes over 100 ms at a million users). The count is spread over 16
-- rows per account, picked by the user's seq, so that concurrent creates
-- rarely wait on one another's counter row. No foreign key: the rows of
-- an account outlive nothing but the account itself.
CREATE TABLE user_totals (
    account_id text NOT NULL,
    shard      smallint NOT NULL,
    n          bigint NOT NULL,
    PRIMARY KEY (account_id, shard)
);

INSERT INTO user_totals (account_id, shard, n)
SELECT account_id, 0, count(*) FROM users GROUP BY account_id;

CREATE FUNCTION user_totals_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO user_totals (account_id, shard, n)
    SELECT account_id, seq % 16, count(*) FROM inserted GROUP BY 1, 2
    ORDER BY 1, 2
    ON CONFLICT (account_id, shard) DO UPDATE SET n = user_totals.n + EXCLUDED.n;
    RETURN NULL;
END $$;

CREATE FUNCTION user_totals_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO user_totals (account_id, shard, n)
    SELECT account_id, seq % 16, -count(*) FROM deleted GROUP BY 1, 2
    ORDER BY 1, 2
    ON CONFLICT (account_id, shard) DO UPDATE SET n = user_totals.n + EXCLUDED.n;
    RETURN NULL;
END $$;

CREATE TRIGGER user_totals_insert AFTER INSERT ON users
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION user_totals_insert();
CREATE TRIGGER user_totals_delete AFTER DELETE ON users
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION user_totals_delete();
