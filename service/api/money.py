"""google.type.Money <-> exact integer minor units of an ISO 4217 currency."""

from google.type import money_pb2

from service.api.bad_request import BadRequest
from service.domain import currencies
from service.domain.errors import OutOfRange, excerpt

_NANOS = 1_000_000_000
_INT64_MAX = 2**63 - 1


def parse_currency(code: str, field: str) -> str:
    """An ISO 4217 currency code; InvalidArgument on `field` if not one."""
    if not code:
        raise BadRequest.single(field, "is required: an ISO 4217 currency code such as EUR")
    if not currencies.is_currency(code):
        raise BadRequest.single(field, f"{excerpt(code)} is not an ISO 4217 currency code")
    return code


def to_minor_units(money: money_pb2.Money, currency_code: str, field: str) -> int:
    """The amount of `money` in minor units of `currency_code`.

    Raises InvalidArgument on `field` if the currency differs, the amount is finer than the
    currency's minor unit, units and nanos disagree in sign, or it does not fit in 64 bits.
    """
    if money.currency_code and money.currency_code != currency_code:
        raise BadRequest.single(
            f"{field}.currency_code", f"must be the account's currency {currency_code}"
        )
    if not -_NANOS < money.nanos < _NANOS:
        raise BadRequest.single(f"{field}.nanos", "must be between -999999999 and 999999999")
    if (money.units > 0 and money.nanos < 0) or (money.units < 0 and money.nanos > 0):
        raise BadRequest.single(field, "units and nanos must have the same sign")
    digits = currencies.minor_digits(currency_code)
    step = 10 ** (9 - digits)
    if money.nanos % step:
        raise BadRequest.single(
            f"{field}.nanos", f"{currency_code} amounts have {digits} decimal places at most"
        )
    minor: int = money.units * 10**digits + money.nanos // step
    if abs(minor) > _INT64_MAX:
        raise BadRequest.single(field, "amount is out of range")
    return minor


def to_money(minor: int, currency_code: str) -> money_pb2.Money:
    """`minor` units of `currency_code` as google.type.Money. Raises OutOfRange for an amount
    of more whole units than Money holds (a sum over many accounts can reach that)."""
    digits = currencies.minor_digits(currency_code)
    units, fraction = divmod(abs(minor), 10**digits)
    if units > _INT64_MAX:
        raise OutOfRange(
            f"an amount of {units} {currency_code} is past what google.type.Money holds;"
            " ask for fewer accounts or a shorter period"
        )
    sign = -1 if minor < 0 else 1
    return money_pb2.Money(
        currency_code=currency_code,
        units=sign * units,
        nanos=sign * fraction * 10 ** (9 - digits),
    )


def parse_amount(money: money_pb2.Money, field: str) -> tuple[int, str]:
    """The minor units and currency of an amount that must name its own currency."""
    currency = parse_currency(money.currency_code, f"{field}.currency_code")
    return to_minor_units(money, currency, field), currency
