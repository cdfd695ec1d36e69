-- Budgets: period limits per category, or envelopes filled month by month. The lines of a
-- period-limits budget (month NULL) and the assignments of an envelope budget (month set)
-- share one table; each names an expense category of the same user.
CREATE TABLE budgets (
    user_id       text COLLATE "C" NOT NULL REFERENCES users (user_id),
    budget_id     text COLLATE "C" NOT NULL,
    display_name  text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
    style         text NOT NULL CHECK (style IN ('PERIOD_LIMITS', 'ENVELOPES')),
    currency_code char(3) NOT NULL CHECK (currency_code ~ '^[A-Z]{3}$'),
    period        text CHECK (period IN ('WEEK', 'MONTH', 'YEAR', 'CUSTOM')),
    start_date    date NOT NULL,
    end_date      date CHECK (end_date >= start_date),
    repeating     boolean NOT NULL DEFAULT false,
    rollover      text NOT NULL DEFAULT 'NONE'
                  CHECK (rollover IN ('NONE', 'UNSPENT', 'UNSPENT_AND_OVERSPENT')),
    revision      bigint NOT NULL DEFAULT nextval('revisions'),
    create_time   timestamptz NOT NULL DEFAULT clock_timestamp(),
    update_time   timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (user_id, budget_id),
    CHECK ((style = 'PERIOD_LIMITS') = (period IS NOT NULL))
);

CREATE INDEX budgets_user_create_time ON budgets (user_id, create_time, budget_id);

CREATE TABLE budget_lines (
    user_id     text COLLATE "C" NOT NULL,
    budget_id   text COLLATE "C" NOT NULL,
    line_index  integer NOT NULL CHECK (line_index >= 0),
    category_id text COLLATE "C" NOT NULL,
    -- The first day of the month of an envelope assignment; NULL for a period limit.
    month       date CHECK (extract(day FROM month) = 1),
    -- Minor units of the budget's currency.
    amount      bigint NOT NULL CHECK (amount >= 0),
    PRIMARY KEY (user_id, budget_id, line_index),
    UNIQUE NULLS NOT DISTINCT (user_id, budget_id, category_id, month),
    FOREIGN KEY (user_id, budget_id) REFERENCES budgets (user_id, budget_id) ON DELETE CASCADE,
    FOREIGN KEY (user_id, category_id) REFERENCES categories (user_id, category_id)
);

-- A category that budgets name cannot be deleted (CATEGORY_IN_USE): this finds them.
CREATE INDEX budget_lines_category ON budget_lines (user_id, category_id);

ALTER TABLE budgets ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON budgets
    USING (user_id = current_setting('finance.user_id', true)
           OR current_setting('finance.user_id', true) = '*');
ALTER TABLE budget_lines ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON budget_lines
    USING (user_id = current_setting('finance.user_id', true)
           OR current_setting('finance.user_id', true) = '*');
