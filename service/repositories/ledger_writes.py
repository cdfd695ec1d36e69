"""The write path of the ledger: postings and the balances they move, in one transaction.

Everything here runs on a connection inside a database transaction the caller owns, so that a
failure anywhere leaves nothing behind. Accounts are locked in key order, so concurrent
transactions over the same accounts queue rather than deadlock.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

import asyncpg

from service.domain.audit import Caller
from service.domain.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PreconditionViolation,
)
from service.domain.ledger import (
    Posting,
    PostingDraft,
    SystemRole,
    Transaction,
    TransactionDraft,
    TransactionState,
    format_minor,
    major_units,
    snapshot,
)
from service.domain.models import AccountType
from service.repositories.audit import record_event

_SYSTEM_ACCOUNTS = {
    SystemRole.EXPENSE: ("Expenses", AccountType.EXPENSE),
    SystemRole.INCOME: ("Income", AccountType.INCOME),
    SystemRole.TRADING: ("Currency trading", AccountType.EQUITY),
    SystemRole.OPENING: ("Opening balances", AccountType.EQUITY),
}

_ENSURE_SYSTEM_ACCOUNT = """
INSERT INTO accounts (user_id, display_name, type, currency_code, balance, system_role)
VALUES ($1, $2, $3, $4, 0, $5)
ON CONFLICT (user_id, system_role, currency_code) WHERE system_role IS NOT NULL DO NOTHING
"""

_SYSTEM_ACCOUNT_ID = """
SELECT account_id FROM accounts
WHERE user_id = $1 AND system_role = $2 AND currency_code = $3
"""

# ORDER BY before FOR UPDATE: rows are locked in key order, the same in every transaction.
_LOCK_ACCOUNTS = """
SELECT account_id, currency_code, state, balance, pending_outgoing, credit_limit
FROM accounts
WHERE user_id = $1 AND account_id = ANY($2::text[])
ORDER BY account_id
FOR UPDATE
"""

_MOVE_BALANCES = """
UPDATE accounts AS a
SET balance = a.balance + d.posted,
    pending_balance = a.pending_balance + d.pending,
    pending_outgoing = a.pending_outgoing + d.outgoing,
    revision = nextval('revisions'),
    update_time = clock_timestamp()
FROM unnest($2::text[], $3::bigint[], $4::bigint[], $5::bigint[])
     AS d(account_id, posted, pending, outgoing)
WHERE a.user_id = $1 AND a.account_id = d.account_id
"""

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


@dataclass(frozen=True)
class _LockedAccount:
    account_id: str
    currency_code: str
    archived: bool
    balance: int
    pending_outgoing: int
    credit_limit: int | None


@dataclass
class _Movement:
    """How much one transaction moves an account's posted and pending figures."""

    posted: int = 0
    pending: int = 0
    outgoing: int = 0


def transaction_name(user_id: str, transaction_id: str) -> str:
    """The resource name of a transaction."""
    return f"users/{user_id}/transactions/{transaction_id}"


def _account_name(user_id: str, account_id: str) -> str:
    return f"users/{user_id}/accounts/{account_id}"


def _amount_field(posting: PostingDraft, index: int) -> str:
    return posting.source_field or f"transaction.postings[{index}].amount"


async def check_references(
    connection: asyncpg.Connection,
    user_id: str,
    payee_id: str | None,
    postings: Sequence[PostingDraft],
) -> None:
    """Raise NotFound for a payee or category that is not the user's."""
    if payee_id is not None and not await connection.fetchval(
        "SELECT EXISTS (SELECT 1 FROM payees WHERE user_id = $1 AND payee_id = $2)",
        user_id,
        payee_id,
    ):
        raise NotFound("Payee", f"users/{user_id}/payees/{payee_id}")
    await check_categories(connection, user_id, [p.category_id for p in postings])


async def check_categories(
    connection: asyncpg.Connection, user_id: str, category_ids: Iterable[str | None]
) -> None:
    """Raise NotFound for the first category that is not the user's."""
    wanted = [c for c in dict.fromkeys(category_ids) if c is not None]
    if not wanted:
        return
    found = {
        r["category_id"]
        for r in await connection.fetch(
            "SELECT category_id FROM categories WHERE user_id = $1 AND category_id = ANY($2)",
            user_id,
            wanted,
        )
    }
    for category_id in wanted:
        if category_id not in found:
            raise NotFound("Category", f"users/{user_id}/categories/{category_id}")


async def resolve_system_accounts(
    connection: asyncpg.Connection, user_id: str, postings: Sequence[PostingDraft]
) -> tuple[PostingDraft, ...]:
    """The postings with each system role replaced by the user's account for it, created on
    first use."""
    resolved = []
    for posting in postings:
        if posting.system_role is not None:
            title, account_type = _SYSTEM_ACCOUNTS[posting.system_role]
            role, currency = posting.system_role.value, posting.currency_code
            await connection.execute(
                _ENSURE_SYSTEM_ACCOUNT,
                user_id,
                f"{title} ({currency})",
                account_type.value,
                currency,
                role,
            )
            account_id = await connection.fetchval(_SYSTEM_ACCOUNT_ID, user_id, role, currency)
            posting = replace(posting, account_id=account_id, system_role=None)
        resolved.append(posting)
    return tuple(resolved)


async def lock_accounts(
    connection: asyncpg.Connection, user_id: str, postings: Sequence[PostingDraft]
) -> dict[str, _LockedAccount]:
    """Lock every account the postings touch, in key order; check each exists, is active and
    is in the posting's currency."""
    ids = sorted({p.account_id for p in postings})
    rows = await connection.fetch(_LOCK_ACCOUNTS, user_id, ids)
    accounts = {
        r["account_id"]: _LockedAccount(
            r["account_id"],
            r["currency_code"],
            r["state"] == "archived",
            r["balance"],
            r["pending_outgoing"],
            r["credit_limit"],
        )
        for r in rows
    }
    violations = []
    for i, posting in enumerate(postings):
        account = accounts.get(posting.account_id)
        if account is None:
            raise NotFound("Account", _account_name(user_id, posting.account_id))
        if account.currency_code != posting.currency_code:
            violations.append(
                FieldViolation(
                    f"{_amount_field(posting, i)}.currency_code",
                    f"must be the account's currency {account.currency_code}",
                )
            )
    if violations:
        raise InvalidArgument(violations)
    for account in accounts.values():
        if account.archived:
            raise FailedPrecondition(
                PreconditionViolation(
                    "ACCOUNT_ARCHIVED",
                    _account_name(user_id, account.account_id),
                    "the account is archived; unarchive it to record transactions",
                )
            )
    return accounts


def _movements(postings: Iterable[PostingDraft], *, pending: bool) -> dict[str, _Movement]:
    moves: dict[str, _Movement] = defaultdict(_Movement)
    for posting in postings:
        move = moves[posting.account_id]
        if pending:
            move.pending += posting.amount
            move.outgoing += min(posting.amount, 0)
        else:
            move.posted += posting.amount
    return moves


def _check_limits(
    user_id: str, accounts: dict[str, _LockedAccount], moves: dict[str, _Movement]
) -> None:
    """Refuse a movement that takes an account further past its credit limit."""
    for account_id, move in sorted(moves.items()):
        account = accounts[account_id]
        if account.credit_limit is None:
            continue
        spends = move.posted < 0 or move.outgoing < 0
        after = account.balance + move.posted + account.pending_outgoing + move.outgoing
        if spends and after < -account.credit_limit:
            floor = format_minor(-account.credit_limit, account.currency_code)
            raise FailedPrecondition(
                PreconditionViolation(
                    "CREDIT_LIMIT_EXCEEDED",
                    _account_name(user_id, account_id),
                    f"the account's balance would be {format_minor(after, account.currency_code)}"
                    f", below its limit of {floor}",
                )
            )


async def move_balances(
    connection: asyncpg.Connection, user_id: str, moves: dict[str, _Movement]
) -> None:
    """Apply movements to locked accounts in one statement."""
    ids = sorted(moves)
    await connection.execute(
        _MOVE_BALANCES,
        user_id,
        ids,
        [moves[i].posted for i in ids],
        [moves[i].pending for i in ids],
        [moves[i].outgoing for i in ids],
    )


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
    moves = _movements(postings, pending=draft.pending)
    _check_limits(user_id, accounts, moves)
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
    held = _movements(drafts, pending=True)
    moves = {
        account_id: _Movement(
            posted=move.pending if post else 0,
            pending=-move.pending,
            outgoing=-move.outgoing,
        )
        for account_id, move in held.items()
    }
    await move_balances(connection, transaction.user_id, moves)


async def lock_accounts_unchecked(
    connection: asyncpg.Connection, user_id: str, postings: Sequence[PostingDraft]
) -> None:
    """Lock the accounts of postings already recorded, in key order."""
    await connection.fetch(_LOCK_ACCOUNTS, user_id, sorted({p.account_id for p in postings}))


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
