"""GetBudgetStatus against a naive recount: random category trees, expenses (some pending, some
reversed), income and budgets of both styles, made through the API, and each status compared
with the same figures counted posting by posting in Python."""

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from finance.v1 import account_service_pb2 as apb
from finance.v1 import budget_service_pb2 as bpb
from finance.v1 import transaction_service_pb2 as tpb
from google.type import date_pb2, money_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.budget_builders import Planner, units
from tests.builders import EXPENSE, INCOME, create_account, create_category, create_user
from tests.resources import Clients

START = date(2024, 1, 1)
DAYS = 75  # January to mid-March
CATEGORIES = 4


@dataclass(frozen=True)
class Booking:
    """An expense (category index) or income (None) of `cents` on day `day`; `state` says
    whether it stays pending, is posted, or is posted and reversed `reversed_after` days on."""

    day: int
    category: int | None
    cents: int
    state: str
    reversed_after: int


@dataclass(frozen=True)
class Scenario:
    parents: list[int | None]  # each category's parent, an earlier index
    style: str
    period: str
    rollover: str  # a Budget.Rollover without its prefix
    lines: dict[int, int]  # category -> cents (period limits)
    assignments: dict[tuple[int, int], int]  # (month 1..3, category) -> cents (envelopes)
    bookings: list[Booking]
    as_of: int


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    parents = [
        draw(st.one_of(st.none(), st.integers(0, i - 1))) if i else None for i in range(CATEGORIES)
    ]
    style = draw(st.sampled_from(["limits", "envelopes"]))
    cents = st.integers(0, 5000)
    lines = draw(st.dictionaries(st.integers(0, CATEGORIES - 1), cents, min_size=1))
    assignments = draw(
        st.dictionaries(
            st.tuples(st.integers(1, 3), st.integers(0, CATEGORIES - 1)), cents, min_size=1
        )
    )
    bookings = draw(
        st.lists(
            st.builds(
                Booking,
                day=st.integers(0, DAYS - 1),
                category=st.one_of(st.none(), st.integers(0, CATEGORIES - 1)),
                cents=st.integers(1, 4000),
                state=st.sampled_from(["posted", "posted", "pending", "reversed"]),
                reversed_after=st.integers(0, 20),
            ),
            max_size=12,
        )
    )
    return Scenario(
        parents=parents,
        style=style,
        period=draw(st.sampled_from(["WEEK", "MONTH"])),
        rollover=draw(st.sampled_from(["NONE", "UNSPENT", "UNSPENT_AND_OVERSPENT"])),
        lines=lines,
        assignments=assignments,
        bookings=bookings,
        as_of=draw(st.integers(0, DAYS - 1)),
    )


def _date(d: date) -> date_pb2.Date:
    return date_pb2.Date(year=d.year, month=d.month, day=d.day)


# ---- The naive recount: every figure from the list of bookings, one at a time. ----


def _periods(s: Scenario, as_of: date) -> list[tuple[date, date]]:
    """The periods up to the one holding `as_of`: calendar months for envelopes."""
    spans = []
    start = START
    while start <= as_of:
        if s.style == "limits" and s.period == "WEEK":
            end = start + timedelta(days=6)
        else:
            end = (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        spans.append((start, end))
        start = end + timedelta(days=1)
    return spans


def _line_of(s: Scenario, category: int, budgeted: set[int]) -> int | None:
    """The budgeted category a category's spending counts toward: itself or the nearest
    ancestor with a line."""
    current: int | None = category
    while current is not None and current not in budgeted:
        current = s.parents[current]
    return current


def _movements(s: Scenario) -> list[tuple[date, int | None, int]]:
    """(day, category or None for income, signed cents) of every posted movement."""
    moves = []
    for b in s.bookings:
        if b.state == "pending":
            continue
        day = START + timedelta(days=b.day)
        moves.append((day, b.category, b.cents))
        if b.state == "reversed":
            moves.append((day + timedelta(days=b.reversed_after), b.category, -b.cents))
    return moves


def _spent(s: Scenario, budgeted: set[int], span: tuple[date, date], line: int) -> int:
    return sum(
        cents
        for day, category, cents in _movements(s)
        if category is not None
        and span[0] <= day <= span[1]
        and _line_of(s, category, budgeted) == line
    )


def _recount(s: Scenario) -> tuple[dict[int, tuple[int, int, int]], int, int]:
    """Per category (assigned, carried_over, spent), the income and "to be budgeted" of the
    period holding `as_of`."""
    as_of = START + timedelta(days=s.as_of)
    spans = _periods(s, as_of)
    spans[-1] = (spans[-1][0], as_of)
    if s.style == "limits":
        result = {}
        for category, amount in s.lines.items():
            carry = 0
            for span in spans:
                spent = _spent(s, set(s.lines), span, category)
                assigned = amount + carry
                left = assigned - spent
                carry = {"NONE": 0, "UNSPENT": max(left, 0), "UNSPENT_AND_OVERSPENT": left}[
                    s.rollover
                ]
            result[category] = (assigned, 0, spent)
        return result, 0, 0
    budgeted = {c for _, c in s.assignments}
    carried = dict.fromkeys(budgeted, 0)
    to_be_budgeted = overspent = income = 0
    envelopes: dict[int, tuple[int, int, int]] = {}
    for month, span in enumerate(spans, start=1):
        income = sum(
            c for day, cat, c in _movements(s) if cat is None and span[0] <= day <= span[1]
        )
        given = {c: s.assignments.get((month, c), 0) for c in budgeted}
        to_be_budgeted += income - sum(given.values()) - overspent
        envelopes = {c: (given[c], carried[c], _spent(s, budgeted, span, c)) for c in budgeted}
        remaining = {c: a + k - sp for c, (a, k, sp) in envelopes.items()}
        carried = {c: max(v, 0) for c, v in remaining.items()}
        overspent = sum(max(-v, 0) for v in remaining.values())
    return envelopes, income, to_be_budgeted


# ---- The same scenario through the API. ----


def _cents(value: int) -> money_pb2.Money:
    """`value` EUR cents (signed)."""
    units, rest = divmod(abs(value), 100)
    sign = -1 if value < 0 else 1
    return money_pb2.Money(currency_code="EUR", units=sign * units, nanos=sign * rest * 10**7)


@dataclass(frozen=True)
class Ledger:
    """The user's accounts and categories the bookings go to."""

    checking: str
    card: str  # an account of type expense, for pending expenses
    categories: list[str]
    salary: str


async def _build(s: Scenario, c: Clients) -> tuple[Planner, bpb.Budget, list[str]]:
    user = (await create_user(c.users, "Recount")).name
    planner = Planner(user, c.budgets, c.transactions)
    categories: list[str] = []
    for parent in s.parents:
        under = "" if parent is None else categories[parent]
        name = f"C{len(categories)}"
        categories.append((await create_category(c.categories, user, name, EXPENSE, under)).name)
    ledger = Ledger(
        checking=(await create_account(c.accounts, user)).name,
        card=(await create_account(c.accounts, user, type=apb.Account.TYPE_EXPENSE)).name,
        categories=categories,
        salary=(await create_category(c.categories, user, "Salary", INCOME)).name,
    )
    for b in s.bookings:
        await _book(planner, ledger, b)
    return planner, await planner.create(_budget(s, categories)), categories


async def _book(planner: Planner, ledger: Ledger, b: Booking) -> None:
    on = _date(START + timedelta(days=b.day))
    if b.state == "pending":
        if b.category is not None:
            await _pending_expense(planner, ledger, b, on)
        return
    if b.category is None:
        booked = await planner.earn(ledger.checking, ledger.salary, _cents(b.cents), on)
    else:
        category = ledger.categories[b.category]
        booked = await planner.spend(ledger.checking, category, _cents(b.cents), on)
    if b.state == "reversed":
        await planner.reverse(booked, _date(START + timedelta(days=b.day + b.reversed_after)))


async def _pending_expense(planner: Planner, ledger: Ledger, b: Booking, on: date_pb2.Date):
    assert b.category is not None
    postings = [
        tpb.Posting(account=ledger.checking, amount=_cents(-b.cents)),
        tpb.Posting(
            account=ledger.card, amount=_cents(b.cents), category=ledger.categories[b.category]
        ),
    ]
    transaction = tpb.Transaction(
        booking_date=on, state=tpb.Transaction.STATE_PENDING, postings=postings
    )
    await planner.transactions.CreateTransaction(
        tpb.CreateTransactionRequest(parent=planner.user, transaction=transaction)
    )


def _budget(s: Scenario, categories: list[str]) -> bpb.Budget:
    common: dict[str, Any] = {
        "display_name": "Recount",
        "currency_code": "EUR",
        "start_date": _date(START),
    }
    if s.style == "limits":
        return bpb.Budget(
            style=bpb.Budget.STYLE_PERIOD_LIMITS,
            period=bpb.Budget.Period.Value(f"PERIOD_{s.period}"),
            repeating=True,
            rollover=bpb.Budget.Rollover.Value(f"ROLLOVER_{s.rollover}"),
            lines=[
                bpb.Budget.Line(category=categories[c], amount=_cents(v))
                for c, v in s.lines.items()
            ],
            **common,
        )
    return bpb.Budget(
        style=bpb.Budget.STYLE_ENVELOPES,
        assignments=[
            bpb.Budget.Assignment(
                month=date_pb2.Date(year=2024, month=m), category=categories[c], amount=_cents(v)
            )
            for (m, c), v in s.assignments.items()
        ],
        **common,
    )


@settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scenario=scenarios())
async def test_status_matches_a_naive_recount(clients, scenario):
    planner, budget, names = await _build(scenario, clients)
    status = await planner.status(budget, _date(START + timedelta(days=scenario.as_of)))
    expected, income, to_be_budgeted = _recount(scenario)
    got = {
        line.category: (units(line.assigned), units(line.carried_over), units(line.spent))
        for line in status.lines
    }
    assert got == {names[c]: figures for c, figures in expected.items()}
    assert (units(status.income), units(status.to_be_budgeted)) == (income, to_be_budgeted)
    for line in status.lines:
        left = units(line.assigned) + units(line.carried_over) - units(line.spent)
        assert (units(line.available), line.over) == (left, left < 0)
