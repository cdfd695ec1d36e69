-- A user's exchange rates: one per currency pair and day, entered by callers or taken from
-- the user's cross-currency transfers. The id is the pair and the day (eur-usd-2024-01-31).
CREATE TABLE exchange_rates (
    user_id          text COLLATE "C" NOT NULL REFERENCES users (user_id),
    exchange_rate_id text COLLATE "C" NOT NULL,
    base_currency    text NOT NULL CHECK (base_currency ~ '^[A-Z]{3}$'),
    quote_currency   text NOT NULL CHECK (quote_currency ~ '^[A-Z]{3}$'),
    rate_date        date NOT NULL,
    rate             numeric(24, 12) NOT NULL CHECK (rate > 0),
    source           text NOT NULL CHECK (source IN ('ENTERED', 'TRANSFER')),
    revision         bigint NOT NULL DEFAULT nextval('revisions'),
    create_time      timestamptz NOT NULL DEFAULT clock_timestamp(),
    update_time      timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (user_id, exchange_rate_id),
    CHECK (base_currency <> quote_currency)
);
-- The latest rate of a pair on or before a day.
CREATE UNIQUE INDEX exchange_rates_pair_day
    ON exchange_rates (user_id, base_currency, quote_currency, rate_date);

ALTER TABLE exchange_rates ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON exchange_rates
    USING (user_id = current_setting('finance.user_id', true)
           OR current_setting('finance.user_id', true) = '*');
