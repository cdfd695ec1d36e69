"""A user's books for report tests: accounts, categories and payees, and expenses, income and
transfers recorded through the API."""

from dataclasses import dataclass
from typing import Any

from finance.v1 import account_service_pb2 as apb
from finance.v1 import report_service_pb2 as rpb
from finance.v1 import transaction_service_pb2 as tpb
from google.type import date_pb2, money_pb2

from tests.builders import Books, day, leg, money
from tests.resources import Clients


def units(m: money_pb2.Money) -> tuple[str, int]:
    """(currency, whole units) of a Money without nanos."""
    assert m.nanos == 0
    return m.currency_code, m.units


def span(start: date_pb2.Date, end: date_pb2.Date, **fields: Any) -> dict[str, Any]:
    """The period fields of a report request."""
    return {"start_date": start, "end_date": end, **fields}


@dataclass
class Ledger:
    """One user's books with a checking account, an account of its own for expenses (to record
    pending ones) and the clients to move money."""

    books: Books
    clients: Clients
    checking: apb.Account
    expenses: apb.Account

    @property
    def user(self) -> str:
        """The user's name."""
        return self.books.user.name

    async def expense(
        self, amount: int, day: date_pb2.Date, *, account: apb.Account | None = None, **fields: Any
    ) -> tpb.Transaction:
        """A posted expense of `amount` EUR from checking (or `account`) on `day`."""
        return await self.clients.transactions.RecordExpense(
            tpb.RecordExpenseRequest(
                parent=self.user,
                account=(account or self.checking).name,
                amount=money(amount, (account or self.checking).currency_code),
                booking_date=day,
                **fields,
            )
        )

    async def income(self, amount: int, day: date_pb2.Date, **fields: Any) -> tpb.Transaction:
        """Posted income of `amount` EUR into checking on `day`."""
        return await self.clients.transactions.RecordIncome(
            tpb.RecordIncomeRequest(
                parent=self.user,
                account=self.checking.name,
                amount=money(amount),
                booking_date=day,
                **fields,
            )
        )

    async def spend_to_own(
        self, amount: int, day: date_pb2.Date, state: Any, category: str = ""
    ) -> tpb.Transaction:
        """Spending from checking to the user's own expense account, in `state`."""
        return await self.books.create(
            leg(self.checking, -amount),
            leg(self.expenses, amount, category=category),
            booking_date=day,
            state=state,
        )

    async def reverse(self, transaction: tpb.Transaction, day: date_pb2.Date) -> tpb.Transaction:
        """The reversal of `transaction`, booked on `day`."""
        return await self.clients.transactions.ReverseTransaction(
            tpb.ReverseTransactionRequest(name=transaction.name, booking_date=day)
        )


async def open_ledger(books: Books, clients: Clients) -> Ledger:
    """New books' ledger: checking with 1000 EUR opened on 1 January 2020."""
    checking = await books.account(
        "Checking", opening_balance=money(1000), opening_date=day(1, 1, 2020)
    )
    expenses = await books.account("Own expenses", type=apb.Account.TYPE_EXPENSE)
    return Ledger(books, clients, checking, expenses)


def category_rows(report: rpb.CategoryReport) -> dict[str, tuple[str, int, int]]:
    """category id (empty for none) -> (parent id, own units, total units)."""
    return {
        row.category.rsplit("/", 1)[-1] if row.category else "": (
            row.parent_category.rsplit("/", 1)[-1] if row.parent_category else "",
            row.own_amount.units,
            row.total_amount.units,
        )
        for row in report.rows
    }
