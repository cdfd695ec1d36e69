"""Reports over a user's books: what they ask for (a period, a filter) and what they answer,
and the pure rules around them (the period's bounds, totals, converting net worth)."""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from service.domain.categories import CategoryKind
from service.domain.errors import InvalidArgument
from service.domain.exchange_rates import FoundRate, convert
from service.domain.filter_syntax import Expression
from service.domain.keys import UserKey
from service.domain.models import Money

# The longest period a report covers, in months (100 years): a bound on the months and points
# a report returns.
MAX_PERIOD_MONTHS = 1200
DEFAULT_MAX_PAYEES = 10
MAX_PAYEES = 100


def months_spanned(start: date, end: date) -> int:
    """How many calendar months the days `start` to `end` touch."""
    return (end.year - start.year) * 12 + end.month - start.month + 1


def check_period(start: date, end: date) -> None:
    """Raise InvalidArgument on `end_date` unless `start`..`end` is a period a report covers."""
    if end < start:
        raise InvalidArgument.single("end_date", "must be on or after start_date")
    if months_spanned(start, end) > MAX_PERIOD_MONTHS:
        raise InvalidArgument.single(
            "end_date", f"the period must span at most {MAX_PERIOD_MONTHS} months"
        )


@dataclass(frozen=True)
class ReportScope:
    """Whose books, which days (both included) and which transactions (a ListTransactions
    filter) a report is over. Only posted transactions ever count."""

    owner: UserKey
    start: date
    end: date
    filter: Expression | None = None


@dataclass(frozen=True)
class CategoryLine:
    """The money of one category in one currency: under the category itself, and under its
    whole subtree. `category_id` None is the money without a category."""

    category_id: str | None
    parent_id: str | None
    currency_code: str
    own: int
    total: int


@dataclass(frozen=True)
class CategoryReport:
    """Spending or income by category, per currency."""

    kind: CategoryKind
    lines: tuple[CategoryLine, ...]

    @property
    def totals(self) -> list[Money]:
        """The report's total in each currency: the sum over its top-level rows."""
        return _sums((line.currency_code, line.total) for line in self.lines if not line.parent_id)


@dataclass(frozen=True)
class MonthLine:
    """Income and expense of one month (its first day) in one currency."""

    month: date
    currency_code: str
    income: int
    expense: int

    @property
    def net(self) -> int:
        """Income less expense."""
        return self.income - self.expense


@dataclass(frozen=True)
class NetWorthPoint:
    """Net worth on one day: per currency, and converted into the asked-for currency with the
    rates found (None for a currency without one; then nothing is converted)."""

    day: date
    balances: tuple[Money, ...]
    rates: Mapping[str, FoundRate | None]
    converted: Money | None


@dataclass(frozen=True)
class CashFlowLine:
    """Money into (positive) and out of (a positive amount) one account."""

    account_id: str
    currency_code: str
    inflow: int
    outflow: int

    @property
    def net(self) -> int:
        """Inflow less outflow."""
        return self.inflow - self.outflow


@dataclass(frozen=True)
class PayeeLine:
    """What was spent at one payee in one currency, over how many transactions."""

    payee_id: str
    currency_code: str
    spending: int
    transactions: int


def convert_net_worth(
    day: date,
    balances: Sequence[Money],
    target: str | None,
    rates: Mapping[str, FoundRate | None],
) -> NetWorthPoint:
    """The point of `day`: `balances` converted into `target` at `rates` (by currency), each
    rounded to the minor unit, then added; unconverted when any rate is missing."""
    if target is None or any(
        rates.get(b.currency_code) is None for b in _foreign(balances, target)
    ):
        return NetWorthPoint(day, tuple(balances), rates, None)
    total = 0
    for balance in balances:
        found = rates.get(balance.currency_code)
        if found is None:  # the target currency itself
            total += balance.amount
        else:
            total += convert(balance.amount, balance.currency_code, target, found.rate)
    return NetWorthPoint(day, tuple(balances), rates, Money(total, target))


def _foreign(balances: Iterable[Money], target: str) -> list[Money]:
    return [b for b in balances if b.currency_code != target]


def foreign_currencies(balances: Iterable[Money], target: str) -> list[str]:
    """The currencies of `balances` other than `target`, in order, once each."""
    return sorted({b.currency_code for b in _foreign(balances, target)})


def _sums(amounts: Iterable[tuple[str, int]]) -> list[Money]:
    sums: defaultdict[str, int] = defaultdict(int)
    for currency, amount in amounts:
        sums[currency] += amount
    return [Money(sums[c], c) for c in sorted(sums)]
