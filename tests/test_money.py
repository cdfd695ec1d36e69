"""google.type.Money <-> minor units, exact for every currency exponent."""

import grpc
import pytest
from google.type import money_pb2

from service.api.errors import grpc_code, to_status
from service.api.money import to_minor_units, to_money
from service.domain.errors import InvalidArgument, OutOfRange


@pytest.mark.parametrize(
    ("currency", "units", "nanos", "minor"),
    [
        ("EUR", 12, 340_000_000, 1234),
        ("EUR", -12, -340_000_000, -1234),
        ("EUR", 0, -10_000_000, -1),
        ("JPY", 500, 0, 500),
        ("KWD", 1, 5_000_000, 1005),
        ("CLF", 0, 100_000, 1),
        ("USD", 92_233_720_368_547_758, 70_000_000, 2**63 - 1),
    ],
)
def test_round_trips_exactly(currency, units, nanos, minor):
    money = money_pb2.Money(currency_code=currency, units=units, nanos=nanos)
    assert to_minor_units(money, currency, "amount") == minor
    assert to_money(minor, currency) == money


@pytest.mark.parametrize(
    ("units", "nanos"),
    [(1, 1), (0, 5_000_000), (1, -10_000_000), (92_233_720_368_547_758, 80_000_000)],
)
def test_rejects_inexact_mixed_sign_or_overflowing_amounts(units, nanos):
    with pytest.raises(InvalidArgument):
        to_minor_units(
            money_pb2.Money(currency_code="EUR", units=units, nanos=nanos), "EUR", "amount"
        )


def test_an_amount_past_what_money_holds_is_out_of_range_not_an_internal_error():
    assert to_money(2**63 - 1, "JPY").units == 2**63 - 1
    with pytest.raises(OutOfRange) as caught:
        to_money(2**63, "JPY")
    assert grpc_code(to_status(caught.value)) == grpc.StatusCode.OUT_OF_RANGE
    # Two digits of minor unit: 2^63 whole euros are 100 times as many cents.
    assert to_money(2**63 * 100 - 1, "EUR").units == 2**63 - 1
    with pytest.raises(OutOfRange):
        to_money(2**63 * 100, "EUR")
