"""Statements of accounts, and the postings they reconcile: cleared postings up to a day,
the reconciled sum, and marking postings reconciled or cleared again."""

from datetime import date

import asyncpg

from service.domain.keys import AccountKey, StatementKey
from service.domain.listing import ListQuery, OrderKey, Page
from service.domain.statements import Figures, Statement, StatementState
from service.repositories.querying import Field, Kind, Listing
from service.repositories.rows import RowRepository, Table

_COLUMNS = (
    "user_id, account_id, statement_id, statement_date, currency_code, opening_balance,"
    " closing_balance, posting_count, state, revision, create_time, update_time"
)

_INSERT = f"""
INSERT INTO statements (user_id, account_id, statement_id, statement_date, currency_code,
                        opening_balance, closing_balance, posting_count, state)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'reconciled')
RETURNING {_COLUMNS}
"""

_LATEST = f"""
SELECT {_COLUMNS} FROM statements
WHERE user_id = $1 AND account_id = $2 AND state = 'reconciled'
ORDER BY statement_date DESC
LIMIT 1
"""

# The account's cleared postings of posted transactions booked up to the statement date: the
# ones a statement of that date confirms.
_CLEARED = """
SELECT p.transaction_id, p.posting_index, p.amount
FROM postings p
JOIN transactions t USING (user_id, transaction_id)
WHERE p.user_id = $1 AND p.account_id = $2 AND p.clearing_status = 'cleared'
  AND p.booking_date <= $3 AND t.state = 'posted'
ORDER BY p.transaction_id, p.posting_index
"""

_RECONCILED_SUM = """
SELECT COALESCE(sum(amount), 0) FROM postings
WHERE user_id = $1 AND account_id = $2 AND clearing_status = 'reconciled'
"""

_RECONCILE = """
UPDATE postings p SET clearing_status = 'reconciled', statement_id = $3
FROM unnest($4::text[], $5::smallint[]) AS r(transaction_id, posting_index)
WHERE p.user_id = $1 AND p.account_id = $2 AND p.transaction_id = r.transaction_id
  AND p.posting_index = r.posting_index
"""

_OF_STATEMENT = """
SELECT DISTINCT transaction_id FROM postings
WHERE user_id = $1 AND account_id = $2 AND statement_id = $3
"""

_RELEASE = """
UPDATE postings SET clearing_status = 'cleared', statement_id = NULL
WHERE user_id = $1 AND account_id = $2 AND statement_id = $3
"""

# A posting the statement reconciles: (transaction id, posting index, amount).
ClearedPosting = tuple[str, int, int]


def _statement(row: asyncpg.Record) -> Statement:
    return Statement(
        user_id=row["user_id"],
        account_id=row["account_id"],
        statement_id=row["statement_id"],
        figures=Figures(
            statement_date=row["statement_date"],
            currency_code=row["currency_code"],
            opening_balance=row["opening_balance"],
            # A statement is kept only once its postings made its closing balance.
            cleared_balance=row["closing_balance"],
            closing_balance=row["closing_balance"],
            posting_count=row["posting_count"],
        ),
        state=StatementState(row["state"]),
        revision=row["revision"],
        create_time=row["create_time"],
        update_time=row["update_time"],
    )


STATEMENTS = Table(
    name="statements",
    columns=_COLUMNS,
    key_columns=("user_id", "account_id", "statement_id"),
    listing=Listing(
        fields={
            "statement_date": Field("statement_date", Kind.DATE),
            "state": Field(
                "state", Kind.ENUM, {f"STATE_{s.name}": s.value for s in StatementState}
            ),
            "create_time": Field("create_time", Kind.TIMESTAMP),
            "update_time": Field("update_time", Kind.TIMESTAMP),
        },
        id_column="statement_id",
        default_order=(OrderKey("statement_date", descending=True),),
    ),
    from_row=_statement,
)


class StatementRepository(RowRepository[Statement, StatementKey]):
    """Reads and writes statements and the reconciled state of postings."""

    table = STATEMENTS

    async def insert(self, key: StatementKey, figures: Figures) -> Statement:
        """Keep a reconciled statement."""
        row = await self._connection.fetchrow(
            _INSERT,
            key.user_id,
            key.account_id,
            key.statement_id,
            figures.statement_date,
            figures.currency_code,
            figures.opening_balance,
            figures.closing_balance,
            figures.posting_count,
        )
        assert row is not None
        return _statement(row)

    async def list_of(self, account: AccountKey, query: ListQuery) -> Page[Statement]:
        """One page of the account's statements."""
        scope = {"user_id": account.user_id, "account_id": account.account_id}
        return await self.list(query, scope=scope)

    async def latest(self, account: AccountKey, *, lock: bool = False) -> Statement | None:
        """The account's last reconciled statement, if any, locked for this transaction if
        `lock`."""
        sql = f"{_LATEST} FOR UPDATE" if lock else _LATEST
        row = await self._connection.fetchrow(sql, account.user_id, account.account_id)
        return None if row is None else _statement(row)

    async def cleared(self, account: AccountKey, up_to: date) -> list[ClearedPosting]:
        """The account's cleared postings of posted transactions booked up to `up_to`."""
        rows = await self._connection.fetch(_CLEARED, account.user_id, account.account_id, up_to)
        return [(r["transaction_id"], r["posting_index"], r["amount"]) for r in rows]

    async def reconciled_sum(self, account: AccountKey) -> int:
        """The sum of the account's reconciled postings."""
        total = await self._connection.fetchval(
            _RECONCILED_SUM, account.user_id, account.account_id
        )
        return int(total)

    async def reconcile(self, key: StatementKey, postings: list[ClearedPosting]) -> None:
        """Mark `postings` of the statement's account reconciled by it."""
        await self._connection.execute(
            _RECONCILE,
            key.user_id,
            key.account_id,
            key.statement_id,
            [p[0] for p in postings],
            [p[1] for p in postings],
        )

    async def transactions_of(self, key: StatementKey) -> set[str]:
        """The ids of the transactions whose postings the statement reconciled."""
        rows = await self._connection.fetch(
            _OF_STATEMENT, key.user_id, key.account_id, key.statement_id
        )
        return {r["transaction_id"] for r in rows}

    async def release(self, key: StatementKey) -> Statement:
        """Return the statement's postings to cleared and mark it un-reconciled."""
        await self._connection.execute(_RELEASE, key.user_id, key.account_id, key.statement_id)
        return await self.update(key, {"state": StatementState.UNRECONCILED.value})
