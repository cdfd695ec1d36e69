"""Reports computed in SQL (`report_sql`), read into domain lines."""

from collections.abc import Sequence
from datetime import date
from typing import Any

import asyncpg

from service.domain.categories import CategoryKind
from service.domain.models import Money
from service.domain.reports import (
    CashFlowLine,
    CategoryLine,
    MonthLine,
    PayeeLine,
    ReportScope,
)
from service.repositories.report_sql import (
    cash_flow_sql,
    category_sql,
    income_expense_sql,
    net_worth_sql,
    top_payees_sql,
)


class ReportRepository:
    """Runs the report statements on one connection."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection

    async def _fetch(self, statement: tuple[str, list[Any]]) -> list[asyncpg.Record]:
        sql, params = statement
        return list(await self._connection.fetch(sql, *params))

    async def categories(self, scope: ReportScope, kind: CategoryKind) -> list[CategoryLine]:
        """Each category with money in its subtree, per currency."""
        return [
            CategoryLine(
                category_id=row["category_id"],
                parent_id=row["parent_category_id"],
                currency_code=row["currency_code"],
                own=int(row["own_amount"]),
                total=int(row["total_amount"]),
            )
            for row in await self._fetch(category_sql(scope, kind))
        ]

    async def income_expense(self, scope: ReportScope) -> list[MonthLine]:
        """Income and expense per month and currency."""
        return [
            MonthLine(row["month"], row["currency_code"], int(row["income"]), int(row["expense"]))
            for row in await self._fetch(income_expense_sql(scope))
        ]

    async def net_worth(
        self, scope: ReportScope, points: Sequence[date]
    ) -> list[tuple[date, Money]]:
        """The non-zero balances of the holdings per currency on each point."""
        return [
            (row["day"], Money(int(row["balance"]), row["currency_code"]))
            for row in await self._fetch(net_worth_sql(scope, points))
        ]

    async def cash_flow(self, scope: ReportScope) -> list[CashFlowLine]:
        """Inflow and outflow of each account with money moved."""
        return [
            CashFlowLine(
                row["account_id"], row["currency_code"], int(row["inflow"]), int(row["outflow"])
            )
            for row in await self._fetch(cash_flow_sql(scope))
        ]

    async def top_payees(self, scope: ReportScope, limit: int) -> list[PayeeLine]:
        """The payees most spent at, per currency."""
        return [
            PayeeLine(
                row["payee_id"], row["currency_code"], int(row["spending"]), row["transactions"]
            )
            for row in await self._fetch(top_payees_sql(scope, limit))
        ]
