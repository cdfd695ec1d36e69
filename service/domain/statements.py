"""Reconciliation: a statement's closing balance checked against the cleared postings of an
account, statements kept for the record, and the rules that keep reconciled postings as the
statement confirmed them."""

import enum
from dataclasses import dataclass
from datetime import date, datetime

from service.domain.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    PreconditionViolation,
)
from service.domain.keys import AccountKey, StatementKey
from service.domain.ledger import ClearingStatus, Transaction
from service.domain.models import Money
from service.domain.revisions import check_revision


class StatementState(enum.StrEnum):
    """Whether a statement's postings are reconciled by it, or were released again."""

    RECONCILED = "reconciled"
    UNRECONCILED = "unreconciled"


@dataclass(frozen=True)
class Reconciliation:
    """A request to reconcile an account against its statement of `statement_date`."""

    account: AccountKey
    statement_date: date
    closing_balance: Money
    validate_only: bool = False


@dataclass(frozen=True)
class Figures:
    """An account's statement against its books, in minor units of `currency_code`: the
    reconciled balance before it (`opening_balance`), that plus the cleared postings up to the
    statement date (`cleared_balance`), and the balance the statement shows."""

    statement_date: date
    currency_code: str
    opening_balance: int
    cleared_balance: int
    closing_balance: int
    # How many cleared postings the statement reconciles (or would).
    posting_count: int

    @property
    def difference(self) -> int:
        """What the cleared postings lack to make the closing balance; zero to reconcile."""
        return self.closing_balance - self.cleared_balance


@dataclass(frozen=True)
class Statement:
    """A statement kept for the record: the figures it was reconciled with."""

    user_id: str
    account_id: str
    statement_id: str
    figures: Figures
    state: StatementState
    revision: int
    create_time: datetime
    update_time: datetime

    @property
    def key(self) -> StatementKey:
        """The key that identifies this statement."""
        return StatementKey(self.user_id, self.account_id, self.statement_id)


@dataclass(frozen=True)
class Outcome:
    """What a reconciliation found, and the statement it stored (None when the difference is
    not zero, or it only validated)."""

    figures: Figures
    statement: Statement | None


def check_currency(reconciliation: Reconciliation, account_currency: str) -> None:
    """The closing balance is in the account's currency."""
    if reconciliation.closing_balance.currency_code != account_currency:
        raise InvalidArgument(
            [
                FieldViolation(
                    "closing_balance.currency_code",
                    f"must be the account's currency {account_currency}",
                )
            ]
        )


def check_after_latest(latest: Statement | None, statement_date: date) -> None:
    """A statement follows the account's last reconciled one: its postings up to that day
    are settled already."""
    if latest is not None and statement_date <= latest.figures.statement_date:
        raise FailedPrecondition(
            PreconditionViolation(
                "STATEMENT_DATE_NOT_AFTER_LAST",
                latest.key,
                f"the account is reconciled up to {latest.figures.statement_date.isoformat()};"
                " a new statement must be dated after it (un-reconcile that statement to redo it)",
            )
        )


def figures(
    reconciliation: Reconciliation, *, currency_code: str, reconciled: int, cleared: list[int]
) -> Figures:
    """The figures of a statement over the sum of the account's `reconciled` postings and the
    amounts of its `cleared` ones up to the statement date."""
    return Figures(
        statement_date=reconciliation.statement_date,
        currency_code=currency_code,
        opening_balance=reconciled,
        cleared_balance=reconciled + sum(cleared),
        closing_balance=reconciliation.closing_balance.amount,
        posting_count=len(cleared),
    )


def check_unreconcilable(
    statement: Statement, latest: Statement | None, expected_revision: int | None
) -> None:
    """Only the account's last reconciled statement may be un-reconciled: later statements
    start from its closing balance."""
    check_revision(statement.key, statement.revision, expected_revision)
    if statement.state is not StatementState.RECONCILED:
        raise FailedPrecondition(
            PreconditionViolation(
                "STATEMENT_NOT_RECONCILED", statement.key, "the statement is un-reconciled already"
            )
        )
    if latest is not None and latest.key != statement.key:
        raise FailedPrecondition(
            PreconditionViolation(
                "STATEMENT_NOT_LATEST",
                statement.key,
                "a later statement of the account starts from this one's closing balance;"
                " un-reconcile the later ones first",
            )
        )


def check_clearing_changes(
    transaction: Transaction, statuses: tuple[ClearingStatus | None, ...]
) -> None:
    """A reconciled posting stays reconciled until its statement is un-reconciled, and only a
    statement reconciles. `statuses` has one entry per posting (None: unchanged)."""
    for posting, status in zip(transaction.postings, statuses, strict=True):
        if status is None or status is posting.clearing_status:
            continue
        if posting.clearing_status is ClearingStatus.RECONCILED:
            raise FailedPrecondition(
                PreconditionViolation(
                    "POSTING_RECONCILED",
                    transaction.key,
                    f"posting {posting.index} is reconciled by a statement of its account;"
                    " un-reconcile that statement to change it",
                )
            )
        if status is ClearingStatus.RECONCILED:
            raise InvalidArgument.single(
                f"postings[{posting.index}].clearing_status",
                "only ReconcileAccount reconciles a posting; set CLEARING_STATUS_CLEARED",
            )
