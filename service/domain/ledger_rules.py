"""The ledger's rules over data the repositories loaded: which accounts a transaction may
touch, credit limits, how balances change, and the life of a transaction (pending, posted,
voided, reversed)."""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from service.domain.categories import CategoryKind
from service.domain.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PreconditionViolation,
)
from service.domain.keys import AccountKey, CategoryKey, TransactionKey
from service.domain.ledger import (
    PostingDraft,
    SystemRole,
    Transaction,
    TransactionDraft,
    TransactionState,
    format_minor,
)
from service.domain.revisions import check_revision

# The most an account's postings may add up to in absolute value: the largest 64-bit integer,
# so that no balance of it, as of any day, can overflow.
MAX_VOLUME = 2**63 - 1


@dataclass(frozen=True)
class LedgerAccount:
    """What the ledger needs to know of an account it writes to, read under a lock."""

    key: AccountKey
    currency_code: str
    archived: bool
    balance: int
    pending_outgoing: int
    credit_limit: int | None
    system_role: SystemRole | None = None
    volume: int = 0


@dataclass
class BalanceChange:
    """How much one transaction changes an account's posted and pending figures, and its
    volume (the sum of the absolute amounts of its postings)."""

    posted: int = 0
    pending: int = 0
    outgoing: int = 0
    volume: int = 0


def check_postable(
    draft: TransactionDraft,
    accounts: Mapping[str, LedgerAccount],
    *,
    user_id: str,
    named: set[str],
) -> None:
    """Check that every posting's account exists, is in the posting's currency and is
    active, and that the accounts the caller `named` are not ones only the service posts to.
    Raises NotFound, InvalidArgument or FailedPrecondition."""
    violations = []
    for i, posting in enumerate(draft.postings):
        account = accounts.get(posting.account_id)
        if account is None:
            raise NotFound(AccountKey(user_id, posting.account_id))
        field = draft.amount_field(i)
        if account.currency_code != posting.currency_code:
            if field in draft.implied_fields:
                violation = FieldViolation(field, "is required when the currencies differ")
            else:
                violation = FieldViolation(
                    f"{field}.currency_code",
                    f"must be the account's currency {account.currency_code}",
                )
            if violation not in violations:
                violations.append(violation)
    if violations:
        raise InvalidArgument(violations)
    if not draft.system_postings:
        _check_not_kept_by_the_service(a for a in accounts.values() if a.key.account_id in named)
    for account in sorted(accounts.values(), key=lambda a: a.key.account_id):
        if account.archived:
            raise FailedPrecondition(
                PreconditionViolation(
                    "ACCOUNT_ARCHIVED",
                    account.key,
                    "the account is archived; unarchive it to record transactions",
                )
            )


# The system accounts a caller's own postings may name: split expenses and income.
CALLER_POSTABLE_ROLES = frozenset({SystemRole.EXPENSE, SystemRole.INCOME})


def _check_not_kept_by_the_service(accounts: Iterable[LedgerAccount]) -> None:
    for account in sorted(accounts, key=lambda a: a.key.account_id):
        if account.system_role is not None and account.system_role not in CALLER_POSTABLE_ROLES:
            raise FailedPrecondition(
                PreconditionViolation(
                    "SYSTEM_ACCOUNT",
                    account.key,
                    f"the service keeps this {account.system_role.value} account; only it"
                    " posts to it",
                )
            )


def check_category_kinds(
    draft: TransactionDraft, kinds: Mapping[str, CategoryKind], *, user_id: str
) -> None:
    """An expense is filed under expense categories and income under income ones."""
    wanted = draft.category_kind
    for posting in draft.postings:
        kind = None if posting.category_id is None else kinds.get(posting.category_id)
        if wanted is not None and kind is not None and kind is not wanted:
            assert posting.category_id is not None
            raise InvalidArgument(
                [
                    FieldViolation(
                        "category",
                        f"is for {kind.value}; this needs a category for {wanted.value}",
                        subject=CategoryKey(user_id, posting.category_id),
                    )
                ]
            )


def balance_changes(postings: Iterable[PostingDraft], *, pending: bool) -> dict[str, BalanceChange]:
    """The change of each account's figures when `postings` are recorded (as pending or
    posted)."""
    changes: dict[str, BalanceChange] = defaultdict(BalanceChange)
    for posting in postings:
        change = changes[posting.account_id]
        change.volume += abs(posting.amount)
        if pending:
            change.pending += posting.amount
            change.outgoing += min(posting.amount, 0)
        else:
            change.posted += posting.amount
    return dict(changes)


def check_limits(
    accounts: Mapping[str, LedgerAccount], changes: Mapping[str, BalanceChange]
) -> None:
    """Refuse a change that takes an account further past its credit limit (the posted
    balance plus pending spending must stay at or above minus the limit), or its volume past
    MAX_VOLUME."""
    for account_id, change in sorted(changes.items()):
        account = accounts[account_id]
        if account.volume + change.volume > MAX_VOLUME:
            raise FailedPrecondition(
                PreconditionViolation(
                    "ACCOUNT_VOLUME_EXCEEDED",
                    account.key,
                    "the account's amounts would pass the largest sum the books can hold"
                    f" ({format_minor(MAX_VOLUME, account.currency_code)} in all)",
                )
            )
        if account.credit_limit is None:
            continue
        spends = change.posted < 0 or change.outgoing < 0
        after = account.balance + change.posted + account.pending_outgoing + change.outgoing
        if spends and after < -account.credit_limit:
            floor = format_minor(-account.credit_limit, account.currency_code)
            raise FailedPrecondition(
                PreconditionViolation(
                    "CREDIT_LIMIT_EXCEEDED",
                    account.key,
                    f"the account's balance would be {format_minor(after, account.currency_code)}"
                    f", below its limit of {floor}",
                )
            )


def settlement_changes(transaction: Transaction, *, post: bool) -> dict[str, BalanceChange]:
    """The changes that move a pending transaction's amounts to the posted balances (post) or
    drop them (void)."""
    drafts = [PostingDraft(p.account_id, p.amount, p.currency_code) for p in transaction.postings]
    return {
        # The volume was counted when the transaction was recorded.
        account_id: BalanceChange(
            posted=held.pending if post else 0, pending=-held.pending, outgoing=-held.outgoing
        )
        for account_id, held in balance_changes(drafts, pending=True).items()
    }


def check_settleable(transaction: Transaction, expected_revision: int | None) -> None:
    """A transaction may be posted or voided only while pending, at the expected revision."""
    check_revision(transaction.key, transaction.revision, expected_revision)
    if transaction.state is not TransactionState.PENDING:
        raise _precondition("TRANSACTION_NOT_PENDING", transaction.key, "is not pending")


def check_reversible(transaction: Transaction) -> None:
    """Only a posted transaction that is no reversal and is not reversed yet may be reversed."""
    if transaction.state is not TransactionState.POSTED:
        raise _precondition(
            "TRANSACTION_NOT_POSTED", transaction.key, "is not posted; void a pending one instead"
        )
    if transaction.reversed_by_id is not None:
        raise _precondition("TRANSACTION_ALREADY_REVERSED", transaction.key, "is already reversed")
    if transaction.reverses_id is not None:
        raise _precondition(
            "TRANSACTION_IS_REVERSAL", transaction.key, "is a reversal; record the original again"
        )


def reversal_draft(
    original: Transaction, *, booking_date: date | None, reason: str
) -> TransactionDraft:
    """The transaction that undoes `original`: the same postings with opposite amounts, on
    `booking_date` (the original's day by default)."""
    return TransactionDraft(
        system_postings=True,
        booking_date=booking_date or original.booking_date,
        postings=tuple(
            PostingDraft(p.account_id, -p.amount, p.currency_code, p.category_id, p.memo)
            for p in original.postings
        ),
        description=reason or f"Reversal of {original.description}".strip(),
        payee_id=original.payee_id,
        tags=original.tags,
    )


def check_posting_changes(transaction: Transaction, count: int | None, field: str) -> None:
    """Per-posting changes must list every posting of the transaction, in order."""
    expected = len(transaction.postings)
    if count is not None and count != expected:
        raise InvalidArgument.single(
            "postings", f"must list all {expected} postings to change their {field}"
        )


def _precondition(kind: str, key: TransactionKey, problem: str) -> FailedPrecondition:
    return FailedPrecondition(PreconditionViolation(kind, key, f"the transaction {problem}"))
