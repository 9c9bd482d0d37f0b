-- Text search of users (the admin API's ?q=): a lower-case text of the
-- user's names and emails, written by the store with every user write,
-- matched as a substring. With pg_trgm (a trusted extension since
-- PostgreSQL 13, shipped with the server's contrib), a trigram index makes
-- the substring match an index search; without it, or without the right
-- to create it, the match scans the account's rows of this one column.
ALTER TABLE users ADD COLUMN search text NOT NULL DEFAULT '';

UPDATE users SET search = lower(concat_ws(' ', user_name, display_name,
    doc->'name'->>'givenName', doc->'name'->>'familyName', doc->'name'->>'formatted',
    (SELECT string_agg(e->>'value', ' ') FROM jsonb_array_elements(
        CASE WHEN jsonb_typeof(doc->'emails') = 'array' THEN doc->'emails' ELSE '[]'::jsonb END) AS e)));

DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE INDEX users_search_trgm_idx ON users USING gin (search gin_trgm_ops);
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'no trigram index for user search: %', SQLERRM;
END $$;
