"""Validating ExchangeRateService requests into domain commands, and rates into messages."""

import re
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from finance.v1 import exchange_rate_service_pb2 as pb
from google.type import decimal_pb2

from service.api import names
from service.api.bad_request import BadRequest
from service.api.convert import timestamp
from service.api.dates import parse_date, to_proto_date
from service.api.masks import update_paths
from service.api.money import parse_currency
from service.api.validation import Violations, format_etag, parse_etag, parse_request_id
from service.domain.errors import excerpt
from service.domain.exchange_rates import ExchangeRate, FoundRate, NewExchangeRate, rate_problem
from service.domain.keys import ExchangeRateKey, UserKey

UPDATABLE = ("rate",)
# Fields an update mask may name and that are left out: output-only ones, as read back.
IGNORED = ("name", "source", "create_time", "update_time", "etag")

# google.type.Decimal's grammar: a sign, digits with at most one point, an exponent.
_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")

SOURCES = {"ENTERED": pb.ExchangeRate.SOURCE_ENTERED, "TRANSFER": pb.ExchangeRate.SOURCE_TRANSFER}


@dataclass(frozen=True)
class CreateExchangeRate:
    """A validated CreateExchangeRate request."""

    owner: UserKey
    new: NewExchangeRate
    request_id: uuid.UUID | None


@dataclass(frozen=True)
class UpdateExchangeRate:
    """A validated UpdateExchangeRate request."""

    key: ExchangeRateKey
    rate: Decimal | None
    expected_revision: int | None


@dataclass(frozen=True)
class LookupExchangeRate:
    """A validated LookupExchangeRate request."""

    owner: UserKey
    base: str
    quote: str
    day: date


def decimal_text(value: Decimal) -> str:
    """`value` in plain notation without trailing zeros: `1.0842`, `100`."""
    text = format(value.normalize(), "f")
    return text


def exchange_rate_to_proto(rate: ExchangeRate) -> pb.ExchangeRate:
    """The API form of an exchange rate."""
    return pb.ExchangeRate(
        name=names.resource_name(rate.key),
        base_currency_code=rate.base,
        quote_currency_code=rate.quote,
        rate_date=to_proto_date(rate.day),
        rate=decimal_pb2.Decimal(value=decimal_text(rate.rate)),
        source=SOURCES[rate.source.value],
        create_time=timestamp(rate.create_time),
        update_time=timestamp(rate.update_time),
        etag=format_etag(rate.revision),
    )


def found_rate_to_proto(found: FoundRate) -> pb.LookupExchangeRateResponse:
    """The answer of a lookup."""
    return pb.LookupExchangeRateResponse(
        exchange_rate=exchange_rate_to_proto(found.stored),
        rate=decimal_pb2.Decimal(value=decimal_text(found.rate)),
        inverted=found.inverted,
    )


def parse_rate(value: decimal_pb2.Decimal, field: str) -> Decimal:
    """A rate: a positive google.type.Decimal within the precision rates are kept at."""
    text = value.value
    if not text:
        raise BadRequest.single(field, "is required: a positive decimal such as 1.0842")
    if _DECIMAL.fullmatch(text) is None:
        raise BadRequest.single(field, f"{excerpt(text)} is not a decimal number")
    rate = Decimal(text)
    problem = rate_problem(rate)
    if problem is not None:
        raise BadRequest.single(field, f"{excerpt(text)}: {problem}")
    return rate


def _pair(violations: Violations, base: str, quote: str, prefix: str) -> tuple[str, str]:
    base_code = violations.check(lambda: parse_currency(base, f"{prefix}base_currency_code"))
    quote_code = violations.check(lambda: parse_currency(quote, f"{prefix}quote_currency_code"))
    if base_code and base_code == quote_code:
        violations.add(f"{prefix}quote_currency_code", "must differ from base_currency_code")
    return base_code or "", quote_code or ""


def parse_create(request: pb.CreateExchangeRateRequest) -> CreateExchangeRate:
    """The owner, new rate and request id of a CreateExchangeRate request."""
    violations = Violations()
    owner = violations.check(lambda: names.parse_user_name(request.parent, "parent"))
    given = request.exchange_rate
    if not request.HasField("exchange_rate"):
        violations.add("exchange_rate", "is required")
    base, quote = _pair(
        violations, given.base_currency_code, given.quote_currency_code, "exchange_rate."
    )
    day = violations.check(
        lambda: parse_date(
            given.rate_date, "exchange_rate.rate_date", present=given.HasField("rate_date")
        )
    )
    rate = violations.check(lambda: parse_rate(given.rate, "exchange_rate.rate"))
    request_id = violations.check(lambda: parse_request_id(request.request_id))
    violations.raise_if_any()
    assert owner is not None
    assert day is not None
    assert rate is not None
    return CreateExchangeRate(owner, NewExchangeRate(base, quote, day, rate), request_id)


def parse_update(request: pb.UpdateExchangeRateRequest) -> UpdateExchangeRate:
    """The key, new rate and expected revision of an UpdateExchangeRate request."""
    violations = Violations()
    given = request.exchange_rate
    key = violations.check(lambda: names.parse_exchange_rate_name(given.name, "exchange_rate.name"))
    paths = update_paths(request, violations, UPDATABLE, ignored=IGNORED)
    rate = None
    if "rate" in paths:
        rate = violations.check(lambda: parse_rate(given.rate, "exchange_rate.rate"))
    revision = violations.check(lambda: parse_etag(given.etag, "exchange_rate.etag"))
    violations.raise_if_any()
    assert key is not None
    return UpdateExchangeRate(key, rate, revision)


def parse_lookup(request: pb.LookupExchangeRateRequest) -> LookupExchangeRate:
    """The owner, pair and day of a LookupExchangeRate request."""
    violations = Violations()
    owner = violations.check(lambda: names.parse_user_name(request.parent, "parent"))
    base, quote = _pair(violations, request.base_currency_code, request.quote_currency_code, "")
    day = violations.check(
        lambda: parse_date(request.as_of_date, "as_of_date", present=request.HasField("as_of_date"))
    )
    violations.raise_if_any()
    assert owner is not None
    assert day is not None
    return LookupExchangeRate(owner, base, quote, day)
