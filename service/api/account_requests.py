"""Validating AccountService requests into domain commands."""

import uuid
from dataclasses import dataclass
from datetime import date

from finance.v1 import account_service_pb2
from google.type import money_pb2

from service.api import names
from service.api.bad_request import BadRequest
from service.api.convert import ACCOUNT_TYPES
from service.api.dates import parse_date
from service.api.masks import update_paths
from service.api.money import parse_currency, to_minor_units
from service.api.text import require_text
from service.api.validation import Violations, parse_etag, parse_request_id
from service.domain.keys import AccountKey, UserKey
from service.domain.models import AccountChanges, Money, NewAccount

UPDATABLE = ("display_name", "credit_limit")
# Fields an update mask may name but an update never changes (AIP-203: ignored, not rejected).
OUTPUT_ONLY = (
    "name",
    "opening_date",
    "balance",
    "available_balance",
    "state",
    "system_managed",
    "create_time",
    "update_time",
    "etag",
)
_TYPES_BY_PROTO = {proto: domain for domain, proto in ACCOUNT_TYPES.items()}


@dataclass(frozen=True)
class CreateAccount:
    """A validated CreateAccount request."""

    owner: UserKey
    new: NewAccount
    request_id: uuid.UUID | None


@dataclass(frozen=True)
class UpdateAccount:
    """A validated UpdateAccount request."""

    key: AccountKey
    changes: AccountChanges
    expected_revision: int | None


def _credit_limit(money: money_pb2.Money, currency: str) -> int:
    limit = to_minor_units(money, currency, "account.credit_limit")
    if limit < 0:
        raise BadRequest.single("account.credit_limit", "must not be negative")
    return limit


def parse_create(request: account_service_pb2.CreateAccountRequest) -> CreateAccount:
    """The owner, new account and request id of a CreateAccount request."""
    violations = Violations()
    owner = violations.check(lambda: names.parse_user_name(request.parent, "parent"))
    if not request.HasField("account"):
        violations.add("account", "is required")
    account = request.account
    display_name = violations.check(
        lambda: require_text(account.display_name, "account.display_name")
    )
    account_type = _TYPES_BY_PROTO.get(account.type)
    if account_type is None:
        violations.add(
            "account.type",
            "is required: one of "
            + ", ".join(account_service_pb2.Account.Type.Name(t) for t in _TYPES_BY_PROTO),
        )
    currency = violations.check(
        lambda: parse_currency(account.currency_code, "account.currency_code")
    )
    opening = limit = None
    if currency is not None:
        if account.HasField("opening_balance"):
            opening = violations.check(
                lambda: to_minor_units(account.opening_balance, currency, "account.opening_balance")
            )
        if account.HasField("credit_limit"):
            limit = violations.check(lambda: _credit_limit(account.credit_limit, currency))
    opening_date = None
    if account.HasField("opening_date"):
        opening_date = violations.check(
            lambda: parse_date(account.opening_date, "account.opening_date")
        )
    request_id = violations.check(lambda: parse_request_id(request.request_id))
    violations.raise_if_any()
    assert owner is not None
    assert display_name is not None
    assert account_type is not None
    assert currency is not None
    new = NewAccount(display_name, account_type, currency, opening or 0, limit, opening_date)
    return CreateAccount(owner, new, request_id)


def _new_credit_limit(money: money_pb2.Money) -> Money:
    # The account's currency is not known before it is read: the amount must say its own.
    field = "account.credit_limit.currency_code"
    currency = parse_currency(money.currency_code, field)
    return Money(_credit_limit(money, currency), currency)


def parse_update(request: account_service_pb2.UpdateAccountRequest) -> UpdateAccount:
    """The key, changes and expected revision of an UpdateAccount request."""
    violations = Violations()
    key = violations.check(lambda: names.parse_account_name(request.account.name, "account.name"))
    paths = update_paths(request, violations, UPDATABLE, ignored=OUTPUT_ONLY)
    account = request.account
    display_name = None
    if "display_name" in paths:
        display_name = violations.check(
            lambda: require_text(account.display_name, "account.display_name")
        )
    limit = None
    if "credit_limit" in paths and account.HasField("credit_limit"):
        limit = violations.check(lambda: _new_credit_limit(account.credit_limit))
    revision = violations.check(lambda: parse_etag(account.etag, "account.etag"))
    violations.raise_if_any()
    assert key is not None
    changes = AccountChanges(
        display_name=display_name, change_credit_limit="credit_limit" in paths, credit_limit=limit
    )
    return UpdateAccount(key, changes, revision)


@dataclass(frozen=True)
class BalanceQuery:
    """A validated GetAccountBalance request."""

    key: AccountKey
    day: date | None


@dataclass(frozen=True)
class HistoryQuery:
    """A validated GetBalanceHistory request."""

    key: AccountKey
    start: date
    end: date
    monthly: bool


MAX_HISTORY_POINTS = 3660


def _points(start: date, end: date, *, monthly: bool) -> int:
    """How many balances a history from `start` to `end` has: one per day, or per month."""
    if monthly:
        return (end.year - start.year) * 12 + end.month - start.month + 1
    return (end - start).days + 1


def parse_balance(request: account_service_pb2.GetAccountBalanceRequest) -> BalanceQuery:
    """The account and day of a GetAccountBalance request; no day means today."""
    violations = Violations()
    key = violations.check(lambda: names.parse_account_name(request.name))
    day = None
    if request.HasField("as_of_date"):
        day = violations.check(lambda: parse_date(request.as_of_date, "as_of_date"))
    violations.raise_if_any()
    assert key is not None
    return BalanceQuery(key, day)


def parse_history(request: account_service_pb2.GetBalanceHistoryRequest) -> HistoryQuery:
    """The account, range and interval of a GetBalanceHistory request."""
    violations = Violations()
    key = violations.check(lambda: names.parse_account_name(request.name))
    start = violations.check(
        lambda: parse_date(request.start_date, "start_date", present=request.HasField("start_date"))
    )
    end = violations.check(
        lambda: parse_date(request.end_date, "end_date", present=request.HasField("end_date"))
    )
    intervals = account_service_pb2.GetBalanceHistoryRequest
    monthly = request.interval == intervals.INTERVAL_MONTH
    if request.interval not in (
        intervals.INTERVAL_UNSPECIFIED,
        intervals.INTERVAL_DAY,
        intervals.INTERVAL_MONTH,
    ):
        violations.add("interval", "must be INTERVAL_DAY or INTERVAL_MONTH")
    if start is not None and end is not None:
        if end < start:
            violations.add("end_date", "must not be before start_date")
        elif _points(start, end, monthly=monthly) > MAX_HISTORY_POINTS:
            unit = "months" if monthly else "days"
            violations.add("end_date", f"a history has at most {MAX_HISTORY_POINTS} {unit}")
    violations.raise_if_any()
    assert key is not None
    assert start is not None
    assert end is not None
    return HistoryQuery(key, start, end, monthly)
