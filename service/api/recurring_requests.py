"""Validating RecurringTransactionService requests into domain commands."""

from dataclasses import dataclass
from datetime import date

from finance.v1 import recurring_transaction_service_pb2 as pb

from service.api import names
from service.api.callers import Metadata
from service.api.dates import parse_date
from service.api.ledger_request_parts import parse_owner, request_caller
from service.api.masks import update_paths
from service.api.recurring_parts import parse_schedule, parse_template
from service.api.validation import Violations, parse_etag
from service.domain.audit import Caller
from service.domain.keys import RecurringTransactionKey, UserKey
from service.domain.recurring import RecurringChanges, Template
from service.domain.schedules import Schedule

UPDATABLE = ("template", "schedule")
# Output-only fields an update mask may name (AIP-203) and that are left out.
OUTPUT_ONLY = ("state", "next_scheduled_date", "next_booking_date", "create_time", "update_time")
# The longest range ListUpcomingOccurrences lists.
MAX_RANGE_DAYS = 366


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
    template = parse_template(recurring, owner, violations)
    schedule = parse_schedule(recurring, violations)
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
    template = parse_template(recurring, owner, violations) if "template" in paths else None
    schedule = parse_schedule(recurring, violations) if "schedule" in paths else None
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
