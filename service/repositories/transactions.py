"""Transactions and their postings: reading one by key or a filtered page, writing new ones,
their state and their descriptive fields."""

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

import asyncpg

from service.domain.errors import NotFound
from service.domain.keys import CategoryKey, PayeeKey, TransactionKey, UserKey
from service.domain.ledger import (
    ClearingStatus,
    Posting,
    PostingDraft,
    Transaction,
    TransactionChanges,
    TransactionDraft,
    TransactionState,
    major_units,
)
from service.domain.listing import ListQuery, Page
from service.repositories.paging import fetch_page
from service.repositories.transaction_filters import TRANSACTION_LISTING

# Transactions with the id of their reversal, as one relation the listing can filter and order.
# A missing external id reads as '' so that ordering and page cursors never meet a NULL.
_RELATION = """
(SELECT t.user_id, t.transaction_id, t.booking_date, t.description, t.payee_id, t.notes,
        t.tags, COALESCE(t.external_id, '') AS external_id, t.state, t.reverses_transaction_id,
        t.exchange_rate, t.amount,
        t.revision, t.create_time, t.update_time, r.transaction_id AS reversed_by_id
 FROM transactions t
 LEFT JOIN transactions r
   ON r.user_id = t.user_id AND r.reverses_transaction_id = t.transaction_id) AS tx
"""

_COLUMNS = (
    "user_id, transaction_id, booking_date, description, payee_id, notes, tags, external_id,"
    " state, reverses_transaction_id, exchange_rate, amount, revision, create_time,"
    " update_time, reversed_by_id"
)

_POSTINGS = """
SELECT transaction_id, posting_index, account_id, amount, currency_code, category_id, memo,
       clearing_status, statement_id
FROM postings
WHERE user_id = $1 AND transaction_id = ANY($2::text[])
ORDER BY transaction_id, posting_index
"""

_LOCK = "SELECT 1 FROM transactions WHERE user_id = $1 AND transaction_id = $2 FOR UPDATE"

# ORDER BY before FOR UPDATE: in key order, the same in every transaction.
_LOCK_MANY = """
SELECT 1 FROM transactions WHERE user_id = $1 AND transaction_id = ANY($2::text[])
ORDER BY transaction_id
FOR UPDATE
"""

# A new revision for transactions whose postings changed (a statement reconciled them).
_TOUCH = """
UPDATE transactions SET revision = nextval('revisions'), update_time = clock_timestamp()
WHERE user_id = $1 AND transaction_id = ANY($2::text[])
"""

_INSERT = """
INSERT INTO transactions (user_id, transaction_id, booking_date, description, payee_id, notes,
                          tags, external_id, state, reverses_transaction_id, exchange_rate,
                          amount)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
RETURNING revision, create_time, update_time
"""

_INSERT_POSTINGS = """
INSERT INTO postings (user_id, transaction_id, posting_index, account_id, amount, currency_code,
                      category_id, memo, booking_date, clearing_status)
SELECT $1, $2, i, a, amt, cur, cat, memo, $3, st
FROM unnest($4::smallint[], $5::text[], $6::bigint[], $7::text[], $8::text[], $9::text[],
            $10::text[])
     AS p(i, a, amt, cur, cat, memo, st)
"""

_WITH_EXTERNAL_ID = """
SELECT t.transaction_id
FROM transactions t JOIN postings p USING (user_id, transaction_id)
WHERE t.user_id = $1 AND t.external_id = $2 AND p.account_id = ANY($3::text[])
LIMIT 1
"""

_SET_STATE = """
UPDATE transactions SET state = $3, revision = nextval('revisions'),
       update_time = clock_timestamp()
WHERE user_id = $1 AND transaction_id = $2
RETURNING revision, update_time
"""

_CHANGE = """
UPDATE transactions SET description = COALESCE($3, description),
       payee_id = CASE WHEN $4 THEN $5 ELSE payee_id END,
       notes = COALESCE($6, notes), tags = COALESCE($7, tags),
       revision = nextval('revisions'), update_time = clock_timestamp()
WHERE user_id = $1 AND transaction_id = $2
"""

_CHANGE_POSTINGS = """
UPDATE postings AS p
SET category_id = CASE WHEN $3 THEN c.category_id ELSE p.category_id END,
    memo = COALESCE(c.memo, p.memo),
    clearing_status = COALESCE(c.clearing_status, p.clearing_status)
FROM unnest($4::smallint[], $5::text[], $6::text[], $7::text[])
     AS c(i, category_id, memo, clearing_status)
WHERE p.user_id = $1 AND p.transaction_id = $2 AND p.posting_index = c.i
"""


def _transaction(row: asyncpg.Record, postings: Sequence[Posting]) -> Transaction:
    return Transaction(
        user_id=row["user_id"],
        transaction_id=row["transaction_id"],
        booking_date=row["booking_date"],
        description=row["description"],
        payee_id=row["payee_id"],
        notes=row["notes"],
        tags=tuple(row["tags"]),
        external_id=row["external_id"] or None,
        state=TransactionState(row["state"]),
        postings=tuple(postings),
        reverses_id=row["reverses_transaction_id"],
        reversed_by_id=row["reversed_by_id"],
        exchange_rate=row["exchange_rate"],
        revision=row["revision"],
        create_time=row["create_time"],
        update_time=row["update_time"],
    )


def _total(postings: Sequence[PostingDraft]) -> Decimal:
    """The sum of the positive postings in major units: what a List orders and filters by."""
    return sum(
        (major_units(p.amount, p.currency_code) for p in postings if p.amount > 0), Decimal(0)
    )


class TransactionRepository:
    """Reads and writes one user's transactions and their postings."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection

    async def _with_postings(
        self, user_id: str, rows: Sequence[asyncpg.Record]
    ) -> list[Transaction]:
        ids = [row["transaction_id"] for row in rows]
        by_transaction: dict[str, list[Posting]] = defaultdict(list)
        for p in await self._connection.fetch(_POSTINGS, user_id, ids):
            by_transaction[p["transaction_id"]].append(
                Posting(
                    index=p["posting_index"],
                    account_id=p["account_id"],
                    amount=p["amount"],
                    currency_code=p["currency_code"],
                    category_id=p["category_id"],
                    memo=p["memo"],
                    clearing_status=ClearingStatus(p["clearing_status"]),
                    statement_id=p["statement_id"],
                )
            )
        return [_transaction(row, by_transaction[row["transaction_id"]]) for row in rows]

    async def get(self, key: TransactionKey, *, lock: bool = False) -> Transaction:
        """The transaction of `key`, locked for this transaction if `lock`. Raises NotFound."""
        if lock:
            await self._connection.execute(_LOCK, key.user_id, key.transaction_id)
        row = await self._connection.fetchrow(
            f"SELECT {_COLUMNS} FROM {_RELATION} WHERE user_id = $1 AND transaction_id = $2",
            key.user_id,
            key.transaction_id,
        )
        if row is None:
            raise NotFound(key)
        return (await self._with_postings(key.user_id, [row]))[0]

    async def get_many(self, owner: UserKey, transaction_ids: list[str]) -> list[Transaction]:
        """The owner's transactions of `transaction_ids` that exist, in id order."""
        rows = await self._connection.fetch(
            f"SELECT {_COLUMNS} FROM {_RELATION}"
            " WHERE user_id = $1 AND transaction_id = ANY($2::text[]) ORDER BY transaction_id",
            owner.user_id,
            transaction_ids,
        )
        return await self._with_postings(owner.user_id, rows)

    async def lock_many(self, owner: UserKey, transaction_ids: set[str]) -> None:
        """Lock the owner's transactions of `transaction_ids` for this transaction, in key
        order (before their accounts, as every ledger write does)."""
        await self._connection.execute(_LOCK_MANY, owner.user_id, sorted(transaction_ids))

    async def touch(self, owner: UserKey, transaction_ids: set[str]) -> None:
        """Give locked transactions whose postings changed a new revision (etag)."""
        await self._connection.execute(_TOUCH, owner.user_id, sorted(transaction_ids))

    async def list_owned(self, owner: UserKey, query: ListQuery) -> Page[Transaction]:
        """One page of the owner's transactions."""
        rows, cursors, cursor = await fetch_page(
            self._connection,
            source=_RELATION,
            columns=_COLUMNS,
            listing=TRANSACTION_LISTING,
            query=query,
            scope={"user_id": owner.user_id},
        )
        return Page(await self._with_postings(owner.user_id, rows), cursor, cursors)

    async def insert(
        self,
        key: TransactionKey,
        draft: TransactionDraft,
        *,
        reverses_id: str | None = None,
    ) -> Transaction:
        """Write a transaction and its postings (whose accounts are resolved); balances are the
        caller's to change."""
        postings = draft.postings
        row = await self._connection.fetchrow(
            _INSERT,
            key.user_id,
            key.transaction_id,
            draft.booking_date,
            draft.description,
            draft.payee_id,
            draft.notes,
            list(draft.tags),
            draft.external_id,
            draft.state.value,
            reverses_id,
            draft.exchange_rate,
            _total(postings),
        )
        await self._connection.execute(
            _INSERT_POSTINGS,
            key.user_id,
            key.transaction_id,
            draft.booking_date,
            list(range(len(postings))),
            [p.account_id for p in postings],
            [p.amount for p in postings],
            [p.currency_code for p in postings],
            [p.category_id for p in postings],
            [p.memo for p in postings],
            [p.clearing_status.value for p in postings],
        )
        assert row is not None
        return draft.recorded(
            key,
            reverses_id=reverses_id,
            revision=row["revision"],
            create_time=row["create_time"],
            update_time=row["update_time"],
        )

    async def with_external_id(
        self, owner: UserKey, external_id: str, account_ids: set[str]
    ) -> TransactionKey | None:
        """The owner's transaction with `external_id` on any of `account_ids`, if one exists."""
        found: str | None = await self._connection.fetchval(
            _WITH_EXTERNAL_ID, owner.user_id, external_id, sorted(account_ids)
        )
        return None if found is None else TransactionKey(owner.user_id, found)

    async def set_state(self, transaction: Transaction, state: TransactionState) -> Transaction:
        """Move a locked transaction to `state`, with a new revision."""
        row = await self._connection.fetchrow(
            _SET_STATE, transaction.user_id, transaction.transaction_id, state.value
        )
        assert row is not None
        return transaction.with_state(state, revision=row["revision"], at=row["update_time"])

    async def change(self, transaction: Transaction, changes: TransactionChanges) -> None:
        """Write new descriptive fields of a locked transaction and its postings. Raises
        NotFound for a payee or category that is not the owner's."""
        count = len(transaction.postings)
        try:
            await self._connection.execute(
                _CHANGE,
                transaction.user_id,
                transaction.transaction_id,
                changes.description,
                changes.change_payee,
                changes.payee_id,
                changes.notes,
                None if changes.tags is None else list(changes.tags),
            )
            if any(
                c is not None
                for c in (changes.categories, changes.memos, changes.clearing_statuses)
            ):
                await self._connection.execute(
                    _CHANGE_POSTINGS,
                    transaction.user_id,
                    transaction.transaction_id,
                    changes.categories is not None,
                    list(range(count)),
                    list(changes.categories or [None] * count),
                    list(changes.memos or [None] * count),
                    [
                        None if s is None else s.value
                        for s in changes.clearing_statuses or [None] * count
                    ],
                )
        except asyncpg.ForeignKeyViolationError as error:
            raise _missing_reference(transaction.user_id, error) from None


def _missing_reference(user_id: str, error: asyncpg.ForeignKeyViolationError) -> NotFound:
    """NotFound for the category or payee a foreign key found missing (one deleted after the
    service checked it)."""
    detail = error.detail or ""
    value = detail.split("=(", 1)[-1].split(")", 1)[0].split(", ")[-1] if "=(" in detail else ""
    if "payee" in (error.constraint_name or ""):
        return NotFound(PayeeKey(user_id, value))
    return NotFound(CategoryKey(user_id, value))
