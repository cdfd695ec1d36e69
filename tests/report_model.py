"""The naive recount reports are checked against: every transaction the test recorded, kept in
Python, and each report summed from it by plain loops."""

import calendar
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

# Account types in the model: what the service's account types mean to reports.
HOLDING, EXPENSE, INCOME = "holding", "expense", "income"


@dataclass(frozen=True)
class Leg:
    """One posting: its account (id, type, currency), signed cents and category id."""

    account: str
    kind: str
    currency: str
    cents: int
    category: str | None


@dataclass
class Entry:
    """One recorded transaction."""

    day: date
    legs: list[Leg]
    payee: str | None = None
    posted: bool = True

    @property
    def major_amount(self) -> float:
        """The sum of its positive postings, in major units (what `amount` filters on)."""
        return sum(leg.cents for leg in self.legs if leg.cents > 0) / 100

    def categories(self) -> set[str]:
        """The categories of its postings."""
        return {leg.category for leg in self.legs if leg.category is not None}


@dataclass
class Model:
    """The books as the test recorded them, and the category tree (child -> parent)."""

    entries: list[Entry] = field(default_factory=list)
    parents: dict[str, str | None] = field(default_factory=dict)

    def counted(
        self, start: date | None, end: date, matches: Callable[[Entry], bool]
    ) -> list[Entry]:
        """Posted entries from `start` (the beginning when None) to `end` that match."""
        return [
            e
            for e in self.entries
            if e.posted and (start is None or start <= e.day) and e.day <= end and matches(e)
        ]

    def ancestors(self, category: str) -> list[str]:
        """`category` and every category above it."""
        chain: list[str] = [category]
        while (parent := self.parents.get(chain[-1])) is not None:
            chain.append(parent)
        return chain


def category_report(
    model: Model, entries: list[Entry]
) -> dict[tuple[str, str], tuple[str, int, int]]:
    """(category or "", currency) -> (parent or "", own cents, total cents) of spending."""
    own: defaultdict[tuple[str, str], int] = defaultdict(int)
    total: defaultdict[tuple[str, str], int] = defaultdict(int)
    for entry in entries:
        for leg in entry.legs:
            if leg.kind != EXPENSE:
                continue
            own[(leg.category or "", leg.currency)] += leg.cents
            for category in model.ancestors(leg.category) if leg.category else [""]:
                total[(category, leg.currency)] += leg.cents
    return {
        key: (model.parents.get(key[0]) or "", own.get(key, 0), amount)
        for key, amount in total.items()
    }


def income_expense_report(
    entries: list[Entry], start: date, end: date
) -> list[tuple[date, str, int, int]]:
    """(month, currency, income, expense) for every month of the period and currency seen."""
    sums: defaultdict[tuple[date, str], list[int]] = defaultdict(lambda: [0, 0])
    currencies = set()
    for entry in entries:
        for leg in entry.legs:
            if leg.kind in (INCOME, EXPENSE):
                currencies.add(leg.currency)
                month = entry.day.replace(day=1)
                if leg.kind == INCOME:
                    sums[(month, leg.currency)][0] -= leg.cents
                else:
                    sums[(month, leg.currency)][1] += leg.cents
    months = []
    month = start.replace(day=1)
    while month <= end:
        months.append(month)
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return [(m, c, sums[(m, c)][0], sums[(m, c)][1]) for m in months for c in sorted(currencies)]


def month_ends(start: date, end: date) -> list[date]:
    """The end of each month from `start` to `end`, `end` for the last."""
    ends = []
    month = start.replace(day=1)
    while month <= end:
        last = calendar.monthrange(month.year, month.month)[1]
        ends.append(min(month.replace(day=last), end))
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return ends


def net_worth_report(
    model: Model, start: date, end: date, matches: Callable[[Entry], bool]
) -> list[tuple[date, list[tuple[str, int]]]]:
    """Each point with its non-zero balances of holdings by currency."""
    points = []
    for point in month_ends(start, end):
        balances: defaultdict[str, int] = defaultdict(int)
        for entry in model.counted(None, point, matches):
            for leg in entry.legs:
                if leg.kind == HOLDING:
                    balances[leg.currency] += leg.cents
        points.append((point, [(c, balances[c]) for c in sorted(balances) if balances[c]]))
    return points


def cash_flow_report(entries: list[Entry]) -> dict[str, tuple[int, int]]:
    """account -> (inflow, outflow) of holdings."""
    flows: defaultdict[str, list[int]] = defaultdict(lambda: [0, 0])
    for entry in entries:
        for leg in entry.legs:
            if leg.kind == HOLDING:
                flows[leg.account][0 if leg.cents > 0 else 1] += abs(leg.cents)
    return {account: (i, o) for account, (i, o) in flows.items()}


def top_payees_report(entries: list[Entry], limit: int) -> list[tuple[str, str, int, int]]:
    """(currency, payee, spending, count) of the top `limit` payees in each currency."""
    spending: defaultdict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for entry in entries:
        if entry.payee is None:
            continue
        per_currency: defaultdict[str, int] = defaultdict(int)
        for leg in entry.legs:
            if leg.kind == EXPENSE:
                per_currency[leg.currency] += leg.cents
        for currency, cents in per_currency.items():
            totals = spending[(currency, entry.payee)]
            totals[0] += cents
            totals[1] += (cents > 0) - (cents < 0)
    rows = sorted(
        ((c, p, s, n) for (c, p), (s, n) in spending.items() if s > 0),
        key=lambda r: (r[0], -r[2], r[1]),
    )
    kept: defaultdict[str, int] = defaultdict(int)
    top = []
    for row in rows:
        kept[row[0]] += 1
        if kept[row[0]] <= limit:
            top.append(row)
    return top
