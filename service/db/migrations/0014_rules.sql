-- Rules that file a user's transactions: conditions on a transaction, actions that set its
-- category, payee, tags or description. Each reference stays inside the user (composite
-- foreign keys): a payee, account or category a rule names cannot be deleted while it does.
CREATE TABLE rules (
    user_id              text COLLATE "C" NOT NULL REFERENCES users (user_id),
    rule_id              text COLLATE "C" NOT NULL,
    display_name         text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
    priority             integer NOT NULL DEFAULT 0,
    stop                 boolean NOT NULL DEFAULT false,
    -- Conditions; NULL leaves one out.
    description_contains text,
    description_regex    text,
    payee_id             text COLLATE "C",
    amount_currency      text CHECK (amount_currency ~ '^[A-Z]{3}$'),
    amount_at_least      bigint,
    amount_below         bigint,
    account_id           text COLLATE "C",
    external_id_contains text,
    -- Actions; NULL (or no tags) leaves a field of the transaction as it is.
    set_category_id      text COLLATE "C",
    set_payee_id         text COLLATE "C",
    add_tags             text[] NOT NULL DEFAULT '{}',
    set_description      text,
    revision             bigint NOT NULL DEFAULT nextval('revisions'),
    create_time          timestamptz NOT NULL DEFAULT clock_timestamp(),
    update_time          timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (user_id, rule_id),
    FOREIGN KEY (user_id, payee_id) REFERENCES payees (user_id, payee_id),
    FOREIGN KEY (user_id, account_id) REFERENCES accounts (user_id, account_id),
    FOREIGN KEY (user_id, set_category_id) REFERENCES categories (user_id, category_id),
    FOREIGN KEY (user_id, set_payee_id) REFERENCES payees (user_id, payee_id),
    CHECK ((amount_currency IS NULL) = (amount_at_least IS NULL AND amount_below IS NULL)),
    CHECK (amount_at_least < amount_below)
);

-- The order rules apply in, which is also ListRules' default order.
CREATE INDEX rules_user_order ON rules (user_id, priority, create_time, rule_id);
-- Deleting a payee, account or category looks for rules that name it.
CREATE INDEX rules_payee ON rules (user_id, payee_id) WHERE payee_id IS NOT NULL;
CREATE INDEX rules_set_payee ON rules (user_id, set_payee_id) WHERE set_payee_id IS NOT NULL;
CREATE INDEX rules_account ON rules (user_id, account_id) WHERE account_id IS NOT NULL;
CREATE INDEX rules_set_category ON rules (user_id, set_category_id)
    WHERE set_category_id IS NOT NULL;

ALTER TABLE rules ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON rules
    USING (user_id = current_setting('finance.user_id', true)
           OR current_setting('finance.user_id', true) = '*');
