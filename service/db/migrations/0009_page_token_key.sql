-- Secrets every server over this database shares, such as the key that signs page tokens, so
-- that a token one replica issued is accepted by the others. Not tenant data: no user_id.
CREATE TABLE service_secrets (
    name  text PRIMARY KEY,
    value bytea NOT NULL CHECK (length(value) >= 16)
);

-- 32 bytes from PostgreSQL's strong random source (gen_random_uuid).
INSERT INTO service_secrets (name, value)
VALUES ('page_tokens',
        decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'));
