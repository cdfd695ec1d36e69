"""Validating RecurringTransactionService requests into domain commands."""

from dataclasses import dataclass
from datetime import date
from typing import Any

from finance.v1 import recurring_transaction_service_pb2 as pb
from finance.v1 import transaction_service_pb2 as tpb
from google.type import dayofweek_pb2

from service.api import names
from service.api.callers import Metadata
from service.api.dates import parse_date
from service.api.ledger_request_parts import child_id, owned, parse_owner, request_caller
from service.api.masks import update_paths
from service.api.money import parse_amount
from service.api.text import optional_text
from service.api.validation import Violations, parse_etag
from service.domain.audit import Caller
from service.domain.keys import RecurringTransactionKey, UserKey
from service.domain.recurring import RecurringChanges, Template, TemplateKind
from service.domain.schedules import Frequency, Schedule, WeekendRule

UPDATABLE = ("template", "schedule")
# Output-only fields an update mask may name (AIP-203) and that are left out.
OUTPUT_ONLY = ("state", "next_scheduled_date", "next_booking_date", "create_time", "update_time")
# The states a template may record its transactions in.
CREATABLE_STATES = (
    tpb.Transaction.STATE_UNSPECIFIED,
    tpb.Transaction.STATE_PENDING,
    tpb.Transaction.STATE_POSTED,
)
# The longest range ListUpcomingOccurrences lists.
MAX_RANGE_DAYS = 366

KINDS = {
    pb.TransactionTemplate.KIND_EXPENSE: TemplateKind.EXPENSE,
    pb.TransactionTemplate.KIND_INCOME: TemplateKind.INCOME,
    pb.TransactionTemplate.KIND_TRANSFER: TemplateKind.TRANSFER,
}
FREQUENCIES = {
    pb.Schedule.FREQUENCY_DAILY: Frequency.DAILY,
    pb.Schedule.FREQUENCY_WEEKLY: Frequency.WEEKLY,
    pb.Schedule.FREQUENCY_MONTHLY: Frequency.MONTHLY,
    pb.Schedule.FREQUENCY_YEARLY: Frequency.YEARLY,
}
WEEKEND_RULES = {
    pb.Schedule.WEEKEND_RULE_UNSPECIFIED: WeekendRule.KEEP,
    pb.Schedule.WEEKEND_RULE_KEEP: WeekendRule.KEEP,
    pb.Schedule.WEEKEND_RULE_SKIP: WeekendRule.SKIP,
    pb.Schedule.WEEKEND_RULE_FRIDAY_BEFORE: WeekendRule.BEFORE,
    pb.Schedule.WEEKEND_RULE_MONDAY_AFTER: WeekendRule.AFTER,
}


@dataclass(frozen=True)
class CreateRecurring:
    """A validated CreateRecurringTransaction request."""

    owner: UserKey
    template: Template
    schedule: Schedule
    caller: Caller


@dataclass(frozen=True)
class UpdateRecurring:
    """A validated UpdateRecurringTransaction request."""

    key: RecurringTransactionKey
    changes: RecurringChanges
    expected_revision: int | None


@dataclass(frozen=True)
class Skip:
    """A validated SkipOccurrence request."""

    key: RecurringTransactionKey
    occurrence_date: date
    expected_revision: int | None
    caller: Caller


@dataclass(frozen=True)
class Upcoming:
    """A validated ListUpcomingOccurrences request."""

    key: RecurringTransactionKey
    first: date
    last: date


def parse_create(
    request: pb.CreateRecurringTransactionRequest, metadata: Metadata | None
) -> CreateRecurring:
    """The owner, template, schedule and caller of a CreateRecurringTransaction request."""
    violations = Violations()
    owner = parse_owner(request.parent, violations)
    recurring = request.recurring_transaction
    if not request.HasField("recurring_transaction"):
        violations.add("recurring_transaction", "is required")
    template = _template(recurring, owner, violations)
    schedule = _schedule(recurring, violations)
    caller = request_caller(violations, request.request_id, metadata)
    violations.raise_if_any()
    assert owner is not None
    assert template is not None
    assert schedule is not None
    return CreateRecurring(owner, template, schedule, caller)


def parse_update(request: pb.UpdateRecurringTransactionRequest) -> UpdateRecurring:
    """The key, changes and expected revision of an UpdateRecurringTransaction request."""
    violations = Violations()
    recurring = request.recurring_transaction
    field = "recurring_transaction"
    key = violations.check(
        lambda: names.parse_recurring_transaction_name(recurring.name, f"{field}.name")
    )
    paths = update_paths(request, violations, UPDATABLE, ignored=OUTPUT_ONLY)
    owner = None if key is None else UserKey(key.user_id)
    template = _template(recurring, owner, violations) if "template" in paths else None
    schedule = _schedule(recurring, violations) if "schedule" in paths else None
    revision = violations.check(lambda: parse_etag(recurring.etag, f"{field}.etag"))
    violations.raise_if_any()
    assert key is not None
    return UpdateRecurring(key, RecurringChanges(template, schedule), revision)


def parse_skip(request: pb.SkipOccurrenceRequest, metadata: Metadata | None) -> Skip:
    """The key, occurrence date, expected revision and caller of a SkipOccurrence request."""
    violations = Violations()
    key = violations.check(lambda: names.parse_recurring_transaction_name(request.name))
    day = violations.check(
        lambda: parse_date(
            request.occurrence_date,
            "occurrence_date",
            present=request.HasField("occurrence_date"),
        )
    )
    revision = violations.check(lambda: parse_etag(request.etag))
    caller = request_caller(violations, request.request_id, metadata)
    violations.raise_if_any()
    assert key is not None
    assert day is not None
    return Skip(key, day, revision, caller)


def parse_upcoming(request: pb.ListUpcomingOccurrencesRequest) -> Upcoming:
    """The key and booking date range of a ListUpcomingOccurrences request."""
    violations = Violations()
    key = violations.check(lambda: names.parse_recurring_transaction_name(request.name))
    first = violations.check(
        lambda: parse_date(request.start_date, "start_date", present=request.HasField("start_date"))
    )
    last = violations.check(
        lambda: parse_date(request.end_date, "end_date", present=request.HasField("end_date"))
    )
    if first is not None and last is not None:
        if last < first:
            violations.add("end_date", "must not be before start_date")
        elif (last - first).days > MAX_RANGE_DAYS:
            violations.add("end_date", f"must be at most {MAX_RANGE_DAYS} days after start_date")
    violations.raise_if_any()
    assert key is not None
    assert first is not None
    assert last is not None
    return Upcoming(key, first, last)


def _template(
    recurring: pb.RecurringTransaction, owner: UserKey | None, violations: Violations
) -> Template | None:
    """The template of a request's recurring transaction, violations recorded."""
    field = "recurring_transaction.template"
    if not recurring.HasField("template"):
        violations.add(field, "is required")
        return None
    t = recurring.template
    kind = KINDS.get(t.kind)
    if kind is None:
        violations.add(f"{field}.kind", "is required: KIND_EXPENSE, KIND_INCOME or KIND_TRANSFER")
    transfer = kind is TemplateKind.TRANSFER
    account = violations.check(lambda: names.parse_account_name(t.account, f"{field}.account"))
    if account is not None:
        owned(account, owner)
    amount = _money(t, "amount", field, violations, required=True)
    destination = _destination(t, field, transfer, owner, amount, violations)
    labels = _labels(t, field, transfer, owner, violations)
    if kind is None or account is None or amount is None or labels is None:
        return None
    if transfer and destination is None:
        return None
    to_account_id, (to_amount, to_currency_code) = destination or (None, (None, None))
    return Template(
        kind,
        account.account_id,
        *amount,
        to_account_id=to_account_id,
        to_amount=to_amount,
        to_currency_code=to_currency_code,
        **labels,
    )


def _destination(
    t: pb.TransactionTemplate,
    field: str,
    transfer: bool,
    owner: UserKey | None,
    amount: tuple[int, str] | None,
    violations: Violations,
) -> tuple[str, tuple[int, str]] | None:
    """A transfer's `to_account` (required) and `to_amount` (`amount` when unset); both are
    refused on other templates."""
    to_amount = _money(t, "to_amount", field, violations, required=False)
    if not transfer:
        if t.to_account:
            violations.add(f"{field}.to_account", "is only for transfers")
        if to_amount is not None:
            violations.add(f"{field}.to_amount", "is only for transfers")
        return None
    if not t.to_account:
        violations.add(f"{field}.to_account", "is required for a transfer")
        return None
    to_account = violations.check(
        lambda: child_id(t.to_account, names.parse_account_name, owner, f"{field}.to_account")
    )
    received = to_amount or amount
    if to_account is None or received is None:
        return None
    return to_account, received


def _labels(
    t: pb.TransactionTemplate,
    field: str,
    transfer: bool,
    owner: UserKey | None,
    violations: Violations,
) -> dict[str, Any] | None:
    """The template's category, payee, description and state, as Template's fields."""
    if t.category and transfer:
        violations.add(f"{field}.category", "is not for transfers")
    category = violations.check(
        lambda: child_id(t.category, names.parse_category_name, owner, f"{field}.category")
    )
    payee = violations.check(
        lambda: child_id(t.payee, names.parse_payee_name, owner, f"{field}.payee")
    )
    description = violations.check(
        lambda: optional_text(t.description, f"{field}.description", 500)
    )
    if t.state not in CREATABLE_STATES:
        violations.add(f"{field}.state", "may only be STATE_PENDING or STATE_POSTED")
    if description is None:
        return None
    return {
        "category_id": category,
        "payee_id": payee,
        "description": description,
        "pending": t.state == tpb.Transaction.STATE_PENDING,
    }


def _money(
    t: pb.TransactionTemplate, name: str, field: str, violations: Violations, *, required: bool
) -> tuple[int, str] | None:
    if not t.HasField(name):  # type: ignore[arg-type]
        if required:
            violations.add(f"{field}.{name}", "is required")
        return None
    return violations.check(lambda: parse_amount(getattr(t, name), f"{field}.{name}"))


def _schedule(recurring: pb.RecurringTransaction, violations: Violations) -> Schedule | None:
    """The schedule of a request's recurring transaction, violations recorded (its rules are
    the domain's: `check_schedule`)."""
    field = "recurring_transaction.schedule"
    s = recurring.schedule
    if not recurring.HasField("schedule"):
        violations.add(field, "is required")
        return None
    frequency = FREQUENCIES.get(s.frequency)
    if frequency is None:
        violations.add(
            f"{field}.frequency",
            "is required: FREQUENCY_DAILY, FREQUENCY_WEEKLY, FREQUENCY_MONTHLY or FREQUENCY_YEARLY",
        )
    start = violations.check(
        lambda: parse_date(s.start_date, f"{field}.start_date", present=s.HasField("start_date"))
    )
    end = None
    if s.HasField("end_date"):
        end = violations.check(lambda: parse_date(s.end_date, f"{field}.end_date"))
    weekend = WEEKEND_RULES.get(s.weekend_rule)
    if weekend is None:
        violations.add(f"{field}.weekend_rule", "is not a weekend rule")
    weekday = None
    if s.weekday != dayofweek_pb2.DAY_OF_WEEK_UNSPECIFIED:
        if s.weekday not in dayofweek_pb2.DayOfWeek.values():
            violations.add(f"{field}.weekday", "is not a day of the week")
        weekday = s.weekday - dayofweek_pb2.MONDAY
    if frequency is None or start is None or weekend is None:
        return None
    return Schedule(
        frequency=frequency,
        start_date=start,
        interval=s.interval or 1,
        end_date=end,
        count=s.count or None,
        day_of_month=s.day_of_month or None,
        weekday=weekday,
        weekend=weekend,
    )
