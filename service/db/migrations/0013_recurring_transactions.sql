-- Recurring transactions: a template (an expense, income or transfer) and a schedule. The
-- accounts, category and payee a template names are checked when it is written and again
-- by the ledger at each occurrence (an occurrence the ledger refuses is kept as failed), so
-- that they stay free to archive or delete.
CREATE TABLE recurring_transactions (
    user_id          text COLLATE "C" NOT NULL REFERENCES users (user_id),
    recurring_id     text COLLATE "C" NOT NULL,
    kind             text NOT NULL CHECK (kind IN ('expense', 'income', 'transfer')),
    account_id       text COLLATE "C" NOT NULL,
    amount           bigint NOT NULL CHECK (amount > 0),
    currency_code    text NOT NULL,
    to_account_id    text COLLATE "C",
    -- What a transfer's to_account receives; NULL: amount itself, in the same currency.
    to_amount        bigint CHECK (to_amount > 0),
    to_currency_code text,
    category_id      text COLLATE "C",
    payee_id         text COLLATE "C",
    description      text NOT NULL DEFAULT '',
    pending          boolean NOT NULL DEFAULT false,
    frequency        text NOT NULL CHECK (frequency IN ('daily', 'weekly', 'monthly', 'yearly')),
    every            integer NOT NULL CHECK (every > 0),
    start_date       date NOT NULL,
    end_date         date,
    occurrence_count integer CHECK (occurrence_count > 0),
    day_of_month     integer CHECK (day_of_month BETWEEN 1 AND 31),
    weekday          integer CHECK (weekday BETWEEN 0 AND 6),
    weekend          text NOT NULL CHECK (weekend IN ('keep', 'skip', 'before', 'after')),
    state            text NOT NULL CHECK (state IN ('active', 'paused')),
    -- Occurrences scheduled up to this day are done with (recorded, skipped, failed, or
    -- passed while paused).
    handled_through  date,
    -- The booking date of the first occurrence after handled_through; NULL once the schedule
    -- has ended. What the scheduler looks for, across users.
    due_date         date,
    revision         bigint NOT NULL DEFAULT nextval('revisions'),
    create_time      timestamptz NOT NULL DEFAULT clock_timestamp(),
    update_time      timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (user_id, recurring_id),
    CHECK ((kind = 'transfer') = (to_account_id IS NOT NULL)),
    CHECK (end_date IS NULL OR occurrence_count IS NULL)
);
-- The due work of every user, for the scheduler.
CREATE INDEX recurring_transactions_due ON recurring_transactions (due_date)
    WHERE state = 'active' AND due_date IS NOT NULL;

-- Each occurrence done with, once: the key is what keeps two schedulers (or a retry after a
-- crash) from recording one occurrence twice.
CREATE TABLE recurring_occurrences (
    user_id        text COLLATE "C" NOT NULL REFERENCES users (user_id),
    recurring_id   text COLLATE "C" NOT NULL,
    scheduled_date date NOT NULL,
    booking_date   date NOT NULL,
    status         text NOT NULL CHECK (status IN ('recorded', 'skipped', 'failed')),
    transaction_id text COLLATE "C",
    failure        text,
    create_time    timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (user_id, recurring_id, scheduled_date),
    FOREIGN KEY (user_id, recurring_id)
        REFERENCES recurring_transactions (user_id, recurring_id) ON DELETE CASCADE,
    FOREIGN KEY (user_id, transaction_id) REFERENCES transactions (user_id, transaction_id),
    CHECK ((status = 'recorded') = (transaction_id IS NOT NULL))
);
-- The transaction an occurrence recorded.
CREATE INDEX recurring_occurrences_transaction
    ON recurring_occurrences (user_id, transaction_id) WHERE transaction_id IS NOT NULL;

ALTER TABLE recurring_transactions ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON recurring_transactions
    USING (user_id = current_setting('finance.user_id', true)
           OR current_setting('finance.user_id', true) = '*');
ALTER TABLE recurring_occurrences ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON recurring_occurrences
    USING (user_id = current_setting('finance.user_id', true)
           OR current_setting('finance.user_id', true) = '*');
