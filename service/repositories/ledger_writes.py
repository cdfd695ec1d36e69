"""The write path of the ledger: transactions, their postings and the balances they move.

Everything here runs on a connection inside a database transaction the caller owns, so that a
failure anywhere leaves nothing behind (and several calls could share one commit). Accounts are
locked in key order, so concurrent transactions over the same accounts queue rather than
deadlock.
"""

from collections.abc import Sequence
from decimal import Decimal

import asyncpg

from service.domain.audit import Caller
from service.domain.ledger import (
    Posting,
    PostingDraft,
    Transaction,
    TransactionDraft,
    TransactionState,
    major_units,
    snapshot,
)
from service.repositories.audit import record_event
from service.repositories.ledger_accounts import (
    Movement,
    check_limits,
    lock_accounts,
    lock_accounts_unchecked,
    move_balances,
    movements,
    resolve_system_accounts,
)
from service.repositories.ledger_references import check_references

_INSERT_TRANSACTION = """
INSERT INTO transactions (user_id, transaction_id, booking_date, description, payee_id, notes,
                          tags, external_id, state, reverses_transaction_id, exchange_rate,
                          amount)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
RETURNING revision, create_time, update_time
"""

_INSERT_POSTINGS = """
INSERT INTO postings (user_id, transaction_id, posting_index, account_id, amount, currency_code,
                      category_id, memo, booking_date)
SELECT $1, $2, i, a, amt, cur, cat, memo, $3
FROM unnest($4::smallint[], $5::text[], $6::bigint[], $7::text[], $8::text[], $9::text[])
     AS p(i, a, amt, cur, cat, memo)
"""


def transaction_name(user_id: str, transaction_id: str) -> str:
    """The resource name of a transaction."""
    return f"users/{user_id}/transactions/{transaction_id}"


def _total(postings: Sequence[PostingDraft]) -> Decimal:
    return sum(
        (major_units(p.amount, p.currency_code) for p in postings if p.amount > 0), Decimal(0)
    )


async def record_transaction(
    connection: asyncpg.Connection,
    user_id: str,
    transaction_id: str,
    draft: TransactionDraft,
    caller: Caller,
    *,
    reverses_id: str | None = None,
) -> Transaction:
    """Write a balanced transaction and move the balances of its accounts.

    Raises NotFound for an unknown account, InvalidArgument for a posting in another currency
    than its account's, FailedPrecondition for an archived account or a broken credit limit.
    """
    await check_references(connection, user_id, draft.payee_id, draft.postings)
    postings = await resolve_system_accounts(connection, user_id, draft.postings)
    accounts = await lock_accounts(connection, user_id, postings)
    moves = movements(postings, pending=draft.pending)
    check_limits(user_id, accounts, moves)
    state = TransactionState.PENDING if draft.pending else TransactionState.POSTED
    row = await connection.fetchrow(
        _INSERT_TRANSACTION,
        user_id,
        transaction_id,
        draft.booking_date,
        draft.description,
        draft.payee_id,
        draft.notes,
        list(draft.tags),
        draft.external_id,
        state.value,
        reverses_id,
        draft.exchange_rate,
        _total(postings),
    )
    await connection.execute(
        _INSERT_POSTINGS,
        user_id,
        transaction_id,
        draft.booking_date,
        list(range(len(postings))),
        [p.account_id for p in postings],
        [p.amount for p in postings],
        [p.currency_code for p in postings],
        [p.category_id for p in postings],
        [p.memo for p in postings],
    )
    await move_balances(connection, user_id, moves)
    assert row is not None
    transaction = Transaction(
        user_id=user_id,
        transaction_id=transaction_id,
        booking_date=draft.booking_date,
        description=draft.description,
        payee_id=draft.payee_id,
        notes=draft.notes,
        tags=draft.tags,
        external_id=draft.external_id,
        state=state,
        postings=tuple(
            Posting(i, p.account_id, p.amount, p.currency_code, p.category_id, p.memo)
            for i, p in enumerate(postings)
        ),
        reverses_id=reverses_id,
        reversed_by_id=None,
        exchange_rate=draft.exchange_rate,
        revision=row["revision"],
        create_time=row["create_time"],
        update_time=row["update_time"],
    )
    await audit(connection, transaction, "create", caller, before=None)
    return transaction


async def settle_pending(
    connection: asyncpg.Connection, transaction: Transaction, *, post: bool
) -> None:
    """Move a locked pending transaction's amounts to the posted balances (post) or drop
    them (void)."""
    drafts = [PostingDraft(p.account_id, p.amount, p.currency_code) for p in transaction.postings]
    await lock_accounts_unchecked(connection, transaction.user_id, drafts)
    held = movements(drafts, pending=True)
    moves = {
        account_id: Movement(
            posted=move.pending if post else 0,
            pending=-move.pending,
            outgoing=-move.outgoing,
        )
        for account_id, move in held.items()
    }
    await move_balances(connection, transaction.user_id, moves)


async def audit(
    connection: asyncpg.Connection,
    transaction: Transaction,
    action: str,
    caller: Caller,
    *,
    before: Transaction | None,
) -> None:
    """Add an event to the audit trail, with the transaction before and after the change."""
    await record_event(
        connection,
        user_id=transaction.user_id,
        resource_name=transaction_name(transaction.user_id, transaction.transaction_id),
        action=action,
        caller=caller,
        before=None if before is None else snapshot(before),
        after=snapshot(transaction),
    )
