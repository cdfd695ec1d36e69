-- Who may reach a user's books: members, each a principal (a token's subject, or a calling
-- service's identity) with a role. A principal is a member of a user at most once.
CREATE TABLE members (
    user_id     text COLLATE "C" NOT NULL REFERENCES users (user_id),
    member_id   text COLLATE "C" NOT NULL,
    principal   text NOT NULL CHECK (principal <> ''),
    role        text NOT NULL CHECK (role IN ('OWNER', 'EDITOR', 'VIEWER')),
    revision    bigint NOT NULL DEFAULT nextval('revisions'),
    create_time timestamptz NOT NULL DEFAULT clock_timestamp(),
    update_time timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (user_id, member_id),
    UNIQUE (user_id, principal)
);
-- The users a principal has a grant on (ListUsers).
CREATE INDEX members_principal ON members (principal, user_id);

-- The audit trail names the authenticated principal; the calling service and the caller's
-- own note (the x-actor metadata) sit beside it. Every earlier change was made without
-- authentication: its actor becomes the note.
ALTER TABLE audit_events
    ADD COLUMN actor_service text,
    ADD COLUMN actor_note text;
UPDATE audit_events SET actor_note = NULLIF(actor, 'anonymous'), actor = 'anonymous';

-- Row-level security, a second wall behind the service's own checks: each unit of work runs
-- as finance_tracker_tenant with finance.user_id set to the one user it may touch ('*' for
-- the few that span users, such as listing a principal's users). A query that forgets its
-- user condition still sees that user's rows only.
DO $$
BEGIN
    CREATE ROLE finance_tracker_tenant NOLOGIN NOBYPASSRLS;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;  -- roles span the cluster: another database of it made the role already
END
$$;
GRANT finance_tracker_tenant TO CURRENT_USER;
GRANT USAGE ON SCHEMA public TO finance_tracker_tenant;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO finance_tracker_tenant;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO finance_tracker_tenant;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO finance_tracker_tenant;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE ON SEQUENCES TO finance_tracker_tenant;
-- Migrations are the owner's; the tenant role only reads them.
REVOKE INSERT, UPDATE, DELETE ON schema_migrations, service_secrets FROM finance_tracker_tenant;

DO $$
DECLARE
    tenant_table text;
BEGIN
    FOREACH tenant_table IN ARRAY ARRAY['users', 'accounts', 'categories', 'payees',
                                        'transactions', 'postings', 'idempotency_keys',
                                        'audit_events', 'members']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', tenant_table);
        EXECUTE format(
            'CREATE POLICY tenant ON %I USING (user_id = current_setting(''finance.user_id'', true)'
            ' OR current_setting(''finance.user_id'', true) = ''*'')', tenant_table);
    END LOOP;
END
$$;

-- A request_id kept on a user names a request of the principal that made it: another
-- principal's retry must not be handed that user.
ALTER TABLE users ADD COLUMN created_by text;

-- Members are audited like every other resource, and so will be the kinds to come: the
-- repository maps each kind of key to its name, the table only keeps the names well-formed.
ALTER TABLE audit_events DROP CONSTRAINT audit_events_subject_kind_check;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_subject_kind_check
    CHECK (subject_kind ~ '^[a-z][a-z_]*$');
