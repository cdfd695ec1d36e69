-- The schema distributes by user (docs/scaling.md), and a distributed table can enforce a
-- unique constraint only if it includes the distribution column, user_id. CreateUser's
-- request_id, kept on the user it creates, was unique across all users; now a user created
-- without a chosen id gets one derived from the request_id (a UUIDv5 of it), so that a retry
-- names the same user and its primary key finds the first attempt. With a chosen id, the
-- request_id is one of that user's, as every other request_id is.
-- (A CreateUser sent before this migration and retried after it creates the user again.)
ALTER TABLE users DROP CONSTRAINT users_create_request_id_key;
