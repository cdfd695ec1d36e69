"""Transactions and postings, and the double-entry rules every transaction obeys."""

import enum
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from service.domain import currencies
from service.domain.categories import CategoryKind
from service.domain.errors import FieldViolation, InvalidArgument
from service.domain.keys import TransactionKey

MAX_POSTINGS = 100


class TransactionState(enum.StrEnum):
    """Where a transaction is in its life (two-phase: pending, then posted or voided)."""

    PENDING = "pending"
    POSTED = "posted"
    VOIDED = "voided"


class ClearingStatus(enum.StrEnum):
    """Whether a posting is confirmed by the bank: recorded only (uncleared), seen on the
    bank's side (cleared), or confirmed by a statement's closing balance (reconciled)."""

    UNCLEARED = "uncleared"
    CLEARED = "cleared"
    RECONCILED = "reconciled"


class SystemRole(enum.StrEnum):
    """The accounts the service keeps for each user, one per role and currency."""

    EXPENSE = "expense"
    INCOME = "income"
    TRADING = "trading"
    OPENING = "opening"


# The title and account type of each system account.
SYSTEM_ACCOUNTS = {
    SystemRole.EXPENSE: ("Expenses", "expense"),
    SystemRole.INCOME: ("Income", "income"),
    SystemRole.TRADING: ("Currency trading", "equity"),
    SystemRole.OPENING: ("Opening balances", "equity"),
}


@dataclass(frozen=True)
class PostingDraft:
    """One leg of a transaction to record: signed minor units of the account's currency."""

    account_id: str
    amount: int
    currency_code: str
    category_id: str | None = None
    memo: str = ""
    # Set for the counterpart the service keeps for the user; account_id is then ignored.
    system_role: SystemRole | None = None
    # Uncleared or cleared: only a statement reconciles.
    clearing_status: ClearingStatus = ClearingStatus.UNCLEARED


@dataclass(frozen=True)
class TransactionDraft:
    """A transaction to record; `postings` must balance per currency."""

    booking_date: date
    postings: tuple[PostingDraft, ...]
    description: str = ""
    payee_id: str | None = None
    notes: str = ""
    tags: tuple[str, ...] = ()
    external_id: str | None = None
    pending: bool = False
    exchange_rate: Decimal | None = None
    # The field of the command each posting's amount came from, for error details, when the
    # command is not a list of postings (a transfer's `amount` and `to_amount`).
    posting_fields: tuple[str, ...] = ()
    # Whether the service wrote the postings (a reversal repeats the system accounts of the
    # original); a caller's own postings may not name most system accounts.
    system_postings: bool = False
    # Fields of the command the caller left out, whose values the command implied.
    implied_fields: frozenset[str] = frozenset()
    # The kind every category of the transaction must be, when the command says (an expense
    # is filed under expense categories); None when categories of both kinds may mix.
    category_kind: CategoryKind | None = None

    @property
    def state(self) -> "TransactionState":
        """The state the transaction is recorded in."""
        return TransactionState.PENDING if self.pending else TransactionState.POSTED

    def recorded(
        self,
        key: TransactionKey,
        *,
        reverses_id: str | None,
        revision: int,
        create_time: datetime,
        update_time: datetime,
    ) -> "Transaction":
        """The transaction this draft became once written under `key`."""
        return Transaction(
            user_id=key.user_id,
            transaction_id=key.transaction_id,
            booking_date=self.booking_date,
            description=self.description,
            payee_id=self.payee_id,
            notes=self.notes,
            tags=self.tags,
            external_id=self.external_id,
            state=self.state,
            postings=tuple(
                Posting(
                    i,
                    p.account_id,
                    p.amount,
                    p.currency_code,
                    p.category_id,
                    p.memo,
                    clearing_status=p.clearing_status,
                )
                for i, p in enumerate(self.postings)
            ),
            reverses_id=reverses_id,
            reversed_by_id=None,
            exchange_rate=self.exchange_rate,
            revision=revision,
            create_time=create_time,
            update_time=update_time,
        )

    def amount_field(self, index: int) -> str:
        """The command field that holds the amount of posting `index`."""
        if index < len(self.posting_fields):
            return self.posting_fields[index]
        return f"postings[{index}].amount"


@dataclass(frozen=True)
class Posting:
    """A recorded leg of a transaction."""

    index: int
    account_id: str
    amount: int
    currency_code: str
    category_id: str | None
    memo: str
    clearing_status: ClearingStatus = ClearingStatus.UNCLEARED
    # The statement (of the posting's account) that reconciled it, while it is reconciled.
    statement_id: str | None = None


@dataclass(frozen=True)
class Transaction:
    """A recorded transaction with its postings."""

    user_id: str
    transaction_id: str
    booking_date: date
    description: str
    payee_id: str | None
    notes: str
    tags: tuple[str, ...]
    external_id: str | None
    state: TransactionState
    postings: tuple[Posting, ...]
    reverses_id: str | None
    reversed_by_id: str | None
    exchange_rate: Decimal | None
    revision: int
    create_time: datetime
    update_time: datetime

    @property
    def key(self) -> TransactionKey:
        """The key that identifies this transaction."""
        return TransactionKey(self.user_id, self.transaction_id)

    def with_state(self, state: TransactionState, *, revision: int, at: datetime) -> "Transaction":
        """This transaction moved to `state` at `at`, with a new revision."""
        return replace(self, state=state, revision=revision, update_time=at)


@dataclass(frozen=True)
class TransactionChanges:
    """New descriptive values for a transaction; None leaves a field as it is.

    `categories`, `memos` and `clearing_statuses`, when given, hold one entry per posting, in
    posting order.
    """

    description: str | None = None
    change_payee: bool = False
    payee_id: str | None = None
    notes: str | None = None
    tags: tuple[str, ...] | None = None
    categories: tuple[str | None, ...] | None = None
    memos: tuple[str, ...] | None = None
    # None in the tuple leaves that posting's status as it is.
    clearing_statuses: tuple[ClearingStatus | None, ...] | None = None


def check_balanced(postings: Iterable[PostingDraft], field: str = "postings") -> None:
    """Raise InvalidArgument unless there are 2 to MAX_POSTINGS non-zero postings summing to
    zero in each currency, and no account is both paid into and out of (money moved from an
    account to itself)."""
    postings = list(postings)
    violations = []
    signs: dict[str, set[bool]] = defaultdict(set)
    if not 2 <= len(postings) <= MAX_POSTINGS:
        violations.append(FieldViolation(field, f"needs 2 to {MAX_POSTINGS} postings"))
    totals: dict[str, int] = defaultdict(int)
    for i, posting in enumerate(postings):
        if posting.amount == 0:
            violations.append(FieldViolation(f"{field}[{i}].amount", "must not be zero"))
        elif posting.system_role is None:
            signs[posting.account_id].add(posting.amount > 0)
            if len(signs[posting.account_id]) == 2:
                violations.append(
                    FieldViolation(
                        f"{field}[{i}].account",
                        "is paid into and out of in one transaction; money cannot move from"
                        " an account to itself",
                    )
                )
        totals[posting.currency_code] += posting.amount
    for currency, total in sorted(totals.items()):
        if total != 0:
            violations.append(
                FieldViolation(
                    field,
                    f"{currency} postings sum to {format_minor(total, currency)}, not zero;"
                    " every transaction must balance in each currency",
                )
            )
    if violations:
        raise InvalidArgument(violations)


def format_minor(amount: int, currency_code: str) -> str:
    """`amount` minor units as a decimal string with the currency code ("-12.50 EUR")."""
    digits = currencies.minor_digits(currency_code)
    return f"{Decimal(amount).scaleb(-digits):.{digits}f} {currency_code}"


def major_units(amount: int, currency_code: str) -> Decimal:
    """`amount` minor units in major units, exactly (1250 EUR cents -> 12.50)."""
    return Decimal(amount).scaleb(-currencies.minor_digits(currency_code))
