"""The accounts side of the ledger's write path: the accounts the service keeps for each user,
locks taken in key order, credit limits, and the balance movements of a transaction.

Everything here runs on a connection inside a database transaction the caller owns.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import asyncpg

from service.domain.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PreconditionViolation,
)
from service.domain.ledger import PostingDraft, SystemRole, format_minor
from service.domain.models import AccountType

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


@dataclass(frozen=True)
class LockedAccount:
    account_id: str
    currency_code: str
    archived: bool
    balance: int
    pending_outgoing: int
    credit_limit: int | None


@dataclass
class Movement:
    """How much one transaction moves an account's posted and pending figures."""

    posted: int = 0
    pending: int = 0
    outgoing: int = 0


def _account_name(user_id: str, account_id: str) -> str:
    return f"users/{user_id}/accounts/{account_id}"


def _amount_field(posting: PostingDraft, index: int) -> str:
    return posting.source_field or f"transaction.postings[{index}].amount"


async def resolve_system_accounts(
    connection: asyncpg.Connection, user_id: str, postings: Sequence[PostingDraft]
) -> tuple[PostingDraft, ...]:
    """The postings with each system role replaced by the user's account for it, created on
    first use."""
    resolved = []
    for posting in postings:
        if posting.system_role is not None:
            account_id = await _system_account(
                connection, user_id, posting.system_role, posting.currency_code
            )
            posting = replace(posting, account_id=account_id, system_role=None)
        resolved.append(posting)
    return tuple(resolved)


async def _system_account(
    connection: asyncpg.Connection, user_id: str, role: SystemRole, currency: str
) -> str:
    """The id of the user's account for `role` in `currency`. It exists after the first use,
    so it is looked up first and created (racing creators meeting on the unique index) only
    when missing."""
    account_id: str | None = await connection.fetchval(
        _SYSTEM_ACCOUNT_ID, user_id, role.value, currency
    )
    if account_id is None:
        title, account_type = _SYSTEM_ACCOUNTS[role]
        await connection.execute(
            _ENSURE_SYSTEM_ACCOUNT,
            user_id,
            f"{title} ({currency})",
            account_type.value,
            currency,
            role.value,
        )
        account_id = await connection.fetchval(_SYSTEM_ACCOUNT_ID, user_id, role.value, currency)
    assert account_id is not None
    return account_id


async def lock_accounts(
    connection: asyncpg.Connection, user_id: str, postings: Sequence[PostingDraft]
) -> dict[str, LockedAccount]:
    """Lock every account the postings touch, in key order; check each exists, is active and
    is in the posting's currency."""
    ids = sorted({p.account_id for p in postings})
    rows = await connection.fetch(_LOCK_ACCOUNTS, user_id, ids)
    accounts = {
        r["account_id"]: LockedAccount(
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


def movements(postings: Iterable[PostingDraft], *, pending: bool) -> dict[str, Movement]:
    moves: dict[str, Movement] = defaultdict(Movement)
    for posting in postings:
        move = moves[posting.account_id]
        if pending:
            move.pending += posting.amount
            move.outgoing += min(posting.amount, 0)
        else:
            move.posted += posting.amount
    return moves


def check_limits(
    user_id: str, accounts: dict[str, LockedAccount], moves: dict[str, Movement]
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
    connection: asyncpg.Connection, user_id: str, moves: dict[str, Movement]
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


async def lock_accounts_unchecked(
    connection: asyncpg.Connection, user_id: str, postings: Sequence[PostingDraft]
) -> None:
    """Lock the accounts of postings already recorded, in key order."""
    await connection.fetch(_LOCK_ACCOUNTS, user_id, sorted({p.account_id for p in postings}))
