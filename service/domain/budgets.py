"""Budgets: limits per expense category and period, or envelopes filled month by month, and
the rules a budget keeps as a whole."""

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from service.domain.categories import CategoryKind
from service.domain.errors import FieldViolation, InvalidArgument, NotFound
from service.domain.keys import BudgetKey, CategoryKey
from service.domain.models import Money

MAX_LINES = 500
MAX_ASSIGNMENTS = 5000


class BudgetStyle(enum.StrEnum):
    """How a budget plans."""

    PERIOD_LIMITS = "PERIOD_LIMITS"
    ENVELOPES = "ENVELOPES"


class BudgetPeriod(enum.StrEnum):
    """How long each period of a period-limits budget is."""

    WEEK = "WEEK"
    MONTH = "MONTH"
    YEAR = "YEAR"
    CUSTOM = "CUSTOM"


class Rollover(enum.StrEnum):
    """What a period's remainder does to the next period of the same line."""

    NONE = "NONE"
    UNSPENT = "UNSPENT"
    UNSPENT_AND_OVERSPENT = "UNSPENT_AND_OVERSPENT"


@dataclass(frozen=True)
class BudgetLine:
    """A period limit: `amount` minor units of the budget's currency for `category_id` in each
    period."""

    category_id: str
    amount: Money


@dataclass(frozen=True)
class Assignment:
    """Money of an envelope budget given to `category_id` in the month starting on `month`."""

    month: date
    category_id: str
    amount: Money


@dataclass(frozen=True)
class BudgetPlan:
    """Everything a caller sets on a budget."""

    display_name: str
    style: BudgetStyle
    currency_code: str
    start_date: date
    period: BudgetPeriod | None = None
    end_date: date | None = None
    repeating: bool = False
    rollover: Rollover = Rollover.NONE
    lines: tuple[BudgetLine, ...] = ()
    assignments: tuple[Assignment, ...] = ()

    @property
    def category_ids(self) -> list[str]:
        """The categories of the lines or assignments, each once, in order of first mention."""
        named = [line.category_id for line in self.lines]
        named += [a.category_id for a in self.assignments]
        return list(dict.fromkeys(named))


@dataclass(frozen=True)
class Budget:
    """A recorded budget."""

    user_id: str
    budget_id: str
    plan: BudgetPlan
    revision: int
    create_time: datetime
    update_time: datetime

    @property
    def key(self) -> BudgetKey:
        """The key that identifies this budget."""
        return BudgetKey(self.user_id, self.budget_id)


def month_of(day: date) -> date:
    """The first day of the month of `day`."""
    return day.replace(day=1)


def check_plan(plan: BudgetPlan) -> None:
    """Raise InvalidArgument naming every field that does not fit the budget's style, and
    every repeated or negative line or assignment."""
    found = _style_violations(plan)
    found += _line_violations(plan.lines)
    found += _assignment_violations(plan.assignments, month_of(plan.start_date))
    found += _amount_violations("lines", (line.amount for line in plan.lines), plan.currency_code)
    found += _amount_violations(
        "assignments", (a.amount for a in plan.assignments), plan.currency_code
    )
    if found:
        raise InvalidArgument(found)


def _style_violations(plan: BudgetPlan) -> list[FieldViolation]:
    found = []
    if plan.style is BudgetStyle.ENVELOPES:
        unset = {
            "period": plan.period is not None,
            "end_date": plan.end_date is not None,
            "repeating": plan.repeating,
            "rollover": plan.rollover is not Rollover.NONE,
            "lines": bool(plan.lines),
        }
        found += [
            FieldViolation(field, "must be unset for envelopes; they go month by month")
            for field, is_set in unset.items()
            if is_set
        ]
        return found
    if plan.period is None:
        found.append(FieldViolation("period", "is required for period limits"))
    custom = plan.period is BudgetPeriod.CUSTOM
    if custom and plan.end_date is None:
        found.append(FieldViolation("end_date", "is required for a custom period"))
    if not custom and plan.end_date is not None:
        found.append(FieldViolation("end_date", "must be unset unless the period is custom"))
    if plan.end_date is not None and plan.end_date < plan.start_date:
        found.append(FieldViolation("end_date", "must not be before start_date"))
    if plan.rollover is not Rollover.NONE and not plan.repeating:
        found.append(FieldViolation("rollover", "needs a repeating budget"))
    if plan.assignments:
        found.append(FieldViolation("assignments", "must be empty for period limits"))
    return found


def _line_violations(lines: tuple[BudgetLine, ...]) -> list[FieldViolation]:
    found = _too_many("lines", lines, MAX_LINES)
    first: dict[str, int] = {}
    for i, line in enumerate(lines):
        j = first.setdefault(line.category_id, i)
        if j != i:
            found.append(FieldViolation(f"lines[{i}].category", f"repeats lines[{j}].category"))
    return found


def _assignment_violations(
    assignments: tuple[Assignment, ...], first_month: date
) -> list[FieldViolation]:
    found = _too_many("assignments", assignments, MAX_ASSIGNMENTS)
    first: dict[tuple[date, str], int] = {}
    for i, a in enumerate(assignments):
        if a.month < first_month:
            found.append(
                FieldViolation(f"assignments[{i}].month", "must not be before start_date's month")
            )
        j = first.setdefault((a.month, a.category_id), i)
        if j != i:
            found.append(
                FieldViolation(
                    f"assignments[{i}]", f"repeats the month and category of assignments[{j}]"
                )
            )
    return found


def _too_many(field: str, items: tuple[object, ...], limit: int) -> list[FieldViolation]:
    if len(items) > limit:
        return [FieldViolation(field, f"holds {len(items)} entries; at most {limit}")]
    return []


def _amount_violations(field: str, amounts: Iterable[Money], currency: str) -> list[FieldViolation]:
    found = []
    for i, amount in enumerate(amounts):
        if amount.currency_code != currency:
            found.append(
                FieldViolation(
                    f"{field}[{i}].amount.currency_code",
                    f"must be the budget's currency {currency}",
                )
            )
        elif amount.amount < 0:
            found.append(FieldViolation(f"{field}[{i}].amount", "must be zero or more"))
    return found


def check_categories(plan: BudgetPlan, kinds: dict[str, CategoryKind], *, user_id: str) -> None:
    """Every category a budget names is the user's (NotFound otherwise) and for expenses."""
    named = [(f"lines[{i}].category", line.category_id) for i, line in enumerate(plan.lines)]
    named += [(f"assignments[{i}].category", a.category_id) for i, a in enumerate(plan.assignments)]
    found = []
    for field, category_id in named:
        key = CategoryKey(user_id, category_id)
        kind = kinds.get(category_id)
        if kind is None:
            raise NotFound(key)
        if kind is not CategoryKind.EXPENSE:
            found.append(FieldViolation(field, "is for income; budgets plan expenses", key))
    if found:
        raise InvalidArgument(found)
