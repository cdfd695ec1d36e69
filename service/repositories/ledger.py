"""The ledger: records, settles, reverses and describes transactions, exactly once per request.

Each call runs in one database transaction, retried whole on a serialization failure or a
deadlock, so callers never see those. A call with a request_id first claims the id; a retry
finds the claim and gets the original result back without writing anything.
"""

import asyncio
import logging
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import date
from typing import TypeVar

import asyncpg

from service.db.database import Database
from service.domain.audit import Caller
from service.domain.errors import (
    EtagMismatch,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PreconditionViolation,
)
from service.domain.ledger import (
    Transaction,
    TransactionChanges,
    TransactionDraft,
    TransactionKey,
    TransactionState,
    check_balanced,
    reversal_of,
)
from service.domain.listing import ListQuery, Page
from service.repositories.base import check_user_exists, fingerprint, request_id_reused
from service.repositories.ledger_references import check_categories, check_references
from service.repositories.ledger_writes import (
    audit,
    record_transaction,
    settle_pending,
    transaction_name,
)
from service.repositories.transactions import fetch_transaction, list_transactions

log = logging.getLogger(__name__)

T = TypeVar("T")

_RETRYABLE = (asyncpg.SerializationError, asyncpg.DeadlockDetectedError)

_CLAIM = """
INSERT INTO idempotency_keys (user_id, request_id, method, request_hash, result_id)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (user_id, request_id) DO NOTHING
RETURNING 1
"""

_CLAIMED = """
SELECT method, request_hash, result_id FROM idempotency_keys
WHERE user_id = $1 AND request_id = $2
"""


class LedgerRepository:
    """Writes and reads transactions; every write keeps balances equal to their postings."""

    def __init__(self, database: Database, *, attempts: int = 8) -> None:
        self._db = database
        self._attempts = attempts

    async def _run(self, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """Run `work` in a transaction, again from the start after a serialization failure or
        deadlock (after a short random pause, so that the contenders part)."""
        for attempt in range(1, self._attempts + 1):
            try:
                async with self._db.transaction() as connection:
                    return await work(connection)
            except _RETRYABLE as error:
                if attempt == self._attempts:
                    raise
                log.info("retrying after %s (attempt %d)", type(error).__name__, attempt)
                await asyncio.sleep(random.uniform(0, 0.005 * 2**attempt))  # noqa: S311
        raise AssertionError("unreachable")

    async def _claim(
        self,
        connection: asyncpg.Connection,
        user_id: str,
        caller: Caller,
        method: str,
        request: object,
        result_id: str,
    ) -> str | None:
        """Claim the caller's request_id for this request. Returns None when newly claimed, or
        the result id of the earlier identical request; rejects reuse for another request."""
        if caller.request_id is None:
            return None
        request_hash = fingerprint(method, request)
        try:
            claimed = await connection.fetchval(
                _CLAIM, user_id, caller.request_id, method, request_hash, result_id
            )
        except asyncpg.ForeignKeyViolationError:
            raise NotFound("User", f"users/{user_id}") from None
        if claimed:
            return None
        row = await connection.fetchrow(_CLAIMED, user_id, caller.request_id)
        assert row is not None  # ON CONFLICT waited for the claim to commit
        if row["method"] != method or row["request_hash"] != request_hash:
            raise request_id_reused()
        earlier: str = row["result_id"]
        return earlier

    async def create(self, owner: str, draft: TransactionDraft, caller: Caller) -> Transaction:
        """Record a transaction. Raises InvalidArgument (unbalanced, wrong currency), NotFound
        (unknown user, account, category or payee) or FailedPrecondition (archived account,
        credit limit)."""
        check_balanced(draft.postings)
        transaction_id = str(uuid.uuid4())

        async def work(connection: asyncpg.Connection) -> Transaction:
            earlier = await self._claim(connection, owner, caller, "create", draft, transaction_id)
            if earlier is not None:
                return await fetch_transaction(connection, TransactionKey(owner, earlier))
            await check_user_exists(connection, owner)
            return await record_transaction(connection, owner, transaction_id, draft, caller)

        return await self._run(work)

    async def get(self, key: TransactionKey) -> Transaction:
        """The transaction of `key`. Raises NotFound."""
        async with self._db.connection() as connection:
            return await fetch_transaction(connection, key)

    async def list(self, owner: str, query: ListQuery) -> Page[Transaction]:
        """One page of the owner's transactions. Raises NotFound if the owner does not exist."""
        async with self._db.connection() as connection:
            page = await list_transactions(connection, owner, query)
            if not page.items:
                await check_user_exists(connection, owner)
            return page

    async def post(
        self, key: TransactionKey, caller: Caller, *, expected_revision: int | None = None
    ) -> Transaction:
        """Post a pending transaction. Raises NotFound, EtagMismatch or FailedPrecondition."""
        return await self._settle(key, caller, expected_revision, post=True)

    async def void(
        self, key: TransactionKey, caller: Caller, *, expected_revision: int | None = None
    ) -> Transaction:
        """Void a pending transaction. Raises NotFound, EtagMismatch or FailedPrecondition."""
        return await self._settle(key, caller, expected_revision, post=False)

    async def _settle(
        self, key: TransactionKey, caller: Caller, expected_revision: int | None, *, post: bool
    ) -> Transaction:
        method = "post" if post else "void"

        async def work(connection: asyncpg.Connection) -> Transaction:
            request = (key, expected_revision)
            earlier = await self._claim(
                connection, key.user_id, caller, method, request, key.transaction_id
            )
            before = await fetch_transaction(connection, key, lock=True)
            if earlier is not None:
                return before
            _check_revision(before, expected_revision)
            if before.state is not TransactionState.PENDING:
                raise _precondition("TRANSACTION_NOT_PENDING", before, "is not pending")
            await settle_pending(connection, before, post=post)
            state = TransactionState.POSTED if post else TransactionState.VOIDED
            after = await self._set_state(connection, before, state)
            await audit(connection, after, method, caller, before=before)
            return after

        return await self._run(work)

    async def _set_state(
        self, connection: asyncpg.Connection, transaction: Transaction, state: TransactionState
    ) -> Transaction:
        row = await connection.fetchrow(
            "UPDATE transactions SET state = $3, revision = nextval('revisions'),"
            " update_time = clock_timestamp()"
            " WHERE user_id = $1 AND transaction_id = $2 RETURNING revision, update_time",
            transaction.user_id,
            transaction.transaction_id,
            state.value,
        )
        assert row is not None
        return replace(
            transaction, state=state, revision=row["revision"], update_time=row["update_time"]
        )

    async def reverse(
        self,
        key: TransactionKey,
        caller: Caller,
        *,
        booking_date: date | None = None,
        reason: str = "",
    ) -> Transaction:
        """Reverse a posted transaction with a linked one of opposite amounts; returns the
        reversal. Raises NotFound or FailedPrecondition (not posted, already reversed, or a
        reversal itself), or FailedPrecondition if the reversal would break a credit limit."""
        reversal_id = str(uuid.uuid4())

        async def work(connection: asyncpg.Connection) -> Transaction:
            request = (key, booking_date, reason)
            earlier = await self._claim(
                connection, key.user_id, caller, "reverse", request, reversal_id
            )
            if earlier is not None:
                return await fetch_transaction(connection, TransactionKey(key.user_id, earlier))
            original = await fetch_transaction(connection, key, lock=True)
            _check_reversible(original)
            draft = TransactionDraft(
                booking_date=booking_date or original.booking_date,
                postings=reversal_of(original),
                description=reason or f"Reversal of {original.description}".strip(),
                payee_id=original.payee_id,
                tags=original.tags,
            )
            reversal = await record_transaction(
                connection, key.user_id, reversal_id, draft, caller, reverses_id=key.transaction_id
            )
            after = replace(original, reversed_by_id=reversal_id)
            await audit(connection, after, "reverse", caller, before=original)
            return reversal

        return await self._run(work)

    async def update(
        self,
        key: TransactionKey,
        changes: TransactionChanges,
        caller: Caller,
        *,
        expected_revision: int | None = None,
    ) -> Transaction:
        """Change the descriptive fields of a transaction. Raises NotFound (the transaction, or
        a category or payee it is given), EtagMismatch, or InvalidArgument if per-posting
        changes do not have one entry per posting."""

        async def work(connection: asyncpg.Connection) -> Transaction:
            request = (key, changes, expected_revision)
            earlier = await self._claim(
                connection, key.user_id, caller, "update", request, key.transaction_id
            )
            before = await fetch_transaction(connection, key, lock=True)
            if earlier is not None:
                return before
            _check_revision(before, expected_revision)
            await _apply_changes(connection, before, changes)
            after = await fetch_transaction(connection, key)
            await audit(connection, after, "update", caller, before=before)
            return after

        return await self._run(work)


async def _apply_changes(
    connection: asyncpg.Connection, transaction: Transaction, changes: TransactionChanges
) -> None:
    count = len(transaction.postings)
    for field, values in (("categories", changes.categories), ("memos", changes.memos)):
        if values is not None and len(values) != count:
            raise InvalidArgument.single(
                "transaction.postings", f"must list all {count} postings to change their {field}"
            )
    if changes.change_payee and changes.payee_id is not None:
        await check_references(connection, transaction.user_id, changes.payee_id, [])
    await check_categories(connection, transaction.user_id, changes.categories or ())
    try:
        await connection.execute(
            "UPDATE transactions SET description = COALESCE($3, description),"
            " payee_id = CASE WHEN $4 THEN $5 ELSE payee_id END,"
            " notes = COALESCE($6, notes), tags = COALESCE($7, tags),"
            " revision = nextval('revisions'), update_time = clock_timestamp()"
            " WHERE user_id = $1 AND transaction_id = $2",
            transaction.user_id,
            transaction.transaction_id,
            changes.description,
            changes.change_payee,
            changes.payee_id,
            changes.notes,
            None if changes.tags is None else list(changes.tags),
        )
        if changes.categories is not None or changes.memos is not None:
            await connection.execute(
                "UPDATE postings AS p"
                " SET category_id = CASE WHEN $3 THEN c.category_id ELSE p.category_id END,"
                " memo = COALESCE(c.memo, p.memo)"
                " FROM unnest($4::smallint[], $5::text[], $6::text[]) AS c(i, category_id, memo)"
                " WHERE p.user_id = $1 AND p.transaction_id = $2 AND p.posting_index = c.i",
                transaction.user_id,
                transaction.transaction_id,
                changes.categories is not None,
                list(range(count)),
                list(changes.categories or [None] * count),
                list(changes.memos or [None] * count),
            )
    except asyncpg.ForeignKeyViolationError as error:
        raise _missing_reference(transaction.user_id, error) from None


def _missing_reference(user_id: str, error: asyncpg.ForeignKeyViolationError) -> NotFound:
    """NotFound for the category or payee a foreign key found missing."""
    constraint = error.constraint_name or ""
    kind = "Payee" if "payee" in constraint else "Category"
    detail = error.detail or ""
    value = detail.split("=(", 1)[-1].split(")", 1)[0].split(", ")[-1] if "=(" in detail else ""
    collection = "payees" if kind == "Payee" else "categories"
    return NotFound(kind, f"users/{user_id}/{collection}/{value}")


def _check_revision(transaction: Transaction, expected_revision: int | None) -> None:
    if expected_revision is not None and transaction.revision != expected_revision:
        raise EtagMismatch(transaction_name(transaction.user_id, transaction.transaction_id))


def _precondition(kind: str, transaction: Transaction, problem: str) -> FailedPrecondition:
    name = transaction_name(transaction.user_id, transaction.transaction_id)
    return FailedPrecondition(PreconditionViolation(kind, name, f"the transaction {problem}"))


def _check_reversible(transaction: Transaction) -> None:
    if transaction.state is not TransactionState.POSTED:
        raise _precondition(
            "TRANSACTION_NOT_POSTED", transaction, "is not posted; void a pending one instead"
        )
    if transaction.reversed_by_id is not None:
        raise _precondition("TRANSACTION_ALREADY_REVERSED", transaction, "is already reversed")
    if transaction.reverses_id is not None:
        raise _precondition(
            "TRANSACTION_IS_REVERSAL", transaction, "is a reversal; record the original again"
        )
