"""Factories for budget tests: budgets of both styles, expenses and income on given days."""

import uuid
from dataclasses import dataclass
from typing import Any

from finance.v1 import budget_service_pb2 as bpb
from finance.v1 import budget_service_pb2_grpc as bpb_grpc
from finance.v1 import transaction_service_pb2 as tpb
from finance.v1 import transaction_service_pb2_grpc as tpb_grpc
from google.type import date_pb2, money_pb2

from tests.builders import money


def line(category: str, units: int, currency: str = "EUR") -> bpb.Budget.Line:
    """A period limit of `units` for `category`."""
    return bpb.Budget.Line(category=category, amount=money(units, currency))


def assign(month: int, category: str, units: int, *, year: int = 2024) -> bpb.Budget.Assignment:
    """`units` EUR assigned to `category` in `month` of `year`."""
    return bpb.Budget.Assignment(
        month=date_pb2.Date(year=year, month=month), category=category, amount=money(units)
    )


def limits(*lines: bpb.Budget.Line, **fields: Any) -> bpb.Budget:
    """A EUR period-limits budget: monthly from 1 January 2024 and repeating, unless told."""
    values: dict[str, Any] = {
        "display_name": "Household",
        "style": bpb.Budget.STYLE_PERIOD_LIMITS,
        "currency_code": "EUR",
        "period": bpb.Budget.PERIOD_MONTH,
        "start_date": date_pb2.Date(year=2024, month=1, day=1),
        "repeating": True,
        "lines": lines,
        **fields,
    }
    return bpb.Budget(**values)


def envelopes(*assignments: bpb.Budget.Assignment, **fields: Any) -> bpb.Budget:
    """A EUR envelope budget from January 2024."""
    values: dict[str, Any] = {
        "display_name": "Envelopes",
        "style": bpb.Budget.STYLE_ENVELOPES,
        "currency_code": "EUR",
        "start_date": date_pb2.Date(year=2024, month=1, day=1),
        "assignments": assignments,
        **fields,
    }
    return bpb.Budget(**values)


def units(amount: money_pb2.Money) -> int:
    """The minor units (cents) of a EUR amount."""
    return amount.units * 100 + amount.nanos // 10_000_000


@dataclass(frozen=True)
class Planner:
    """A user's budgets and the spending they measure."""

    user: str
    budgets: "bpb_grpc.BudgetServiceAsyncStub"
    transactions: "tpb_grpc.TransactionServiceAsyncStub"

    async def create(self, budget: bpb.Budget, **fields: Any) -> bpb.Budget:
        """A new budget of the user."""
        return await self.budgets.CreateBudget(
            bpb.CreateBudgetRequest(parent=self.user, budget=budget, **fields)
        )

    async def status(self, budget: bpb.Budget, as_of: date_pb2.Date) -> bpb.BudgetStatus:
        """The status of `budget` on `as_of`."""
        return await self.budgets.GetBudgetStatus(
            bpb.GetBudgetStatusRequest(name=budget.name, as_of_date=as_of)
        )

    async def spend(
        self,
        account: str,
        category: str,
        amount: money_pb2.Money,
        on: date_pb2.Date,
    ) -> tpb.Transaction:
        """Record an expense of `amount` from `account` under `category` on `on`."""
        return await self.transactions.RecordExpense(
            tpb.RecordExpenseRequest(
                parent=self.user,
                account=account,
                amount=amount,
                category=category,
                booking_date=on,
                request_id=str(uuid.uuid4()),
            )
        )

    async def earn(
        self, account: str, category: str, amount: money_pb2.Money, on: date_pb2.Date
    ) -> tpb.Transaction:
        """Record income of `amount` into `account` under `category` on `on`."""
        return await self.transactions.RecordIncome(
            tpb.RecordIncomeRequest(
                parent=self.user,
                account=account,
                amount=amount,
                category=category,
                booking_date=on,
            )
        )

    async def reverse(self, transaction: tpb.Transaction, on: date_pb2.Date) -> tpb.Transaction:
        """Reverse a posted transaction with a reversal booked on `on`."""
        return await self.transactions.ReverseTransaction(
            tpb.ReverseTransactionRequest(name=transaction.name, booking_date=on)
        )
