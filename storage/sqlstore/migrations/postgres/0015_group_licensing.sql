-- Group-based licensing: the licensing extension of groups, and the
-- licenses in force of every user, materialized.
--
-- A group's license of a product; no row means none. Members of the group
-- (transitively, through nested groups) inherit it.
CREATE TABLE group_assignments (
    account_id text NOT NULL,
    group_id   text NOT NULL,
    product_id text NOT NULL,
    license    text NOT NULL CHECK (license IN ('named', 'concurrent')),
    PRIMARY KEY (account_id, group_id, product_id),
    FOREIGN KEY (account_id, group_id) REFERENCES "groups" (account_id, id) ON DELETE CASCADE
);

-- The licenses of active users, as the store computes them in the
-- transaction of every write that can change them (direct assignments,
-- activity, memberships, group licenses, plans). Per user and product:
-- either one active row (the license in force: the direct assignment, else
-- the strongest inherited one), or a pending named row (an inherited named
-- license waiting for a seat, in the product's queue by queued_seq) with,
-- when a group gives concurrent, an active concurrent row meanwhile.
-- sources is a JSON array of "direct" or the ids of the groups giving the
-- license. plans.named_used counts the active named rows.
CREATE TABLE user_licenses (
    account_id text NOT NULL,
    user_id    text NOT NULL,
    product_id text NOT NULL,
    license    text NOT NULL CHECK (license IN ('named', 'concurrent')),
    status     text NOT NULL CHECK (status IN ('active', 'pending')),
    queued_seq bigint,
    sources    text NOT NULL,
    CHECK ((status = 'pending') = (queued_seq IS NOT NULL)),
    CHECK (status = 'active' OR license = 'named'),
    PRIMARY KEY (account_id, user_id, product_id, license),
    FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id) ON DELETE CASCADE
);
CREATE INDEX user_licenses_product_idx ON user_licenses (account_id, product_id, license, status);
CREATE INDEX user_licenses_queue_idx ON user_licenses (account_id, product_id, queued_seq) WHERE status = 'pending';

-- Until now the direct assignments of active users were the licenses in
-- force, and named_used counted them.
INSERT INTO user_licenses (account_id, user_id, product_id, license, status, queued_seq, sources)
SELECT a.account_id, a.user_id, a.product_id, a.license, 'active', NULL, '["direct"]'
FROM assignments AS a JOIN users AS u ON u.account_id = a.account_id AND u.id = a.user_id
WHERE u.active;
