"""Schedules of recurring transactions: every N days, weeks, months or years from a start
date, until an end date or for a count, with weekends kept, skipped or moved.

Each occurrence has a scheduled date (the schedule's own day, which identifies it) and a
booking date (the day it is recorded on: the scheduled date, or the weekday a weekend rule
moves it to). Pure date arithmetic, no clock.
"""

import calendar
import enum
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import count as counter

from service.domain.errors import FieldViolation, InvalidArgument

MAX_INTERVAL = 1000
MAX_COUNT = 100_000
_SATURDAY = 5


class Frequency(enum.StrEnum):
    """The unit a schedule repeats in."""

    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    YEARLY = "yearly"


class WeekendRule(enum.StrEnum):
    """What happens to an occurrence scheduled on a Saturday or Sunday."""

    KEEP = "keep"  # recorded on the weekend day
    SKIP = "skip"  # not an occurrence at all
    BEFORE = "before"  # recorded on the Friday before
    AFTER = "after"  # recorded on the Monday after


@dataclass(frozen=True)
class Schedule:
    """When a recurring transaction occurs.

    `day_of_month` (monthly, yearly) defaults to the start date's day; a day the month lacks
    means its last day (the 31st is February's 28th or 29th). `weekday` (weekly; Monday is 0)
    defaults to the start date's. Yearly schedules keep the start date's month. At most one of
    `end_date` (the last scheduled date possible) and `count` (occurrences in all) is set.
    """

    frequency: Frequency
    start_date: date
    interval: int = 1
    end_date: date | None = None
    count: int | None = None
    day_of_month: int | None = None
    weekday: int | None = None
    weekend: WeekendRule = WeekendRule.KEEP


@dataclass(frozen=True, order=True)
class Occurrence:
    """One occurrence: the day the schedule names, and the day it is booked on."""

    scheduled_date: date
    booking_date: date


def check_schedule(schedule: Schedule, field: str = "schedule") -> None:
    """Raise InvalidArgument naming each field (under `field`) a schedule cannot have."""
    found: list[FieldViolation] = []

    def bad(name: str, description: str) -> None:
        found.append(FieldViolation(f"{field}.{name}", description))

    if not 1 <= schedule.interval <= MAX_INTERVAL:
        bad("interval", f"must be between 1 and {MAX_INTERVAL}")
    if schedule.end_date is not None and schedule.count is not None:
        bad("count", "must not be set together with end_date")
    if schedule.end_date is not None and schedule.end_date < schedule.start_date:
        bad("end_date", "must not be before start_date")
    if schedule.count is not None and not 1 <= schedule.count <= MAX_COUNT:
        bad("count", f"must be between 1 and {MAX_COUNT}")
    monthly = schedule.frequency in (Frequency.MONTHLY, Frequency.YEARLY)
    if schedule.day_of_month is not None and not monthly:
        bad("day_of_month", "is only for monthly and yearly schedules")
    elif schedule.day_of_month is not None and not 1 <= schedule.day_of_month <= 31:
        bad("day_of_month", "must be between 1 and 31")
    if schedule.weekday is not None and schedule.frequency is not Frequency.WEEKLY:
        bad("weekday", "is only for weekly schedules")
    if not found and _only_weekends(schedule):
        bad("weekend", "skips every occurrence: they all fall on a weekend")
    if found:
        raise InvalidArgument(found)


def _only_weekends(schedule: Schedule) -> bool:
    """Whether every scheduled date falls on a weekend that the schedule skips (which would
    leave nothing to find but a search to the end of the calendar)."""
    if schedule.weekend is not WeekendRule.SKIP:
        return False
    if schedule.frequency is Frequency.WEEKLY:
        return _is_weekend(_first_weekly(schedule))
    if schedule.frequency is Frequency.DAILY and schedule.interval % 7 == 0:
        return _is_weekend(schedule.start_date)
    return False


def occurrences(schedule: Schedule) -> Iterator[Occurrence]:
    """Every occurrence of `schedule`, in order of scheduled (and so of booking) date."""
    made = 0
    for scheduled in _scheduled_dates(schedule):
        if schedule.end_date is not None and scheduled > schedule.end_date:
            return
        if schedule.count is not None and made >= schedule.count:
            return
        booking = _booking_date(scheduled, schedule.weekend)
        if booking is None:
            continue
        made += 1
        yield Occurrence(scheduled, booking)


def first_after(schedule: Schedule, after: date | None) -> Occurrence | None:
    """The first occurrence scheduled after `after` (the first of all when None); None when
    the schedule has ended."""
    for occurrence in occurrences(schedule):
        if after is None or occurrence.scheduled_date > after:
            return occurrence
    return None


def occurrence_on(schedule: Schedule, scheduled_date: date) -> Occurrence | None:
    """The occurrence scheduled on `scheduled_date`; None when the schedule names no
    occurrence that day."""
    for occurrence in occurrences(schedule):
        if occurrence.scheduled_date >= scheduled_date:
            return occurrence if occurrence.scheduled_date == scheduled_date else None
    return None


def booked_between(schedule: Schedule, first: date, last: date) -> Iterator[Occurrence]:
    """The occurrences booked from `first` to `last`, both included."""
    for occurrence in occurrences(schedule):
        if occurrence.booking_date > last:
            return
        if occurrence.booking_date >= first:
            yield occurrence


def _scheduled_dates(schedule: Schedule) -> Iterator[date]:
    """The schedule's dates from its start on, before end date, count and weekend rule; ends
    at the end of the calendar."""
    try:
        if schedule.frequency is Frequency.DAILY:
            step = timedelta(days=schedule.interval)
            yield from _stepping(schedule.start_date, step)
        elif schedule.frequency is Frequency.WEEKLY:
            step = timedelta(weeks=schedule.interval)
            yield from _stepping(_first_weekly(schedule), step)
        else:
            yield from _monthly(schedule)
    except (OverflowError, ValueError):
        return  # past 9999-12-31


def _stepping(first: date, step: timedelta) -> Iterator[date]:
    day = first
    while True:
        yield day
        day += step


def _first_weekly(schedule: Schedule) -> date:
    """The first day on or after the start that is the schedule's weekday."""
    start = schedule.start_date
    weekday = start.weekday() if schedule.weekday is None else schedule.weekday
    return start + timedelta(days=(weekday - start.weekday()) % 7)


def _monthly(schedule: Schedule) -> Iterator[date]:
    """Monthly (or yearly: every 12 months) dates on the schedule's day of the month, the
    month's last day where it has fewer days; days before the start are not scheduled."""
    start = schedule.start_date
    months = schedule.interval * (12 if schedule.frequency is Frequency.YEARLY else 1)
    wanted = start.day if schedule.day_of_month is None else schedule.day_of_month
    first_month = start.year * 12 + start.month - 1
    for n in counter():
        year, month0 = divmod(first_month + n * months, 12)
        last_day = calendar.monthrange(year, month0 + 1)[1]
        day = date(year, month0 + 1, min(wanted, last_day))
        if day >= start:
            yield day


def _booking_date(scheduled: date, rule: WeekendRule) -> date | None:
    """The day an occurrence scheduled on `scheduled` is booked on; None when skipped."""
    if not _is_weekend(scheduled) or rule is WeekendRule.KEEP:
        return scheduled
    if rule is WeekendRule.SKIP:
        return None
    if rule is WeekendRule.BEFORE:
        return scheduled - timedelta(days=scheduled.weekday() - 4)
    return scheduled + timedelta(days=7 - scheduled.weekday())


def _is_weekend(day: date) -> bool:
    return day.weekday() >= _SATURDAY
