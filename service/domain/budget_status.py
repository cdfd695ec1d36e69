"""The state of a budget on a day, from its spending and income per period (minor units of
the budget's currency): rollover between periods, and the envelope rule between months."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from service.domain.budget_periods import Span
from service.domain.budgets import Budget, BudgetPlan, Rollover
from service.domain.exchange_rates import ExchangeRate


@dataclass(frozen=True)
class Tally:
    """What the ledger holds for a budget: spending per (category of a line, period index)
    and income per period index, converted; the rates used and the (currency, day) pairs
    without one."""

    spent: Mapping[tuple[str, int], int]
    income: Mapping[int, int]
    rates: tuple[ExchangeRate, ...] = ()
    missing: tuple[tuple[str, date], ...] = ()


@dataclass(frozen=True)
class LineStatus:
    """One line in the period: see BudgetStatus.Line in the API."""

    category_id: str
    assigned: int
    carried_over: int
    spent: int

    @property
    def available(self) -> int:
        """What is left; negative when overspent."""
        return self.assigned + self.carried_over - self.spent


@dataclass(frozen=True)
class BudgetStatus:
    """A budget's state in the period holding `as_of`."""

    budget: Budget
    as_of: date
    period: Span
    lines: tuple[LineStatus, ...]
    income: int
    to_be_budgeted: int
    tally: Tally


def _carry(rollover: Rollover, available: int) -> int:
    """What a period's remainder adds to the next period of the same line."""
    match rollover:
        case Rollover.NONE:
            return 0
        case Rollover.UNSPENT:
            return max(available, 0)
        case Rollover.UNSPENT_AND_OVERSPENT:
            return available


def period_limits(plan: BudgetPlan, spans: list[Span], tally: Tally) -> list[LineStatus]:
    """Each line in the last of `spans`: its amount plus what rolled over, and its spending."""
    statuses = []
    for line in plan.lines:
        carry = 0
        for index in range(len(spans)):
            status = LineStatus(
                line.category_id,
                assigned=line.amount.amount + carry,
                carried_over=0,
                spent=tally.spent.get((line.category_id, index), 0),
            )
            carry = _carry(plan.rollover, status.available)
        statuses.append(status)
    return statuses


def envelopes(plan: BudgetPlan, spans: list[Span], tally: Tally) -> tuple[list[LineStatus], int]:
    """Each category's envelope in the last of `spans`, and "to be budgeted" then: positive
    leftovers carry into the same category's next month; overspending empties the envelope
    and comes out of the next month's "to be budgeted"."""
    categories = plan.category_ids
    carried = dict.fromkeys(categories, 0)
    to_be_budgeted = overspent = 0
    statuses: list[LineStatus] = []
    for index, span in enumerate(spans):
        assigned = {
            a.category_id: a.amount.amount for a in plan.assignments if a.month == span.start
        }
        to_be_budgeted += tally.income.get(index, 0) - sum(assigned.values()) - overspent
        statuses = [
            LineStatus(
                c,
                assigned=assigned.get(c, 0),
                carried_over=carried[c],
                spent=tally.spent.get((c, index), 0),
            )
            for c in categories
        ]
        carried = {s.category_id: max(s.available, 0) for s in statuses}
        overspent = sum(max(-s.available, 0) for s in statuses)
    return statuses, to_be_budgeted
