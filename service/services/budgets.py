"""Budgets: planning a user's spending, and how the ledger measures up to the plan."""

import dataclasses
import uuid
from collections import defaultdict
from datetime import date

from service.db.unit_of_work import UnitOfWork, Work
from service.domain import budget_status
from service.domain.audit import Caller
from service.domain.budget_periods import Span, spans_until
from service.domain.budget_status import BudgetStatus, Tally
from service.domain.budgets import Budget, BudgetPlan, BudgetStyle, check_categories, check_plan
from service.domain.exchange_rates import FoundRate, convert
from service.domain.keys import BudgetKey, UserKey, owner_of
from service.domain.listing import ListQuery, Page
from service.domain.revisions import check_revision
from service.repositories.budget_spending import Booked
from service.services.owners import owned_page

# The fields of a plan an update may change; style and currency never do.
UPDATABLE = (
    "display_name",
    "period",
    "start_date",
    "end_date",
    "repeating",
    "rollover",
    "lines",
    "assignments",
)


def merge(before: BudgetPlan, given: BudgetPlan, paths: frozenset[str]) -> BudgetPlan:
    """`before` with the fields named in `paths` taken from `given`."""
    changed = {field: getattr(given, field) for field in paths if field in UPDATABLE}
    return dataclasses.replace(before, **changed)


async def _checked(w: Work, owner: UserKey, plan: BudgetPlan) -> None:
    """Raise NotFound for a category that is not the owner's, InvalidArgument unless `plan`
    holds together."""
    kinds = await w.categories.kinds(owner, plan.category_ids)
    check_categories(plan, kinds, user_id=owner.user_id)
    check_plan(plan)


class BudgetService:
    """Use cases of budgets."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def create(self, owner: UserKey, plan: BudgetPlan, *, caller: Caller) -> Budget:
        """Create a budget; a retry with the same request_id returns the budget first created.
        Raises NotFound for an unknown owner or category, InvalidArgument for a plan that
        does not hold together."""
        key = BudgetKey(owner.user_id, str(uuid.uuid4()))

        async def work(w: Work) -> Budget:
            earlier = await w.claim(owner, "create_budget", owner, plan, result_id=key.budget_id)
            if earlier is not None:
                return await w.budgets.get(BudgetKey(owner.user_id, earlier))
            await _checked(w, owner, plan)
            budget = await w.budgets.insert(key, plan)
            await w.record(key, "create", before=None, after=budget)
            return budget

        return await self._uow.run(work, caller=caller, user=owner)

    async def get(self, key: BudgetKey, *, caller: Caller) -> Budget:
        """The budget of `key`. Raises NotFound."""
        return await self._uow.read(lambda w: w.budgets.get(key), caller=caller, user=owner_of(key))

    async def list(self, owner: UserKey, query: ListQuery, *, caller: Caller) -> Page[Budget]:
        """One page of the owner's budgets. Raises NotFound for an unknown owner."""

        async def work(w: Work) -> Page[Budget]:
            return await owned_page(w, owner, await w.budgets.list_owned(owner, query))

        return await self._uow.read(work, caller=caller, user=owner)

    async def update(
        self,
        key: BudgetKey,
        given: BudgetPlan,
        paths: frozenset[str],
        *,
        expected_revision: int | None,
        caller: Caller,
    ) -> Budget:
        """Change the fields of `paths` to those of `given`. Raises NotFound, EtagMismatch, or
        InvalidArgument if the budget would not hold together."""
        owner = owner_of(key)

        async def work(w: Work) -> Budget:
            before = await w.budgets.get(key, lock=True)
            check_revision(key, before.revision, expected_revision)
            plan = merge(before.plan, given, paths)
            await _checked(w, owner, plan)
            after = await w.budgets.replace(key, plan)
            await w.record(key, "update", before=before, after=after)
            return after

        return await self._uow.run(work, caller=caller, user=owner)

    async def delete(
        self, key: BudgetKey, *, expected_revision: int | None, caller: Caller
    ) -> None:
        """Delete a budget with its lines. Raises NotFound or EtagMismatch."""

        async def work(w: Work) -> None:
            before = await w.budgets.get(key, lock=True)
            check_revision(key, before.revision, expected_revision)
            await w.budgets.delete(key)
            await w.record(key, "delete", before=before, after=None)

        await self._uow.run(work, caller=caller, user=owner_of(key))

    async def status(self, key: BudgetKey, as_of: date, *, caller: Caller) -> BudgetStatus:
        """The budget's state in the period holding `as_of`. Raises NotFound, or
        InvalidArgument for a day outside the budget's periods."""

        async def work(w: Work) -> BudgetStatus:
            budget = await w.budgets.get(key)
            plan = budget.plan
            spans = spans_until(plan, as_of)
            # Spending in the current period counts up to `as_of`.
            counted = [*spans[:-1], Span(spans[-1].start, as_of)]
            tally = await _tally(w, owner_of(key), plan, counted)
            if plan.style is BudgetStyle.PERIOD_LIMITS:
                lines, to_be_budgeted = budget_status.period_limits(plan, spans, tally), 0
            else:
                lines, to_be_budgeted = budget_status.envelopes(plan, spans, tally)
            income = tally.income.get(len(spans) - 1, 0)
            return BudgetStatus(
                budget, as_of, spans[-1], tuple(lines), income, to_be_budgeted, tally
            )

        return await self._uow.read(work, caller=caller, user=owner_of(key))


async def _tally(w: Work, owner: UserKey, plan: BudgetPlan, spans: list[Span]) -> Tally:
    """The spending and income the budget counts in `spans`, in its currency: amounts of
    another currency converted per day at the latest rate on or before that day."""
    currency = plan.currency_code
    booked = await w.budget_spending.tally(
        owner,
        line_categories=plan.category_ids,
        spans=spans,
        currency_code=currency,
        with_income=plan.style is BudgetStyle.ENVELOPES,
    )
    wanted = {(b.currency_code, b.day) for b in booked if b.day is not None}
    found = await w.exchange_rates.latest_each(owner, currency, wanted)
    spent: dict[tuple[str, int], int] = defaultdict(int)
    income: dict[int, int] = defaultdict(int)
    for b in booked:
        amount = _converted(b, currency, found)
        if amount is None:
            continue
        if b.category_id is None:
            income[b.period] += amount
        else:
            spent[(b.category_id, b.period)] += amount
    used = {f.stored.key: f.stored for f in found.values()}
    rates = sorted(used.values(), key=lambda r: (r.base, r.quote, r.day))
    missing = sorted(wanted - found.keys())
    return Tally(spent, income, tuple(rates), tuple(missing))


def _converted(b: Booked, currency: str, found: dict[tuple[str, date], FoundRate]) -> int | None:
    """`b`'s amount in the budget's currency; None when its day's rate is missing."""
    if b.day is None:
        return b.amount
    rate = found.get((b.currency_code, b.day))
    if rate is None:
        return None
    return convert(b.amount, b.currency_code, currency, rate.rate)
