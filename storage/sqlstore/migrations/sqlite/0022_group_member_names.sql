-- Every user read returns the groups the user is a direct member of with
-- their display names (RFC 7643 section 4.1.2); the membership row carries
-- its group's name so that reading them takes no lookup per group. Every
-- group write keeps it current (see the PostgreSQL migration).
ALTER TABLE group_members ADD COLUMN group_name TEXT NOT NULL DEFAULT '';
UPDATE group_members SET group_name = (SELECT g.display_name FROM "groups" AS g
  WHERE g.account_id = group_members.account_id AND g.id = group_members.group_id);
