-- Reconciliation against bank statements. Each posting is uncleared (recorded only), cleared
-- (the bank shows it too) or reconciled (a statement's closing balance confirmed it). A
-- statement is kept for the record, under its account; a reconciled posting names the
-- statement that reconciled it, and only un-reconciling that statement releases it.
CREATE TABLE statements (
    user_id         text COLLATE "C" NOT NULL REFERENCES users (user_id),
    account_id      text COLLATE "C" NOT NULL,
    statement_id    text COLLATE "C" NOT NULL,
    statement_date  date NOT NULL,
    currency_code   char(3) NOT NULL,
    -- Minor units of currency_code: the reconciled balance before this statement, and the
    -- closing balance the statement shows (the opening balance plus its postings).
    opening_balance bigint NOT NULL,
    closing_balance bigint NOT NULL,
    posting_count   integer NOT NULL CHECK (posting_count >= 0),
    state           text NOT NULL CHECK (state IN ('reconciled', 'unreconciled')),
    revision        bigint NOT NULL DEFAULT nextval('revisions'),
    create_time     timestamptz NOT NULL DEFAULT clock_timestamp(),
    update_time     timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (user_id, account_id, statement_id),
    FOREIGN KEY (user_id, account_id) REFERENCES accounts (user_id, account_id)
);

-- Statements of an account by date; at most one reconciled statement a day (the service
-- also keeps each one after the last).
CREATE INDEX statements_account_date ON statements (user_id, account_id, statement_date);
CREATE UNIQUE INDEX statements_one_reconciled_a_day
    ON statements (user_id, account_id, statement_date) WHERE state = 'reconciled';

ALTER TABLE postings
    ADD COLUMN clearing_status text NOT NULL DEFAULT 'uncleared'
        CHECK (clearing_status IN ('uncleared', 'cleared', 'reconciled')),
    ADD COLUMN statement_id text COLLATE "C",
    -- The statement of the posting's own account that reconciled it.
    ADD FOREIGN KEY (user_id, account_id, statement_id)
        REFERENCES statements (user_id, account_id, statement_id),
    ADD CHECK ((clearing_status = 'reconciled') = (statement_id IS NOT NULL));

CREATE INDEX postings_statement ON postings (user_id, account_id, statement_id)
    WHERE statement_id IS NOT NULL;

ALTER TABLE statements ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON statements
    USING (user_id = current_setting('finance.user_id', true)
           OR current_setting('finance.user_id', true) = '*');
