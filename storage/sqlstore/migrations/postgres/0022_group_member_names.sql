-- Every user read (a SCIM lookup, a page of users) returns the groups the
-- user is a direct member of with their display names (RFC 7643 section
-- 4.1.2). Reading the names through "groups" cost one index probe per
-- membership: for a user in 50 groups, about as much as the rest of the
-- lookup. The membership row now carries its group's name, which every
-- group write keeps current (all of them hold the account's licensing
-- lock, and a rename rewrites the group's rows in its transaction).
ALTER TABLE group_members ADD COLUMN group_name TEXT NOT NULL DEFAULT '';
UPDATE group_members AS m SET group_name = g.display_name
  FROM "groups" AS g WHERE g.account_id = m.account_id AND g.id = m.group_id;
