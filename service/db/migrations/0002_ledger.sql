-- The ledger: categories, payees, transactions and their postings, idempotency keys and the
-- audit trail. Composite foreign keys that include user_id make every reference stay inside
-- one tenant: a posting cannot name another user's account, category or payee.

ALTER TABLE accounts
    -- Accounts the service keeps for a user (the counterpart of everyday expenses and income,
    -- currency trading, opening balances): one per role and currency.
    ADD COLUMN system_role text CHECK (system_role IN ('expense', 'income', 'trading', 'opening')),
    -- Two-phase transactions: pending postings count here until posted or voided.
    ADD COLUMN pending_balance bigint NOT NULL DEFAULT 0,
    -- The negative part of pending_balance, which limits hold back from spending.
    ADD COLUMN pending_outgoing bigint NOT NULL DEFAULT 0 CHECK (pending_outgoing <= 0);

CREATE UNIQUE INDEX accounts_system_role
    ON accounts (user_id, system_role, currency_code) WHERE system_role IS NOT NULL;

CREATE TABLE categories (
    user_id             text COLLATE "C" NOT NULL REFERENCES users (user_id),
    category_id         text COLLATE "C" NOT NULL DEFAULT gen_random_uuid()::text,
    display_name        text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
    kind                text NOT NULL CHECK (kind IN ('income', 'expense')),
    parent_category_id  text COLLATE "C",
    revision            bigint NOT NULL DEFAULT 1,
    create_request_id   uuid,
    create_request_hash bytea,
    create_time         timestamptz NOT NULL DEFAULT now(),
    update_time         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, category_id),
    UNIQUE (user_id, create_request_id),
    FOREIGN KEY (user_id, parent_category_id) REFERENCES categories (user_id, category_id)
);

CREATE INDEX categories_user_create_time ON categories (user_id, create_time, category_id);
CREATE INDEX categories_parent ON categories (user_id, parent_category_id);

CREATE TABLE payees (
    user_id             text COLLATE "C" NOT NULL REFERENCES users (user_id),
    payee_id            text COLLATE "C" NOT NULL DEFAULT gen_random_uuid()::text,
    display_name        text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
    revision            bigint NOT NULL DEFAULT 1,
    create_request_id   uuid,
    create_request_hash bytea,
    create_time         timestamptz NOT NULL DEFAULT now(),
    update_time         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, payee_id),
    UNIQUE (user_id, create_request_id)
);

CREATE INDEX payees_user_create_time ON payees (user_id, create_time, payee_id);

CREATE TABLE transactions (
    user_id                 text COLLATE "C" NOT NULL REFERENCES users (user_id),
    transaction_id          text COLLATE "C" NOT NULL DEFAULT gen_random_uuid()::text,
    booking_date            date NOT NULL,
    description             text NOT NULL DEFAULT '',
    payee_id                text COLLATE "C",
    notes                   text NOT NULL DEFAULT '',
    tags                    text[] NOT NULL DEFAULT '{}',
    external_id             text,
    state                   text NOT NULL CHECK (state IN ('pending', 'posted', 'voided')),
    reverses_transaction_id text COLLATE "C",
    -- Units of the second currency per unit of the first, for a cross-currency transfer.
    exchange_rate           numeric,
    -- The sum of the positive postings in major units: what List orders and filters by.
    amount                  numeric NOT NULL,
    revision                bigint NOT NULL DEFAULT 1,
    create_time             timestamptz NOT NULL DEFAULT now(),
    update_time             timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, transaction_id),
    FOREIGN KEY (user_id, payee_id) REFERENCES payees (user_id, payee_id),
    FOREIGN KEY (user_id, reverses_transaction_id) REFERENCES transactions (user_id, transaction_id),
    -- A transaction is reversed at most once.
    UNIQUE (user_id, reverses_transaction_id)
);

CREATE INDEX transactions_user_date ON transactions (user_id, booking_date, transaction_id);
CREATE INDEX transactions_user_create_time ON transactions (user_id, create_time, transaction_id);
CREATE INDEX transactions_user_amount ON transactions (user_id, amount, transaction_id);
CREATE INDEX transactions_user_external_id ON transactions (user_id, external_id)
    WHERE external_id IS NOT NULL;

CREATE TABLE postings (
    user_id         text COLLATE "C" NOT NULL,
    transaction_id  text COLLATE "C" NOT NULL,
    posting_index   smallint NOT NULL,
    account_id      text COLLATE "C" NOT NULL,
    -- Signed minor units of currency_code (the account's currency): debits are positive.
    amount          bigint NOT NULL CHECK (amount <> 0),
    currency_code   char(3) NOT NULL,
    category_id     text COLLATE "C",
    memo            text NOT NULL DEFAULT '',
    -- A copy of the transaction's booking date, so per-account history needs no join.
    booking_date    date NOT NULL,
    PRIMARY KEY (user_id, transaction_id, posting_index),
    FOREIGN KEY (user_id, transaction_id) REFERENCES transactions (user_id, transaction_id),
    FOREIGN KEY (user_id, account_id) REFERENCES accounts (user_id, account_id),
    FOREIGN KEY (user_id, category_id) REFERENCES categories (user_id, category_id)
);

CREATE INDEX postings_account_date ON postings (user_id, account_id, booking_date);
CREATE INDEX postings_category ON postings (user_id, category_id) WHERE category_id IS NOT NULL;

-- request_id of every mutating ledger call: a retry finds what the first call did.
CREATE TABLE idempotency_keys (
    user_id       text COLLATE "C" NOT NULL REFERENCES users (user_id),
    request_id    uuid NOT NULL,
    method        text NOT NULL,
    request_hash  bytea NOT NULL,
    -- The id of the transaction the call returned.
    result_id     text NOT NULL,
    create_time   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, request_id)
);

CREATE TABLE audit_events (
    user_id       text COLLATE "C" NOT NULL REFERENCES users (user_id),
    event_id      bigint GENERATED ALWAYS AS IDENTITY,
    resource_name text NOT NULL,
    action        text NOT NULL,
    actor         text NOT NULL,
    request_id    uuid,
    before        jsonb,
    after         jsonb,
    event_time    timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (user_id, event_id)
);

CREATE INDEX audit_events_resource ON audit_events (user_id, resource_name, event_id);
