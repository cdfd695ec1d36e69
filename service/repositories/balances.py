"""Balances computed from postings: as of a day, over a range, and the whole-ledger check."""

from dataclasses import dataclass
from datetime import date

import asyncpg

from service.domain.errors import NotFound
from service.domain.keys import AccountKey, ResourceKey, TransactionKey, UserKey
from service.domain.models import Money

_ACCOUNT_CURRENCY = "SELECT currency_code FROM accounts WHERE user_id = $1 AND account_id = $2"

# Posted changes per day of one account, up to a last day.
_DAILY_CHANGES = """
SELECT p.booking_date AS day, sum(p.amount) AS amount
FROM postings p
JOIN transactions t USING (user_id, transaction_id)
WHERE p.user_id = $1 AND p.account_id = $2 AND p.booking_date <= $3 AND t.state = 'posted'
GROUP BY p.booking_date
"""

_AS_OF = f"SELECT COALESCE(sum(amount), 0)::bigint FROM ({_DAILY_CHANGES}) AS changes"

# The balance at the end of each of the days in $4. The days come from Python, not from
# generate_series: asyncpg sends date.min and date.max as -infinity and infinity, and a series
# from or to either never ends.
_HISTORY = f"""
WITH changes AS ({_DAILY_CHANGES}), ends AS (SELECT unnest($4::date[]) AS day)
SELECT e.day,
       COALESCE((SELECT sum(c.amount) FROM changes c WHERE c.day <= e.day), 0)::bigint AS balance
FROM ends e
ORDER BY e.day
"""

# Stored balances that differ from the sums of their postings.
_STALE_BALANCES = """
SELECT a.user_id, a.account_id, a.currency_code, a.balance, a.pending_balance,
       a.pending_outgoing, a.volume, COALESCE(s.posted, 0) AS posted,
       COALESCE(s.pending, 0) AS pending, COALESCE(s.outgoing, 0) AS outgoing,
       COALESCE(s.volume, 0) AS postings_volume
FROM accounts a
LEFT JOIN (
    SELECT p.user_id, p.account_id,
           sum(p.amount) FILTER (WHERE t.state = 'posted') AS posted,
           sum(p.amount) FILTER (WHERE t.state = 'pending') AS pending,
           sum(LEAST(p.amount, 0)) FILTER (WHERE t.state = 'pending') AS outgoing,
           sum(abs(p.amount::numeric)) AS volume
    FROM postings p
    JOIN transactions t USING (user_id, transaction_id)
    GROUP BY p.user_id, p.account_id
) s USING (user_id, account_id)
WHERE a.balance <> COALESCE(s.posted, 0)
   OR a.pending_balance <> COALESCE(s.pending, 0)
   OR a.pending_outgoing <> COALESCE(s.outgoing, 0)
   OR a.volume <> COALESCE(s.volume, 0)
ORDER BY a.user_id, a.account_id
"""

_UNBALANCED_TRANSACTIONS = """
SELECT user_id, transaction_id, currency_code, sum(amount) AS total
FROM postings
GROUP BY user_id, transaction_id, currency_code
HAVING sum(amount) <> 0
ORDER BY user_id, transaction_id
"""

_UNBALANCED_BOOKS = """
SELECT user_id, currency_code, sum(balance) AS total
FROM accounts
GROUP BY user_id, currency_code
HAVING sum(balance) <> 0
ORDER BY user_id, currency_code
"""


@dataclass(frozen=True)
class Discrepancy:
    """Something in the ledger that does not add up."""

    subject: ResourceKey
    description: str


class BalanceRepository:
    """Balances derived from postings rather than read from the accounts' running totals."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection

    async def _currency(self, key: AccountKey) -> str:
        currency: str | None = await self._connection.fetchval(
            _ACCOUNT_CURRENCY, key.user_id, key.account_id
        )
        if currency is None:
            raise NotFound(key)
        return currency

    async def as_of(self, key: AccountKey, day: date) -> Money:
        """The account's balance at the end of `day`. Raises NotFound."""
        currency = await self._currency(key)
        amount = await self._connection.fetchval(_AS_OF, key.user_id, key.account_id, day)
        return Money(amount, currency)

    async def history(self, key: AccountKey, days: list[date]) -> list[tuple[date, Money]]:
        """The account's balance at the end of each of `days` (in order, at least one)."""
        currency = await self._currency(key)
        rows = await self._connection.fetch(_HISTORY, key.user_id, key.account_id, days[-1], days)
        return [(row["day"], Money(row["balance"], currency)) for row in rows]

    async def verify(self) -> list[Discrepancy]:
        """Recompute every balance from the postings and report what differs: stored balances,
        transactions that do not sum to zero, and users whose books do not. Runs in the
        caller's (repeatable read) transaction, so that all three see one snapshot."""
        found = []
        connection = self._connection
        for r in await connection.fetch(_STALE_BALANCES):
            found.append(
                Discrepancy(
                    AccountKey(r["user_id"], r["account_id"]),
                    f"stored balance {r['balance']}/{r['pending_balance']}"
                    f"/{r['pending_outgoing']}/{r['volume']} (posted/pending/outgoing/volume)"
                    f" but postings sum to {r['posted']}/{r['pending']}/{r['outgoing']}"
                    f"/{r['postings_volume']}",
                )
            )
        for r in await connection.fetch(_UNBALANCED_TRANSACTIONS):
            found.append(
                Discrepancy(
                    TransactionKey(r["user_id"], r["transaction_id"]),
                    f"{r['currency_code']} postings sum to {r['total']}, not zero",
                )
            )
        for r in await connection.fetch(_UNBALANCED_BOOKS):
            found.append(
                Discrepancy(
                    UserKey(r["user_id"]),
                    f"{r['currency_code']} balances sum to {r['total']}, not zero",
                )
            )
        return found
