-- The volume of an account: the sum of the absolute amounts of every posting it was given.
-- Kept at most the largest bigint, it bounds every balance the account can show, as of any
-- day and in any order of booking dates: no sum of its postings can overflow.
ALTER TABLE accounts ADD COLUMN volume numeric NOT NULL DEFAULT 0 CHECK (volume >= 0);

UPDATE accounts a
SET volume = s.volume
FROM (
    SELECT user_id, account_id, sum(abs(amount::numeric)) AS volume
    FROM postings
    GROUP BY user_id, account_id
) s
WHERE a.user_id = s.user_id AND a.account_id = s.account_id;
