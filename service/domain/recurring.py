"""Recurring transactions: a template (an expense, income or transfer) and a schedule, each
due occurrence of which the service records once as a real transaction."""

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime

from service.domain import movements
from service.domain.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    PreconditionViolation,
)
from service.domain.keys import RecurringTransactionKey
from service.domain.ledger import PostingDraft, TransactionDraft, check_balanced
from service.domain.schedules import (
    Occurrence,
    Schedule,
    first_after,
    occurrence_on,
    occurrences,
)


class TemplateKind(enum.StrEnum):
    """What each occurrence records."""

    EXPENSE = "expense"
    INCOME = "income"
    TRANSFER = "transfer"


class RecurringState(enum.StrEnum):
    """Whether the service records the occurrences as they fall due."""

    ACTIVE = "active"
    PAUSED = "paused"


class OccurrenceStatus(enum.StrEnum):
    """What became of an occurrence."""

    SCHEDULED = "scheduled"  # not yet due, or due and about to be recorded
    RECORDED = "recorded"  # recorded as a transaction
    SKIPPED = "skipped"  # skipped on request
    FAILED = "failed"  # due, but the ledger refused it (an archived account, a credit limit)


@dataclass(frozen=True)
class Template:
    """The transaction each occurrence records; amounts are positive minor units.

    A transfer moves `amount` out of `account_id` and `to_amount` (in `to_currency_code`;
    `amount` itself when None) into `to_account_id`; expenses and income move `amount` only.
    """

    kind: TemplateKind
    account_id: str
    amount: int
    currency_code: str
    to_account_id: str | None = None
    to_amount: int | None = None
    to_currency_code: str | None = None
    category_id: str | None = None
    payee_id: str | None = None
    description: str = ""
    pending: bool = False

    def account_ids(self) -> list[str]:
        """The accounts the template moves money in or out of, each with its currency."""
        return [a for a in (self.account_id, self.to_account_id) if a is not None]


@dataclass(frozen=True)
class RecurringTransaction:
    """A template recorded on a schedule. Occurrences scheduled up to `handled_through` are
    done with (recorded, skipped, failed, or passed while paused); `next_occurrence` is the
    first one after it, None once the schedule has ended."""

    user_id: str
    recurring_id: str
    template: Template
    schedule: Schedule
    state: RecurringState
    handled_through: date | None
    revision: int
    create_time: datetime
    update_time: datetime

    @property
    def key(self) -> RecurringTransactionKey:
        """The key that identifies this recurring transaction."""
        return RecurringTransactionKey(self.user_id, self.recurring_id)

    @property
    def next_occurrence(self) -> Occurrence | None:
        """The first occurrence not yet done with."""
        return first_after(self.schedule, self.handled_through)


@dataclass(frozen=True)
class OccurrenceRecord:
    """An occurrence done with: recorded (with its transaction), skipped or failed (why)."""

    scheduled_date: date
    booking_date: date
    status: OccurrenceStatus
    transaction_id: str | None = None
    failure: str | None = None


@dataclass(frozen=True)
class RecurringChanges:
    """A new template or schedule; None leaves one as it is. Either applies to the
    occurrences not yet done with."""

    template: Template | None = None
    schedule: Schedule | None = None


def template_draft(template: Template, booking_date: date) -> TransactionDraft:
    """The transaction an occurrence booked on `booking_date` records. Raises InvalidArgument
    naming the template's fields (`template.amount`...)."""
    base = TransactionDraft(
        booking_date,
        (),
        description=template.description,
        payee_id=template.payee_id,
        pending=template.pending,
    )
    source = PostingDraft(template.account_id, template.amount, template.currency_code)
    with in_template():
        if template.kind is TemplateKind.EXPENSE:
            draft = movements.expense_draft(source, base=base, category_id=template.category_id)
        elif template.kind is TemplateKind.INCOME:
            draft = movements.income_draft(source, base=base, category_id=template.category_id)
        else:
            assert template.to_account_id is not None
            given = template.to_amount is not None
            destination = PostingDraft(
                template.to_account_id,
                template.to_amount or template.amount,
                template.to_currency_code or template.currency_code,
            )
            draft = movements.transfer_draft(source, destination, base=base, to_amount_given=given)
        check_balanced(draft.postings, "template")
    return replace(
        draft,
        posting_fields=tuple(_in_template(f) for f in draft.posting_fields),
        implied_fields=frozenset(_in_template(f) for f in draft.implied_fields),
    )


@contextmanager
def in_template() -> Iterator[None]:
    """Re-raise InvalidArgument with its fields placed in the template (`amount` becomes
    `template.amount`)."""
    try:
        yield
    except InvalidArgument as error:
        raise InvalidArgument(
            [replace(v, field=_in_template(v.field)) for v in error.violations]
        ) from None


def _in_template(field: str) -> str:
    return field if field.startswith("template") else f"template.{field}"


def check_template(template: Template) -> None:
    """Raise InvalidArgument for a template no occurrence could record."""
    template_draft(template, date(2000, 1, 1))


def resumed_through(schedule: Schedule, handled_through: date | None, today: date) -> date | None:
    """What is done with once a paused recurring transaction resumes on `today`: every
    occurrence booked before today passed while it was paused and is not recorded."""
    for occurrence in occurrences(schedule):
        if occurrence.booking_date >= today:
            break
        if handled_through is None or occurrence.scheduled_date > handled_through:
            handled_through = occurrence.scheduled_date
    return handled_through


def check_skippable(
    recurring: RecurringTransaction, scheduled_date: date, done: OccurrenceRecord | None
) -> None:
    """Refuse to skip a day that is no occurrence of the schedule (InvalidArgument) or an
    occurrence already done with (FailedPrecondition)."""
    if done is not None or (
        recurring.handled_through is not None and scheduled_date <= recurring.handled_through
    ):
        status = "done with" if done is None else done.status.value
        raise FailedPrecondition(
            PreconditionViolation(
                "OCCURRENCE_DONE",
                recurring.key,
                f"the occurrence of {scheduled_date.isoformat()} is {status} already",
            )
        )
    if occurrence_on(recurring.schedule, scheduled_date) is None:
        raise InvalidArgument(
            [
                FieldViolation(
                    "occurrence_date",
                    f"{scheduled_date.isoformat()} is not a scheduled date of this recurring"
                    " transaction",
                )
            ]
        )
