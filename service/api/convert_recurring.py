"""Recurring transactions and their occurrences -> protobuf messages."""

from finance.v1 import recurring_transaction_service_pb2 as pb
from finance.v1 import transaction_service_pb2 as tpb
from google.type import dayofweek_pb2

from service.api import names
from service.api.convert import timestamp
from service.api.dates import to_proto_date
from service.api.money import to_money
from service.api.recurring_parts import FREQUENCIES, KINDS
from service.api.validation import format_etag
from service.domain.keys import AccountKey, CategoryKey, PayeeKey, TransactionKey
from service.domain.recurring import (
    OccurrenceRecord,
    OccurrenceStatus,
    RecurringState,
    RecurringTransaction,
    Template,
)
from service.domain.schedules import Schedule, WeekendRule

_KINDS = {kind: value for value, kind in KINDS.items()}
_FREQUENCIES = {frequency: value for value, frequency in FREQUENCIES.items()}
_WEEKEND_RULES = {
    WeekendRule.KEEP: pb.Schedule.WEEKEND_RULE_KEEP,
    WeekendRule.SKIP: pb.Schedule.WEEKEND_RULE_SKIP,
    WeekendRule.BEFORE: pb.Schedule.WEEKEND_RULE_FRIDAY_BEFORE,
    WeekendRule.AFTER: pb.Schedule.WEEKEND_RULE_MONDAY_AFTER,
}
_STATES = {
    RecurringState.ACTIVE: pb.RecurringTransaction.STATE_ACTIVE,
    RecurringState.PAUSED: pb.RecurringTransaction.STATE_PAUSED,
}
_OCCURRENCE_STATES = {
    OccurrenceStatus.SCHEDULED: pb.Occurrence.STATE_SCHEDULED,
    OccurrenceStatus.RECORDED: pb.Occurrence.STATE_RECORDED,
    OccurrenceStatus.SKIPPED: pb.Occurrence.STATE_SKIPPED,
    OccurrenceStatus.FAILED: pb.Occurrence.STATE_FAILED,
}


def recurring_to_proto(recurring: RecurringTransaction) -> pb.RecurringTransaction:
    """The API form of a recurring transaction."""
    message = pb.RecurringTransaction(
        name=names.resource_name(recurring.key),
        template=_template(recurring.user_id, recurring.template),
        schedule=_schedule(recurring.schedule),
        state=_STATES[recurring.state],
        create_time=timestamp(recurring.create_time),
        update_time=timestamp(recurring.update_time),
        etag=format_etag(recurring.revision),
    )
    upcoming = recurring.next_occurrence
    if upcoming is not None:
        message.next_scheduled_date.CopyFrom(to_proto_date(upcoming.scheduled_date))
        message.next_booking_date.CopyFrom(to_proto_date(upcoming.booking_date))
    return message


def _template(user_id: str, t: Template) -> pb.TransactionTemplate:
    message = pb.TransactionTemplate(
        kind=_KINDS[t.kind],
        account=names.resource_name(AccountKey(user_id, t.account_id)),
        amount=to_money(t.amount, t.currency_code),
        description=t.description,
        state=tpb.Transaction.STATE_PENDING if t.pending else tpb.Transaction.STATE_POSTED,
    )
    if t.to_account_id is not None:
        message.to_account = names.resource_name(AccountKey(user_id, t.to_account_id))
    if t.to_amount is not None and t.to_currency_code is not None:
        message.to_amount.CopyFrom(to_money(t.to_amount, t.to_currency_code))
    if t.category_id is not None:
        message.category = names.resource_name(CategoryKey(user_id, t.category_id))
    if t.payee_id is not None:
        message.payee = names.resource_name(PayeeKey(user_id, t.payee_id))
    return message


def _schedule(s: Schedule) -> pb.Schedule:
    message = pb.Schedule(
        frequency=_FREQUENCIES[s.frequency],
        interval=s.interval,
        start_date=to_proto_date(s.start_date),
        count=s.count or 0,
        day_of_month=s.day_of_month or 0,
        weekend_rule=_WEEKEND_RULES[s.weekend],
    )
    if s.end_date is not None:
        message.end_date.CopyFrom(to_proto_date(s.end_date))
    if s.weekday is not None:
        message.weekday = dayofweek_pb2.DayOfWeek.ValueType(s.weekday + dayofweek_pb2.MONDAY)
    return message


def occurrence_to_proto(user_id: str, occurrence: OccurrenceRecord) -> pb.Occurrence:
    """The API form of an occurrence of a recurring transaction of `user_id`."""
    return pb.Occurrence(
        scheduled_date=to_proto_date(occurrence.scheduled_date),
        booking_date=to_proto_date(occurrence.booking_date),
        state=_OCCURRENCE_STATES[occurrence.status],
        transaction=""
        if occurrence.transaction_id is None
        else names.resource_name(TransactionKey(user_id, occurrence.transaction_id)),
        failure_reason=occurrence.failure or "",
    )
