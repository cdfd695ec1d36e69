"""The template and schedule of a recurring transaction in a request, parsed into the
domain's; every invalid field recorded, named by its path in the request."""

from typing import Any

from finance.v1 import recurring_transaction_service_pb2 as pb
from finance.v1 import transaction_service_pb2 as tpb
from google.type import dayofweek_pb2

from service.api import names
from service.api.dates import parse_date
from service.api.ledger_request_parts import child_id, owned
from service.api.money import parse_amount
from service.api.text import optional_text
from service.api.validation import Violations
from service.domain.keys import UserKey
from service.domain.recurring import Template, TemplateKind
from service.domain.schedules import Frequency, Schedule, WeekendRule

# The states a template may record its transactions in.
CREATABLE_STATES = (
    tpb.Transaction.STATE_UNSPECIFIED,
    tpb.Transaction.STATE_PENDING,
    tpb.Transaction.STATE_POSTED,
)
KINDS = {
    pb.TransactionTemplate.KIND_EXPENSE: TemplateKind.EXPENSE,
    pb.TransactionTemplate.KIND_INCOME: TemplateKind.INCOME,
    pb.TransactionTemplate.KIND_TRANSFER: TemplateKind.TRANSFER,
}
FREQUENCIES = {
    pb.Schedule.FREQUENCY_DAILY: Frequency.DAILY,
    pb.Schedule.FREQUENCY_WEEKLY: Frequency.WEEKLY,
    pb.Schedule.FREQUENCY_MONTHLY: Frequency.MONTHLY,
    pb.Schedule.FREQUENCY_YEARLY: Frequency.YEARLY,
}
WEEKEND_RULES = {
    pb.Schedule.WEEKEND_RULE_UNSPECIFIED: WeekendRule.KEEP,
    pb.Schedule.WEEKEND_RULE_KEEP: WeekendRule.KEEP,
    pb.Schedule.WEEKEND_RULE_SKIP: WeekendRule.SKIP,
    pb.Schedule.WEEKEND_RULE_FRIDAY_BEFORE: WeekendRule.BEFORE,
    pb.Schedule.WEEKEND_RULE_MONDAY_AFTER: WeekendRule.AFTER,
}


def parse_template(
    recurring: pb.RecurringTransaction, owner: UserKey | None, violations: Violations
) -> Template | None:
    """The template of a request's recurring transaction, violations recorded."""
    field = "recurring_transaction.template"
    if not recurring.HasField("template"):
        violations.add(field, "is required")
        return None
    t = recurring.template
    kind = KINDS.get(t.kind)
    if kind is None:
        violations.add(f"{field}.kind", "is required: KIND_EXPENSE, KIND_INCOME or KIND_TRANSFER")
    transfer = kind is TemplateKind.TRANSFER
    account = violations.check(lambda: names.parse_account_name(t.account, f"{field}.account"))
    if account is not None:
        owned(account, owner)
    amount = _money(t, "amount", field, violations, required=True)
    destination = _destination(t, field, transfer, owner, violations)
    labels = _labels(t, field, transfer, owner, violations)
    if kind is None or account is None or amount is None or labels is None:
        return None
    if transfer and destination is None:
        return None
    to_account_id, received = destination or (None, None)
    to_amount, to_currency_code = received or (None, None)
    return Template(
        kind,
        account.account_id,
        *amount,
        to_account_id=to_account_id,
        to_amount=to_amount,
        to_currency_code=to_currency_code,
        **labels,
    )


def _destination(
    t: pb.TransactionTemplate,
    field: str,
    transfer: bool,
    owner: UserKey | None,
    violations: Violations,
) -> tuple[str, tuple[int, str] | None] | None:
    """A transfer's `to_account` (required) and `to_amount` (None when unset: `amount`
    arrives); both are refused on other templates."""
    to_amount = _money(t, "to_amount", field, violations, required=False)
    if not transfer:
        if t.to_account:
            violations.add(f"{field}.to_account", "is only for transfers")
        if to_amount is not None:
            violations.add(f"{field}.to_amount", "is only for transfers")
        return None
    if not t.to_account:
        violations.add(f"{field}.to_account", "is required for a transfer")
        return None
    to_account = violations.check(
        lambda: child_id(t.to_account, names.parse_account_name, owner, f"{field}.to_account")
    )
    if to_account is None:
        return None
    return to_account, to_amount


def _labels(
    t: pb.TransactionTemplate,
    field: str,
    transfer: bool,
    owner: UserKey | None,
    violations: Violations,
) -> dict[str, Any] | None:
    """The template's category, payee, description and state, as Template's fields."""
    if t.category and transfer:
        violations.add(f"{field}.category", "is not for transfers")
    category = violations.check(
        lambda: child_id(t.category, names.parse_category_name, owner, f"{field}.category")
    )
    payee = violations.check(
        lambda: child_id(t.payee, names.parse_payee_name, owner, f"{field}.payee")
    )
    description = violations.check(
        lambda: optional_text(t.description, f"{field}.description", 500)
    )
    if t.state not in CREATABLE_STATES:
        violations.add(f"{field}.state", "may only be STATE_PENDING or STATE_POSTED")
    if description is None:
        return None
    return {
        "category_id": category,
        "payee_id": payee,
        "description": description,
        "pending": t.state == tpb.Transaction.STATE_PENDING,
    }


def _money(
    t: pb.TransactionTemplate, name: str, field: str, violations: Violations, *, required: bool
) -> tuple[int, str] | None:
    if not t.HasField(name):  # type: ignore[arg-type]
        if required:
            violations.add(f"{field}.{name}", "is required")
        return None
    return violations.check(lambda: parse_amount(getattr(t, name), f"{field}.{name}"))


def parse_schedule(recurring: pb.RecurringTransaction, violations: Violations) -> Schedule | None:
    """The schedule of a request's recurring transaction, violations recorded (its rules are
    the domain's: `check_schedule`)."""
    field = "recurring_transaction.schedule"
    s = recurring.schedule
    if not recurring.HasField("schedule"):
        violations.add(field, "is required")
        return None
    frequency = FREQUENCIES.get(s.frequency)
    if frequency is None:
        violations.add(
            f"{field}.frequency",
            "is required: FREQUENCY_DAILY, FREQUENCY_WEEKLY, FREQUENCY_MONTHLY or FREQUENCY_YEARLY",
        )
    start = violations.check(
        lambda: parse_date(s.start_date, f"{field}.start_date", present=s.HasField("start_date"))
    )
    end = None
    if s.HasField("end_date"):
        end = violations.check(lambda: parse_date(s.end_date, f"{field}.end_date"))
    weekend = WEEKEND_RULES.get(s.weekend_rule)
    if weekend is None:
        violations.add(f"{field}.weekend_rule", "is not a weekend rule")
    weekday = None
    if s.weekday != dayofweek_pb2.DAY_OF_WEEK_UNSPECIFIED:
        if s.weekday not in dayofweek_pb2.DayOfWeek.values():
            violations.add(f"{field}.weekday", "is not a day of the week")
        weekday = s.weekday - dayofweek_pb2.MONDAY
    if frequency is None or start is None or weekend is None:
        return None
    return Schedule(
        frequency=frequency,
        start_date=start,
        interval=s.interval or 1,
        end_date=end,
        count=s.count or None,
        day_of_month=s.day_of_month or None,
        weekday=weekday,
        weekend=weekend,
    )
