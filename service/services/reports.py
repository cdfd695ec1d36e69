"""Reports: each one read in one unit of work with the viewer's role on the books."""

from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import date
from typing import TypeVar

from service.db.unit_of_work import UnitOfWork, Work
from service.domain.audit import Caller
from service.domain.categories import CategoryKind
from service.domain.errors import NotFound
from service.domain.exchange_rates import FoundRate
from service.domain.models import Money
from service.domain.periods import period_ends
from service.domain.reports import (
    CashFlowLine,
    CategoryReport,
    MonthLine,
    NetWorthPoint,
    PayeeLine,
    ReportScope,
    convert_net_worth,
    foreign_currencies,
)

T = TypeVar("T")


class ReportService:
    """Use cases of reports: read-only, for any member of the books."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def _read(
        self, scope: ReportScope, work: Callable[[Work], Awaitable[T]], caller: Caller
    ) -> T:
        """`work` on the scope owner's books; NotFound for an unknown owner (an administrator
        may ask about any user)."""

        async def read(w: Work) -> T:
            if not await w.users.exists(scope.owner):
                raise NotFound(scope.owner)
            return await work(w)

        return await self._uow.read(read, caller=caller, user=scope.owner)

    async def categories(
        self, scope: ReportScope, kind: CategoryKind, *, caller: Caller
    ) -> CategoryReport:
        """Spending (EXPENSE) or income (INCOME) by category. Raises NotFound for an unknown
        owner."""

        async def work(w: Work) -> CategoryReport:
            return CategoryReport(kind, tuple(await w.reports.categories(scope, kind)))

        return await self._read(scope, work, caller)

    async def income_expense(self, scope: ReportScope, *, caller: Caller) -> list[MonthLine]:
        """Income and expense per month and currency."""
        return await self._read(scope, lambda w: w.reports.income_expense(scope), caller)

    async def net_worth(
        self, scope: ReportScope, target: str | None, *, caller: Caller
    ) -> list[NetWorthPoint]:
        """Net worth at the end of each month of the period, converted into `target` (when
        given) with the latest rate on or before each day."""
        points = period_ends(scope.start, scope.end, monthly=True)

        async def work(w: Work) -> list[NetWorthPoint]:
            balances: defaultdict[date, list[Money]] = defaultdict(list)
            for day, balance in await w.reports.net_worth(scope, points):
                balances[day].append(balance)
            report = []
            for day in points:
                rates: dict[str, FoundRate | None] = {}
                if target is not None:
                    for currency in foreign_currencies(balances[day], target):
                        rates[currency] = await w.exchange_rates.latest(
                            scope.owner, currency, target, day
                        )
                report.append(convert_net_worth(day, balances[day], target, rates))
            return report

        return await self._read(scope, work, caller)

    async def cash_flow(self, scope: ReportScope, *, caller: Caller) -> list[CashFlowLine]:
        """Inflow and outflow of each asset and liability account."""
        return await self._read(scope, lambda w: w.reports.cash_flow(scope), caller)

    async def top_payees(
        self, scope: ReportScope, limit: int, *, caller: Caller
    ) -> list[PayeeLine]:
        """The `limit` payees most spent at in each currency."""
        return await self._read(scope, lambda w: w.reports.top_payees(scope, limit), caller)
