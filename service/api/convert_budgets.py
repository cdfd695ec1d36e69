"""Budgets and their status -> protobuf messages."""

from finance.v1 import budget_service_pb2 as pb
from google.type import date_pb2

from service.api import names
from service.api.convert import timestamp
from service.api.dates import to_proto_date
from service.api.exchange_rate_requests import exchange_rate_to_proto
from service.api.money import to_money
from service.api.validation import format_etag
from service.domain.budget_status import BudgetStatus
from service.domain.budgets import Budget, BudgetPeriod, BudgetStyle, Rollover
from service.domain.keys import CategoryKey

STYLES = {
    BudgetStyle.PERIOD_LIMITS: pb.Budget.STYLE_PERIOD_LIMITS,
    BudgetStyle.ENVELOPES: pb.Budget.STYLE_ENVELOPES,
}
PERIODS = {
    BudgetPeriod.WEEK: pb.Budget.PERIOD_WEEK,
    BudgetPeriod.MONTH: pb.Budget.PERIOD_MONTH,
    BudgetPeriod.YEAR: pb.Budget.PERIOD_YEAR,
    BudgetPeriod.CUSTOM: pb.Budget.PERIOD_CUSTOM,
}
ROLLOVERS = {
    Rollover.NONE: pb.Budget.ROLLOVER_NONE,
    Rollover.UNSPENT: pb.Budget.ROLLOVER_UNSPENT,
    Rollover.UNSPENT_AND_OVERSPENT: pb.Budget.ROLLOVER_UNSPENT_AND_OVERSPENT,
}


def _category_name(user_id: str, category_id: str) -> str:
    return names.resource_name(CategoryKey(user_id, category_id))


def budget_to_proto(budget: Budget) -> pb.Budget:
    """The API form of a budget."""
    plan = budget.plan
    return pb.Budget(
        name=names.resource_name(budget.key),
        display_name=plan.display_name,
        style=STYLES[plan.style],
        currency_code=plan.currency_code,
        period=pb.Budget.PERIOD_UNSPECIFIED if plan.period is None else PERIODS[plan.period],
        start_date=to_proto_date(plan.start_date),
        end_date=None if plan.end_date is None else to_proto_date(plan.end_date),
        repeating=plan.repeating,
        rollover=ROLLOVERS[plan.rollover],
        lines=[
            pb.Budget.Line(
                category=_category_name(budget.user_id, line.category_id),
                amount=to_money(line.amount.amount, line.amount.currency_code),
            )
            for line in plan.lines
        ],
        assignments=[
            pb.Budget.Assignment(
                month=date_pb2.Date(year=a.month.year, month=a.month.month),
                category=_category_name(budget.user_id, a.category_id),
                amount=to_money(a.amount.amount, a.amount.currency_code),
            )
            for a in plan.assignments
        ],
        create_time=timestamp(budget.create_time),
        update_time=timestamp(budget.update_time),
        etag=format_etag(budget.revision),
    )


def status_to_proto(status: BudgetStatus) -> pb.BudgetStatus:
    """The API form of a budget's status."""
    budget = status.budget
    currency = budget.plan.currency_code
    return pb.BudgetStatus(
        budget=names.resource_name(budget.key),
        as_of_date=to_proto_date(status.as_of),
        period_start_date=to_proto_date(status.period.start),
        period_end_date=to_proto_date(status.period.end),
        lines=[
            pb.BudgetStatus.Line(
                category=_category_name(budget.user_id, line.category_id),
                assigned=to_money(line.assigned, currency),
                carried_over=to_money(line.carried_over, currency),
                spent=to_money(line.spent, currency),
                available=to_money(line.available, currency),
                over=line.available < 0,
            )
            for line in status.lines
        ],
        income=to_money(status.income, currency),
        to_be_budgeted=to_money(status.to_be_budgeted, currency),
        exchange_rates=[exchange_rate_to_proto(r) for r in status.tally.rates],
        missing_rates=[
            pb.BudgetStatus.MissingRate(
                base_currency_code=base, quote_currency_code=currency, date=to_proto_date(day)
            )
            for base, day in status.tally.missing
        ],
    )
