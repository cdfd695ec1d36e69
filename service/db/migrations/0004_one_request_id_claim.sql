-- Every write of a user's records claims its request_id in idempotency_keys, creates of
-- accounts, categories and payees included, so that one request_id names one request of that
-- user whatever the method. The ids those creates kept on their own rows become claims; the
-- columns stay for rows written before, and users (which no user owns before they exist) keep
-- theirs.
INSERT INTO idempotency_keys (user_id, request_id, method, request_hash, result_id)
SELECT user_id, create_request_id, 'create_account', create_request_hash, account_id
FROM accounts WHERE create_request_id IS NOT NULL
ON CONFLICT (user_id, request_id) DO NOTHING;

INSERT INTO idempotency_keys (user_id, request_id, method, request_hash, result_id)
SELECT user_id, create_request_id, 'create_category', create_request_hash, category_id
FROM categories WHERE create_request_id IS NOT NULL
ON CONFLICT (user_id, request_id) DO NOTHING;

INSERT INTO idempotency_keys (user_id, request_id, method, request_hash, result_id)
SELECT user_id, create_request_id, 'create_payee', create_request_hash, payee_id
FROM payees WHERE create_request_id IS NOT NULL
ON CONFLICT (user_id, request_id) DO NOTHING;

COMMENT ON COLUMN idempotency_keys.result_id IS
    'The id of the resource the call created or changed, returned again on a retry.';
