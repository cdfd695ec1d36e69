-- Users and their accounts. Every table carries user_id, the tenant key, first in its
-- primary key, so the schema can be distributed by tenant. create_time and update_time default
-- to the transaction's start, so a new row's two times are equal.

CREATE TABLE users (
    user_id             text COLLATE "C" PRIMARY KEY,
    display_name        text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
    email               text NOT NULL DEFAULT '',
    revision            bigint NOT NULL DEFAULT 1,
    create_request_id   uuid UNIQUE,
    create_request_hash bytea,
    create_time         timestamptz NOT NULL DEFAULT now(),
    update_time         timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX users_create_time ON users (create_time, user_id);

CREATE TABLE accounts (
    user_id             text COLLATE "C" NOT NULL REFERENCES users (user_id) ON DELETE RESTRICT,
    account_id          text COLLATE "C" NOT NULL DEFAULT gen_random_uuid()::text,
    display_name        text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
    type                text NOT NULL
                        CHECK (type IN ('asset', 'liability', 'income', 'expense', 'equity')),
    currency_code       char(3) NOT NULL CHECK (currency_code ~ '^[A-Z]{3}$'),
    -- Amounts are integers of the currency's minor unit (cents for EUR).
    balance             bigint NOT NULL,
    opening_balance     bigint NOT NULL DEFAULT 0,
    credit_limit        bigint CHECK (credit_limit >= 0),
    state               text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'archived')),
    revision            bigint NOT NULL DEFAULT 1,
    create_request_id   uuid,
    create_request_hash bytea,
    create_time         timestamptz NOT NULL DEFAULT now(),
    update_time         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, account_id),
    UNIQUE (user_id, create_request_id)
);

CREATE INDEX accounts_user_create_time ON accounts (user_id, create_time, account_id);
