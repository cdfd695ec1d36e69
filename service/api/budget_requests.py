"""Validating BudgetService requests into domain commands, and budgets into messages."""

import functools
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from finance.v1 import budget_service_pb2 as pb
from google.type import date_pb2

from service.api import names
from service.api.bad_request import BadRequest
from service.api.convert_budgets import PERIODS, ROLLOVERS, STYLES
from service.api.dates import parse_date
from service.api.masks import update_paths
from service.api.money import parse_amount, parse_currency
from service.api.text import require_text
from service.api.validation import Violations, parse_etag, parse_request_id
from service.domain.budgets import Assignment, BudgetLine, BudgetPlan, BudgetStyle, Rollover
from service.domain.errors import NotFound
from service.domain.keys import BudgetKey, UserKey
from service.domain.models import Money
from service.services.budgets import UPDATABLE

E = TypeVar("E")
M = TypeVar("M")
T = TypeVar("T")

# Fields an update mask may name and that are left out: output-only ones, as read back. The
# immutable style and currency are refused.
IGNORED = ("name", "create_time", "update_time", "etag")


@dataclass(frozen=True)
class CreateBudget:
    """A validated CreateBudget request."""

    owner: UserKey
    plan: BudgetPlan
    request_id: uuid.UUID | None


@dataclass(frozen=True)
class UpdateBudget:
    """A validated UpdateBudget request: the fields of `paths` take their values in `given`."""

    key: BudgetKey
    given: BudgetPlan
    paths: frozenset[str]
    expected_revision: int | None


def _enum(value: int, known: Mapping[E, int], field: str, *, required: bool) -> E | None:
    """The domain value of an enum field of Budget; None when unspecified and not
    `required`."""
    by_proto = {proto: domain for domain, proto in known.items()}
    if value in by_proto:
        return by_proto[value]
    if value == 0 and not required:
        return None
    enum_type = pb.Budget.DESCRIPTOR.fields_by_name[field.removeprefix("budget.")].enum_type
    assert enum_type is not None
    choices = ", ".join(enum_type.values_by_number[v].name for v in known.values())
    raise BadRequest.single(field, f"must be one of {choices}")


def parse_month(value: date_pb2.Date, field: str, *, present: bool) -> date:
    """A year and month (`day` 0, or 1) as the first day of that month."""
    if not present or (value.year, value.month, value.day) == (0, 0, 0):
        raise BadRequest.single(field, "is required: a year and a month")
    if value.day not in (0, 1):
        raise BadRequest.single(field, "must be a year and a month, with day 0 or 1")
    if not (1 <= value.year <= 9999 and 1 <= value.month <= 12):
        raise BadRequest.single(field, f"{value.year:04}-{value.month:02} is not a month")
    return date(value.year, value.month, 1)


def _line(owner: UserKey | None, line: pb.Budget.Line, field: str) -> BudgetLine:
    violations = Violations()
    category = violations.check(lambda: _owned(owner, line.category, f"{field}.category"))
    amount = violations.check(lambda: _money(line, f"{field}.amount"))
    violations.raise_if_any()
    assert category is not None
    assert amount is not None
    return BudgetLine(category, amount)


def _assignment(owner: UserKey | None, given: pb.Budget.Assignment, field: str) -> Assignment:
    violations = Violations()
    month = violations.check(
        lambda: parse_month(given.month, f"{field}.month", present=given.HasField("month"))
    )
    category = violations.check(lambda: _owned(owner, given.category, f"{field}.category"))
    amount = violations.check(lambda: _money(given, f"{field}.amount"))
    violations.raise_if_any()
    assert month is not None
    assert category is not None
    assert amount is not None
    return Assignment(month, category, amount)


def _each(
    violations: Violations,
    parse: Callable[[UserKey | None, M, str], T],
    owner: UserKey | None,
    given: Sequence[M],
    field: str,
) -> tuple[T, ...]:
    """Every item of a repeated field parsed, the violations of all of them recorded."""
    parsed = [
        violations.check(functools.partial(parse, owner, item, f"{field}[{i}]"))
        for i, item in enumerate(given)
    ]
    return tuple(p for p in parsed if p is not None)


def _owned(owner: UserKey | None, name: str, field: str) -> str:
    """The id of a category name; another user's category is one the owner does not have."""
    key = names.parse_category_name(name, field)
    if owner is not None and key.user_id != owner.user_id:
        raise NotFound(key)
    return key.category_id


def _money(item: pb.Budget.Line | pb.Budget.Assignment, field: str) -> Money:
    if not item.HasField("amount"):
        raise BadRequest.single(field, "is required")
    minor, currency = parse_amount(item.amount, field)
    return Money(minor, currency)


def _plan(
    violations: Violations, given: pb.Budget, owner: UserKey | None, paths: frozenset[str]
) -> BudgetPlan:
    """The plan of `given`, its fields outside `paths` left at their defaults."""
    values: dict[str, Any] = {}
    if "display_name" in paths:
        values["display_name"] = violations.check(
            lambda: require_text(given.display_name, "budget.display_name")
        )
    if "style" in paths:
        values["style"] = violations.check(
            lambda: _enum(given.style, STYLES, "budget.style", required=True)
        )
    if "currency_code" in paths:
        values["currency_code"] = violations.check(
            lambda: parse_currency(given.currency_code, "budget.currency_code")
        )
    if "period" in paths:
        values["period"] = violations.check(
            lambda: _enum(given.period, PERIODS, "budget.period", required=False)
        )
    if "start_date" in paths:
        values["start_date"] = violations.check(
            lambda: parse_date(
                given.start_date, "budget.start_date", present=given.HasField("start_date")
            )
        )
    if "end_date" in paths and given.HasField("end_date"):
        values["end_date"] = violations.check(lambda: parse_date(given.end_date, "budget.end_date"))
    if "repeating" in paths:
        values["repeating"] = given.repeating
    if "rollover" in paths:
        rollover = violations.check(
            lambda: _enum(given.rollover, ROLLOVERS, "budget.rollover", required=False)
        )
        values["rollover"] = rollover or Rollover.NONE
    if "lines" in paths:
        values["lines"] = _each(violations, _line, owner, given.lines, "budget.lines")
    if "assignments" in paths:
        values["assignments"] = _each(
            violations, _assignment, owner, given.assignments, "budget.assignments"
        )
    defaults = {
        "display_name": "",
        "style": BudgetStyle.PERIOD_LIMITS,
        "currency_code": "",
        "start_date": date.min,
    }
    return BudgetPlan(**{**defaults, **{k: v for k, v in values.items() if v is not None}})


_CREATED = frozenset({*UPDATABLE, "style", "currency_code"})


def parse_create(request: pb.CreateBudgetRequest) -> CreateBudget:
    """The owner, plan and request id of a CreateBudget request."""
    violations = Violations()
    owner = violations.check(lambda: names.parse_user_name(request.parent, "parent"))
    if not request.HasField("budget"):
        violations.add("budget", "is required")
    plan = _plan(violations, request.budget, owner, _CREATED)
    request_id = violations.check(lambda: parse_request_id(request.request_id))
    violations.raise_if_any()
    assert owner is not None
    return CreateBudget(owner, plan, request_id)


def parse_update(request: pb.UpdateBudgetRequest) -> UpdateBudget:
    """The key, new field values and expected revision of an UpdateBudget request."""
    violations = Violations()
    given = request.budget
    key = violations.check(lambda: names.parse_budget_name(given.name, "budget.name"))
    paths = update_paths(request, violations, UPDATABLE, ignored=IGNORED)
    owner = None if key is None else UserKey(key.user_id)
    plan = _plan(violations, given, owner, paths)
    revision = violations.check(lambda: parse_etag(given.etag, "budget.etag"))
    violations.raise_if_any()
    assert key is not None
    return UpdateBudget(key, plan, paths, revision)


def parse_status(request: pb.GetBudgetStatusRequest) -> tuple[BudgetKey, date]:
    """The budget and day of a GetBudgetStatus request."""
    violations = Violations()
    key = violations.check(lambda: names.parse_budget_name(request.name))
    day = violations.check(
        lambda: parse_date(request.as_of_date, "as_of_date", present=request.HasField("as_of_date"))
    )
    violations.raise_if_any()
    assert key is not None
    assert day is not None
    return key, day
