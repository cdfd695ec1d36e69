"""Recurring transactions as rows and back: a template's and a schedule's columns."""

from typing import Any

import asyncpg

from service.domain.recurring import (
    OccurrenceRecord,
    OccurrenceStatus,
    RecurringState,
    RecurringTransaction,
    Template,
    TemplateKind,
)
from service.domain.schedules import Frequency, Schedule, WeekendRule

TEMPLATE_COLUMNS = (
    "kind, account_id, amount, currency_code, to_account_id, to_amount, to_currency_code,"
    " category_id, payee_id, description, pending"
)
SCHEDULE_COLUMNS = (
    "frequency, every, start_date, end_date, occurrence_count, day_of_month, weekday, weekend"
)


def _template(row: asyncpg.Record) -> Template:
    return Template(
        kind=TemplateKind(row["kind"]),
        account_id=row["account_id"],
        amount=row["amount"],
        currency_code=row["currency_code"],
        to_account_id=row["to_account_id"],
        to_amount=row["to_amount"],
        to_currency_code=row["to_currency_code"],
        category_id=row["category_id"],
        payee_id=row["payee_id"],
        description=row["description"],
        pending=row["pending"],
    )


def _schedule(row: asyncpg.Record) -> Schedule:
    return Schedule(
        frequency=Frequency(row["frequency"]),
        start_date=row["start_date"],
        interval=row["every"],
        end_date=row["end_date"],
        count=row["occurrence_count"],
        day_of_month=row["day_of_month"],
        weekday=row["weekday"],
        weekend=WeekendRule(row["weekend"]),
    )


def recurring_from_row(row: asyncpg.Record) -> RecurringTransaction:
    return RecurringTransaction(
        user_id=row["user_id"],
        recurring_id=row["recurring_id"],
        template=_template(row),
        schedule=_schedule(row),
        state=RecurringState(row["state"]),
        handled_through=row["handled_through"],
        revision=row["revision"],
        create_time=row["create_time"],
        update_time=row["update_time"],
    )


def occurrence_from_row(row: asyncpg.Record) -> OccurrenceRecord:
    return OccurrenceRecord(
        scheduled_date=row["scheduled_date"],
        booking_date=row["booking_date"],
        status=OccurrenceStatus(row["status"]),
        transaction_id=row["transaction_id"],
        failure=row["failure"],
    )


def template_values(template: Template) -> tuple[Any, ...]:
    """The template's column values, in the order of the template's columns."""
    t = template
    return (
        t.kind.value,
        t.account_id,
        t.amount,
        t.currency_code,
        t.to_account_id,
        t.to_amount,
        t.to_currency_code,
        t.category_id,
        t.payee_id,
        t.description,
        t.pending,
    )


def schedule_values(schedule: Schedule) -> tuple[Any, ...]:
    """The schedule's column values, in the order of the schedule's columns."""
    s = schedule
    return (
        s.frequency.value,
        s.interval,
        s.start_date,
        s.end_date,
        s.count,
        s.day_of_month,
        s.weekday,
        s.weekend.value,
    )


def assignments(columns: str, values: tuple[Any, ...]) -> dict[str, object]:
    return dict(zip((c.strip() for c in columns.split(",")), values, strict=True))
