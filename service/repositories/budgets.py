"""Budgets and their lines (period limits) or assignments (envelopes)."""

import dataclasses
import re
from collections import defaultdict
from collections.abc import Sequence
from datetime import date

import asyncpg

from service.domain.budgets import (
    Assignment,
    Budget,
    BudgetLine,
    BudgetPeriod,
    BudgetPlan,
    BudgetStyle,
    Rollover,
)
from service.domain.errors import NotFound
from service.domain.keys import BudgetKey, CategoryKey, UserKey
from service.domain.listing import ListQuery, OrderKey, Page
from service.domain.models import Money
from service.repositories.querying import Field, Kind, Listing
from service.repositories.rows import RowRepository, Table

_COLUMNS = (
    "user_id, budget_id, display_name, style, currency_code, period, start_date, end_date,"
    " repeating, rollover, revision, create_time, update_time"
)

_PLAN_COLUMNS = (
    "display_name",
    "style",
    "currency_code",
    "period",
    "start_date",
    "end_date",
    "repeating",
    "rollover",
)

_INSERT = f"""
INSERT INTO budgets (user_id, budget_id, {", ".join(_PLAN_COLUMNS)})
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
RETURNING {_COLUMNS}
"""

_LINES = """
SELECT budget_id, category_id, month, amount FROM budget_lines
WHERE user_id = $1 AND budget_id = ANY($2::text[])
ORDER BY budget_id, line_index
"""

_DELETE_LINES = "DELETE FROM budget_lines WHERE user_id = $1 AND budget_id = $2"

# Lines first, then assignments (a budget has one or the other), in the order given.
_INSERT_LINES = """
INSERT INTO budget_lines (user_id, budget_id, line_index, category_id, month, amount)
SELECT $1, $2, i - 1, category_id, month, amount
FROM unnest($3::text[], $4::date[], $5::bigint[])
     WITH ORDINALITY AS l(category_id, month, amount, i)
"""


# PostgreSQL's detail of a missing referenced row: `Key (user_id, category_id)=(u, c) is ...`.
_MISSING_CATEGORY = re.compile(r"\)=\([^,]*, ([^)]*)\)")


def _budget(row: asyncpg.Record) -> Budget:
    """A budget without its lines (`_with_lines` adds them)."""
    plan = BudgetPlan(
        display_name=row["display_name"],
        style=BudgetStyle(row["style"]),
        currency_code=row["currency_code"],
        start_date=row["start_date"],
        period=None if row["period"] is None else BudgetPeriod(row["period"]),
        end_date=row["end_date"],
        repeating=row["repeating"],
        rollover=Rollover(row["rollover"]),
    )
    return Budget(
        user_id=row["user_id"],
        budget_id=row["budget_id"],
        plan=plan,
        revision=row["revision"],
        create_time=row["create_time"],
        update_time=row["update_time"],
    )


BUDGETS = Table(
    name="budgets",
    columns=_COLUMNS,
    key_columns=("user_id", "budget_id"),
    listing=Listing(
        fields={
            "display_name": Field("display_name", Kind.TEXT),
            "style": Field("style", Kind.ENUM, {f"STYLE_{s.name}": s.value for s in BudgetStyle}),
            "currency_code": Field("currency_code", Kind.TEXT),
            "create_time": Field("create_time", Kind.TIMESTAMP),
            "update_time": Field("update_time", Kind.TIMESTAMP),
        },
        id_column="budget_id",
        default_order=(OrderKey("create_time"),),
    ),
    from_row=_budget,
)


def _plan_values(plan: BudgetPlan) -> tuple[object, ...]:
    """The budgets columns of `plan`, in the order of _PLAN_COLUMNS."""
    return (
        plan.display_name,
        plan.style.value,
        plan.currency_code,
        None if plan.period is None else plan.period.value,
        plan.start_date,
        plan.end_date,
        plan.repeating,
        plan.rollover.value,
    )


class BudgetRepository(RowRepository[Budget, BudgetKey]):
    """Reads and writes budgets with their lines and assignments."""

    table = BUDGETS

    async def insert(self, key: BudgetKey, plan: BudgetPlan) -> Budget:
        """Insert a budget with its lines. Raises NotFound for an unknown owner or category."""
        budget = await self._insert_owned(
            _INSERT, UserKey(key.user_id), key.budget_id, *_plan_values(plan)
        )
        await self._write_lines(key, plan)
        return dataclasses.replace(budget, plan=plan)

    async def get(self, key: BudgetKey, *, lock: bool = False) -> Budget:
        """The budget of `key` with its lines, locked if `lock`. Raises NotFound."""
        return (await self._with_lines([await super().get(key, lock=lock)]))[0]

    async def list_owned(self, owner: UserKey, query: ListQuery) -> Page[Budget]:
        """One page of the owner's budgets, with their lines."""
        page = await self.list(query, scope={"user_id": owner.user_id})
        return dataclasses.replace(page, items=await self._with_lines(page.items))

    async def replace(self, key: BudgetKey, plan: BudgetPlan) -> Budget:
        """Give the budget `plan` (its lines replaced) and a new revision. Raises NotFound."""
        assignments = dict(zip(_PLAN_COLUMNS, _plan_values(plan), strict=True))
        budget = await self.update(key, assignments)
        await self._connection.execute(_DELETE_LINES, key.user_id, key.budget_id)
        await self._write_lines(key, plan)
        return dataclasses.replace(budget, plan=plan)

    async def _write_lines(self, key: BudgetKey, plan: BudgetPlan) -> None:
        entries: list[tuple[str, date | None, int]]
        entries = [(line.category_id, None, line.amount.amount) for line in plan.lines]
        entries += [(a.category_id, a.month, a.amount.amount) for a in plan.assignments]
        if not entries:
            return
        categories, months, amounts = zip(*entries, strict=True)
        try:
            await self._connection.execute(
                _INSERT_LINES, key.user_id, key.budget_id, categories, months, amounts
            )
        except asyncpg.ForeignKeyViolationError as error:
            # A category deleted since it was checked: the detail names it.
            found = _MISSING_CATEGORY.search(str(error.detail))
            category_id = found[1] if found else ""
            raise NotFound(CategoryKey(key.user_id, category_id)) from None

    async def _with_lines(self, budgets: Sequence[Budget]) -> list[Budget]:
        if not budgets:
            return []
        user_id = budgets[0].user_id
        rows = await self._connection.fetch(_LINES, user_id, [b.budget_id for b in budgets])
        lines: dict[str, list[BudgetLine]] = defaultdict(list)
        assignments: dict[str, list[Assignment]] = defaultdict(list)
        currencies = {b.budget_id: b.plan.currency_code for b in budgets}
        for r in rows:
            amount = Money(r["amount"], currencies[r["budget_id"]])
            if r["month"] is None:
                lines[r["budget_id"]].append(BudgetLine(r["category_id"], amount))
            else:
                assignments[r["budget_id"]].append(Assignment(r["month"], r["category_id"], amount))
        return [
            dataclasses.replace(
                b,
                plan=dataclasses.replace(
                    b.plan,
                    lines=tuple(lines[b.budget_id]),
                    assignments=tuple(assignments[b.budget_id]),
                ),
            )
            for b in budgets
        ]
