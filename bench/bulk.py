"""The big user's history, written in bulk with generate_series: SQL consistent with what the
ledger writes (two balanced postings per transaction, categories and payees of the same user),
followed by balances (and volumes) set to the sums of the postings."""

import contextlib
import time

import asyncpg

from bench.seed import CURRENCY, SeededUser
from service.db.database import Database
from service.domain.clock import utc_today

# Rows are written in time order, as a real history would have been.
# 80% expenses (checking or card -> Expenses), 4% income (Income -> checking), 16% transfers
# (checking -> savings or card). Amounts are minor units (cents).
_GENERATE = """
CREATE TEMP TABLE bulk_seed ON COMMIT DROP AS
SELECT s.transaction_id, s.booking_date,
       s.booking_date + make_interval(secs => s.r * 86400) AS create_time,
       CASE s.kind WHEN 'expense' THEN 'Card payment' WHEN 'income' THEN 'Salary'
                   ELSE 'Transfer' END AS description,
       CASE s.kind WHEN 'expense' THEN (($8::text[])[1 + s.pick])
                   WHEN 'income' THEN ($8::text[])[cardinality($8::text[])] END AS payee_id,
       CASE s.kind WHEN 'expense' THEN (($6::text[])[1 + s.pick])
                   WHEN 'income' THEN ($7::text[])[1] END AS category_id,
       CASE s.kind WHEN 'expense' THEN CASE WHEN s.r < 0.6 THEN $2 ELSE $4 END
                   WHEN 'income' THEN $10 ELSE $2 END AS source,
       CASE s.kind WHEN 'expense' THEN $9
                   WHEN 'income' THEN $2 ELSE CASE WHEN s.r < 0.5 THEN $3 ELSE $4 END
                   END AS destination,
       CASE s.kind WHEN 'expense' THEN 100 + floor(s.a * 15000)
                   WHEN 'income' THEN 100000 + floor(s.a * 400000)
                   ELSE 5000 + floor(s.a * 100000) END::bigint AS amount
FROM (
    SELECT gen_random_uuid()::text AS transaction_id,
           $11::date - floor(random() * $5::int)::int AS booking_date,
           CASE WHEN k < 0.80 THEN 'expense' WHEN k < 0.84 THEN 'income' ELSE 'transfer'
           END AS kind,
           random() AS r, random() AS a,
           floor(random() * cardinality($6::text[]))::int AS pick
    FROM (SELECT random() AS k FROM generate_series(1, $1)) AS g
) AS s
"""

_TRANSACTIONS = """
INSERT INTO transactions (user_id, transaction_id, booking_date, description, payee_id, state,
                          amount, create_time, update_time)
SELECT $1, transaction_id, booking_date, description, payee_id, 'posted',
       round(amount / 100.0, 2), create_time, create_time
FROM bulk_seed
ORDER BY create_time
"""

_POSTINGS = f"""
INSERT INTO postings (user_id, transaction_id, posting_index, account_id, amount, currency_code,
                      category_id, memo, booking_date)
SELECT $1, b.transaction_id, leg.i, leg.account_id, leg.amount, '{CURRENCY}', b.category_id, '',
       b.booking_date
FROM bulk_seed b
CROSS JOIN LATERAL (VALUES (0, b.source, -b.amount), (1, b.destination, b.amount))
     AS leg(i, account_id, amount)
ORDER BY b.create_time, leg.i
"""

# Every balance and volume of the user, recomputed from the postings.
_SET_BALANCES = """
UPDATE accounts AS a SET balance = s.posted, volume = s.volume
FROM (SELECT p.account_id,
             COALESCE(sum(p.amount) FILTER (WHERE t.state = 'posted'), 0) AS posted,
             sum(abs(p.amount::numeric)) AS volume
      FROM postings p JOIN transactions t USING (user_id, transaction_id)
      WHERE p.user_id = $1
      GROUP BY p.account_id) AS s
WHERE a.user_id = $1 AND a.account_id = s.account_id
"""

_SYSTEM_ACCOUNT = "SELECT account_id FROM accounts WHERE user_id = $1 AND system_role = $2"


async def _skip_foreign_key_triggers(connection: asyncpg.Connection) -> bool:
    """Skip per-row foreign key checks (every id comes from seeded rows); needs superuser."""
    try:
        await connection.execute("SET session_replication_role = replica")
    except asyncpg.InsufficientPrivilegeError:
        return False
    return True


async def seed_history(database: Database, user: SeededUser, count: int, *, days: int) -> None:
    """Add `count` posted transactions over the last `days` days to `user` and set the
    balances of the user's accounts to the sums of their postings."""
    started = time.perf_counter()
    async with database.connection() as connection:
        expense = await connection.fetchval(_SYSTEM_ACCOUNT, user.user_id, "expense")
        income = await connection.fetchval(_SYSTEM_ACCOUNT, user.user_id, "income")
        if not (expense and income):
            raise RuntimeError("seed the user's expenses and income through the ledger first")
        skipped = await _skip_foreign_key_triggers(connection)
        try:
            async with connection.transaction():
                await connection.execute(
                    _GENERATE,
                    count,
                    user.checking,
                    user.savings,
                    user.card,
                    days,
                    list(user.expense_categories),
                    list(user.income_categories),
                    list(user.payees),
                    expense,
                    income,
                    utc_today(),
                )
                await connection.execute(_TRANSACTIONS, user.user_id)
                await connection.execute(_POSTINGS, user.user_id)
                await connection.execute(_SET_BALANCES, user.user_id)
        finally:
            if skipped:
                await connection.execute("RESET session_replication_role")
    print(f"  {count:,} transactions in {time.perf_counter() - started:.0f}s")


async def settle(database: Database) -> None:
    """VACUUM ANALYZE (visibility map and statistics, so autovacuum stays quiet during the
    loads) and a CHECKPOINT where permitted."""
    async with database.connection() as connection:
        await connection.execute("VACUUM (ANALYZE)")
        with contextlib.suppress(asyncpg.InsufficientPrivilegeError):
            await connection.execute("CHECKPOINT")
