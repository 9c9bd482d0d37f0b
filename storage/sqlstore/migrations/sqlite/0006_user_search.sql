-- Text search of users (the admin API's ?q=): a lower-case text of the
-- user's names and emails, written by the store with every user write,
-- matched as a substring (a scan of this one column; SQLite's lower()
-- folds ASCII only, the store writes it folded by Go).
ALTER TABLE users ADD COLUMN search TEXT NOT NULL DEFAULT '';

UPDATE users SET search = lower(trim(
    user_name || ' ' || coalesce(display_name, '') || ' ' ||
    coalesce(json_extract(doc, '$.name.givenName'), '') || ' ' ||
    coalesce(json_extract(doc, '$.name.familyName'), '') || ' ' ||
    coalesce(json_extract(doc, '$.name.formatted'), '') || ' ' ||
    coalesce((SELECT group_concat(json_extract(e.value, '$.value'), ' ') FROM json_each(doc, '$.emails') AS e
              WHERE json_type(doc, '$.emails') = 'array'), '')));
