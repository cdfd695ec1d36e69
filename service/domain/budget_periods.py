"""The periods of a budget: which days each one spans, up to the one holding a given day."""

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from service.domain.budgets import BudgetPeriod, BudgetPlan, BudgetStyle, month_of
from service.domain.errors import InvalidArgument

# How many periods a status may walk through: weekly for about 95 years.
MAX_PERIODS = 5000


@dataclass(frozen=True)
class Span:
    """The days from `start` to `end`, both included."""

    start: date
    end: date


def add_months(anchor: date, months: int) -> date:
    """`anchor` moved by `months`, on the same day of the month or the last day of a shorter
    month (counted from the anchor each time, so 31 January gives 29 February, then 31 March)."""
    index = anchor.year * 12 + anchor.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(anchor.day, last))


def period_start(plan: BudgetPlan, index: int) -> date:
    """The first day of period `index` (from 0) of a budget."""
    start = plan.start_date
    match plan.period:
        case BudgetPeriod.WEEK:
            return start + timedelta(days=7 * index)
        case BudgetPeriod.MONTH:
            return add_months(start, index)
        case BudgetPeriod.YEAR:
            return add_months(start, 12 * index)
        case BudgetPeriod.CUSTOM:
            assert plan.end_date is not None
            return start + timedelta(days=((plan.end_date - start).days + 1) * index)
        case None:  # envelopes: calendar months
            return add_months(month_of(start), index)


def spans_until(plan: BudgetPlan, as_of: date) -> list[Span]:
    """Every period from the first to the one holding `as_of`. Raises InvalidArgument on
    `as_of_date` when it is before the first period, after the only period of a budget that
    does not repeat, or more than MAX_PERIODS periods on."""
    first = period_start(plan, 0)
    if as_of < first:
        raise InvalidArgument.single(
            "as_of_date", f"is before the budget's first period, which starts on {first}"
        )
    repeats = plan.repeating or plan.style is BudgetStyle.ENVELOPES
    spans: list[Span] = []
    start = first
    while True:
        following = period_start(plan, len(spans) + 1)
        spans.append(Span(start, following - timedelta(days=1)))
        if as_of < following:
            return spans
        if not repeats:
            raise InvalidArgument.single(
                "as_of_date",
                f"is after the budget's only period, which ends on {spans[0].end}",
            )
        if len(spans) == MAX_PERIODS:
            raise InvalidArgument.single(
                "as_of_date", f"is more than {MAX_PERIODS} periods after the budget's start"
            )
        start = following
