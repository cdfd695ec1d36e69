-- The subject of an audit event is kept as its kind and id (the user is the row's user_id),
-- not as a resource name: names are how the API shows resources, not how they are stored.
ALTER TABLE audit_events
    ADD COLUMN subject_kind text CHECK (subject_kind IN ('account', 'category', 'payee',
                                                           'transaction')),
    ADD COLUMN subject_id text COLLATE "C";

UPDATE audit_events
SET subject_kind = CASE split_part(resource_name, '/', 3)
                       WHEN 'accounts' THEN 'account'
                       WHEN 'categories' THEN 'category'
                       WHEN 'payees' THEN 'payee'
                       WHEN 'transactions' THEN 'transaction'
                   END,
    subject_id = NULLIF(split_part(resource_name, '/', 4), '');

DROP INDEX audit_events_resource;
ALTER TABLE audit_events DROP COLUMN resource_name;
-- An event about the user itself has neither.
ALTER TABLE audit_events ADD CHECK ((subject_kind IS NULL) = (subject_id IS NULL));
CREATE INDEX audit_events_subject ON audit_events (user_id, subject_kind, subject_id, event_id);
