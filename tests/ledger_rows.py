"""Ledger rows written straight to the database, to make records refer to a category or payee."""

import datetime

from service.db.database import Database

_TRANSACTION = """
INSERT INTO transactions (user_id, booking_date, payee_id, state, amount)
VALUES ($1, $2, $3, 'posted', 1)
RETURNING transaction_id
"""

_POSTING = """
INSERT INTO postings (user_id, transaction_id, posting_index, account_id, amount, currency_code,
                      category_id, booking_date)
VALUES ($1, $2, 0, $3, 100, 'EUR', $4, $5)
"""


async def insert_transaction(
    database: Database,
    user_id: str,
    *,
    payee_id: str | None = None,
    posting: tuple[str, str] | None = None,
) -> str:
    """Insert a posted transaction of `user_id`, naming `payee_id`, with one posting to the
    (account id, category id) of `posting`; returns the transaction id."""
    today = datetime.date(2024, 1, 31)
    async with database.transaction() as connection:
        transaction_id: str = await connection.fetchval(_TRANSACTION, user_id, today, payee_id)
        if posting is not None:
            account_id, category_id = posting
            await connection.execute(
                _POSTING, user_id, transaction_id, account_id, category_id, today
            )
    return transaction_id
