-- The audit trail outlives the user it is about: deleting (erasing) a user leaves one event
-- saying so and by whom, which can no longer point at the user's row.
ALTER TABLE audit_events DROP CONSTRAINT audit_events_user_id_fkey;
