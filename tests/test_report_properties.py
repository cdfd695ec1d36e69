"""Every report equals a naive recount of random books recorded through the API: expenses and
income under a category tree and payees, transfers, pending spending, reversals, in two
currencies, over random periods and filters."""

import asyncio
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import grpc
from finance.v1 import account_service_pb2 as apb
from finance.v1 import category_service_pb2 as cpb
from finance.v1 import payee_service_pb2 as ppb
from finance.v1 import report_service_pb2 as rpb
from finance.v1 import report_service_pb2_grpc as rpb_grpc
from finance.v1 import transaction_service_pb2 as tpb
from finance.v1 import user_service_pb2 as upb
from google.type import date_pb2, money_pb2
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from service.db.database import Database
from tests.builders import EXPENSE, INCOME, create_category, create_payee, own_id
from tests.conftest import make_settings, serving
from tests.report_model import (
    EXPENSE as SPENT,
)
from tests.report_model import (
    HOLDING,
    Entry,
    Leg,
    Model,
    cash_flow_report,
    category_report,
    income_expense_report,
    net_worth_report,
    top_payees_report,
)
from tests.report_model import (
    INCOME as EARNED,
)
from tests.resources import Clients

FIRST_DAY = date(2024, 1, 1)
TOP = 3


@dataclass(frozen=True)
class Op:
    """One random movement: its kind, cents, day (from FIRST_DAY), account, category and payee
    (indexes into the books' lists), and for a reversal the days until it."""

    kind: str
    cents: int
    day: int
    account: int
    category: int
    payee: int
    later: int


ops = st.builds(
    Op,
    kind=st.sampled_from(["expense", "income", "transfer", "pending", "reversed"]),
    cents=st.integers(1, 3000),
    day=st.integers(0, 120),
    account=st.integers(0, 2),
    category=st.integers(0, 3),
    payee=st.integers(-1, 1),
    later=st.integers(0, 40),
)
FILTERS = ["", "payee0", "amount >= 20", "category0"]


def cents_of(m: money_pb2.Money) -> tuple[str, int]:
    """(currency, cents) of an amount in a currency of two decimals."""
    return m.currency_code, m.units * 100 + int(m.nanos / 10_000_000)


def pb_date(d: date) -> date_pb2.Date:
    return date_pb2.Date(year=d.year, month=d.month, day=d.day)


def eur_cents(cents: int, currency: str = "EUR") -> money_pb2.Money:
    """`cents` (signed) of `currency` as Money."""
    units, rest = divmod(abs(cents), 100)
    sign = -1 if cents < 0 else 1
    return money_pb2.Money(currency_code=currency, units=sign * units, nanos=sign * rest * 10**7)


class Books:
    """Random books of a new user, recorded through the API and in the model."""

    def __init__(self, clients: Clients) -> None:
        self.c = clients
        self.model = Model()

    async def open(self) -> None:
        user = await self.c.users.CreateUser(upb.CreateUserRequest(user=upb.User(display_name="P")))
        self.user = user.name
        specs = [
            ("Checking", apb.Account.TYPE_ASSET, "EUR", 100000, date(2023, 12, 1)),
            ("Card", apb.Account.TYPE_LIABILITY, "EUR", 0, None),
            ("Dollars", apb.Account.TYPE_ASSET, "USD", 50000, date(2024, 2, 15)),
        ]
        self.accounts = []
        for name, kind, currency, opening, day in specs:
            account = await self.c.accounts.CreateAccount(
                apb.CreateAccountRequest(
                    parent=self.user,
                    account=apb.Account(
                        display_name=name,
                        type=kind,
                        currency_code=currency,
                        opening_balance=eur_cents(opening, currency),
                        opening_date=pb_date(day or FIRST_DAY),
                    ),
                )
            )
            self.accounts.append(account)
            if opening:
                self._entry(day or FIRST_DAY, [(account, opening, None)], None)
        own = await self.c.accounts.CreateAccount(
            apb.CreateAccountRequest(
                parent=self.user,
                account=apb.Account(
                    display_name="Own", type=apb.Account.TYPE_EXPENSE, currency_code="EUR"
                ),
            )
        )
        self.own_expenses = own
        food = await create_category(self.c.categories, self.user, "Food", EXPENSE)
        groceries = await create_category(
            self.c.categories, self.user, "Groceries", EXPENSE, under=food.name
        )
        rent = await create_category(self.c.categories, self.user, "Rent", EXPENSE)
        salary = await create_category(self.c.categories, self.user, "Salary", INCOME)
        self.spending: list[cpb.Category | None] = [None, food, groceries, rent]
        self.earning: list[cpb.Category | None] = [None, salary, salary, None]
        for category, parent in ((food, None), (groceries, food), (rent, None), (salary, None)):
            self.model.parents[own_id(category.name)] = own_id(parent.name) if parent else None
        self.payees: list[ppb.Payee] = [
            await create_payee(self.c.payees, self.user, n) for n in ("Shop", "Landlord")
        ]

    def _entry(
        self,
        day: date,
        legs: list[tuple[Any, int, cpb.Category | None]],
        payee: ppb.Payee | None,
        *,
        system: str | None = None,
        posted: bool = True,
    ) -> Entry:
        """Model a transaction: `legs` on the user's accounts, balanced by a system account of
        kind `system` (or an opening balance) where the legs do not balance."""
        recorded = []
        for account, cents, category in legs:
            kind = SPENT if account.type == apb.Account.TYPE_EXPENSE else HOLDING
            category_id = own_id(category.name) if category else None
            recorded.append(Leg(account.name, kind, account.currency_code, cents, category_id))
        rest = -sum(cents for _, cents, _ in legs)
        if rest:
            account, currency = f"system-{system}", legs[0][0].currency_code
            category_id = recorded[0].category
            recorded.append(Leg(account, system or "opening", currency, rest, category_id))
        entry = Entry(day, recorded, own_id(payee.name) if payee else None, posted)
        self.model.entries.append(entry)
        return entry

    async def record(self, op: Op) -> None:
        """Record `op` through the API and in the model."""
        day = FIRST_DAY + timedelta(days=op.day)
        account = self.accounts[op.account]
        payee = self.payees[op.payee] if op.payee >= 0 else None
        if op.kind in ("expense", "reversed"):
            await self._expense(op, day, account, payee)
        elif op.kind == "income":
            category = self.earning[op.category]
            await self.c.transactions.RecordIncome(
                tpb.RecordIncomeRequest(
                    parent=self.user,
                    account=account.name,
                    amount=eur_cents(op.cents, account.currency_code),
                    booking_date=pb_date(day),
                    category=category.name if category else "",
                    payee=payee.name if payee else "",
                )
            )
            self._entry(day, [(account, op.cents, category)], payee, system=EARNED)
        elif op.kind == "transfer":
            checking, card = self.accounts[0], self.accounts[1]
            await self.c.transactions.TransferFunds(
                tpb.TransferFundsRequest(
                    parent=self.user,
                    from_account=checking.name,
                    to_account=card.name,
                    amount=eur_cents(op.cents),
                    booking_date=pb_date(day),
                )
            )
            self._entry(day, [(checking, -op.cents, None), (card, op.cents, None)], None)
        else:
            await self._pending(op, day)

    async def _expense(self, op: Op, day: date, account: Any, payee: Any) -> None:
        category = self.spending[op.category]
        recorded = await self.c.transactions.RecordExpense(
            tpb.RecordExpenseRequest(
                parent=self.user,
                account=account.name,
                amount=eur_cents(op.cents, account.currency_code),
                booking_date=pb_date(day),
                category=category.name if category else "",
                payee=payee.name if payee else "",
            )
        )
        self._entry(day, [(account, -op.cents, category)], payee, system=SPENT)
        if op.kind == "reversed":
            later = day + timedelta(days=op.later)
            await self.c.transactions.ReverseTransaction(
                tpb.ReverseTransactionRequest(name=recorded.name, booking_date=pb_date(later))
            )
            self._entry(later, [(account, op.cents, category)], payee, system=SPENT)

    async def _pending(self, op: Op, day: date) -> None:
        checking = self.accounts[0]
        category = self.spending[op.category]
        await self.c.transactions.CreateTransaction(
            tpb.CreateTransactionRequest(
                parent=self.user,
                transaction=tpb.Transaction(
                    booking_date=pb_date(day),
                    state=tpb.Transaction.STATE_PENDING,
                    postings=[
                        tpb.Posting(account=checking.name, amount=eur_cents(-op.cents)),
                        tpb.Posting(
                            account=self.own_expenses.name,
                            amount=eur_cents(op.cents),
                            category=category.name if category else "",
                        ),
                    ],
                ),
            )
        )
        self._entry(
            day,
            [(checking, -op.cents, None), (self.own_expenses, op.cents, category)],
            None,
            posted=False,
        )

    def filter_of(self, choice: str) -> tuple[str, Any]:
        """The filter text of `choice` and what it matches in the model."""
        if choice == "payee0":
            payee = self.payees[0].name
            return f'payee = "{payee}"', lambda e: e.payee == own_id(payee)
        if choice == "category0":
            food = self.spending[1]
            assert food is not None
            subtree = {own_id(food.name), own_id(self.spending[2].name)}  # type: ignore[union-attr]
            return f'category = "{food.name}"', lambda e: bool(e.categories() & subtree)
        if choice:
            return choice, lambda e: e.major_amount >= 20
        return "", lambda e: True


async def _check(url: str, history: list[Op], start: int, length: int, choice: str) -> None:
    """Record `history` for a new user through a server of this event loop, then compare."""
    database = await Database.connect(url, min_size=1, max_size=2)
    try:
        async with (
            serving(database, make_settings(url)) as app,
            grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel,
        ):
            books = Books(Clients.over(channel))
            await books.open()
            for op in history:
                await books.record(op)
            first = FIRST_DAY + timedelta(days=start)
            last = first + timedelta(days=length)
            await _compare(books, rpb_grpc.ReportServiceStub(channel), first, last, choice)
    finally:
        await database.close()


async def _compare(books: Books, reports: Any, start: date, end: date, choice: str) -> None:
    text, matches = books.filter_of(choice)
    period: dict[str, Any] = {
        "parent": books.user,
        "start_date": pb_date(start),
        "end_date": pb_date(end),
        "filter": text,
    }
    model = books.model
    counted = model.counted(start, end, matches)

    spending = await reports.GetCategoryReport(rpb.GetCategoryReportRequest(kind=EXPENSE, **period))
    assert {
        (own_id(r.category) if r.category else "", r.own_amount.currency_code): (
            own_id(r.parent_category) if r.parent_category else "",
            cents_of(r.own_amount)[1],
            cents_of(r.total_amount)[1],
        )
        for r in spending.rows
    } == category_report(model, counted)

    months = await reports.GetIncomeExpenseReport(rpb.GetIncomeExpenseReportRequest(**period))
    assert [
        (
            date(r.month.year, r.month.month, 1),
            r.income.currency_code,
            cents_of(r.income)[1],
            cents_of(r.expense)[1],
        )
        for r in months.rows
    ] == income_expense_report(counted, start, end)

    worth = await reports.GetNetWorthReport(rpb.GetNetWorthReportRequest(**period))
    assert [
        (date(p.date.year, p.date.month, p.date.day), [cents_of(b) for b in p.balances])
        for p in worth.points
    ] == net_worth_report(model, start, end, matches)

    flows = await reports.GetCashFlowReport(rpb.GetCashFlowReportRequest(**period))
    assert {
        r.account: (cents_of(r.inflow)[1], cents_of(r.outflow)[1]) for r in flows.rows
    } == cash_flow_report(counted)

    top = await reports.GetTopPayeesReport(rpb.GetTopPayeesReportRequest(max_payees=TOP, **period))
    assert [
        (r.spending.currency_code, own_id(r.payee), cents_of(r.spending)[1], r.transaction_count)
        for r in top.rows
    ] == top_payees_report(counted, TOP)


@settings(
    max_examples=20,
    derandomize=True,
    deadline=None,
    # Each example starts a server; shrinking a failure would take many minutes.
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    history=st.lists(ops, max_size=12),
    start=st.integers(0, 120),
    length=st.integers(0, 120),
    choice=st.sampled_from(FILTERS),
)
def test_reports_equal_a_naive_recount(database, database_url, history, start, length, choice):
    # `database` is the migrated test database; each example runs its own server over it in
    # an event loop of its own (hypothesis calls the test synchronously).
    asyncio.run(_check(database_url, history, start, length, choice))
