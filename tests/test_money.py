"""google.type.Money <-> minor units, exact for every currency exponent."""

import pytest
from google.type import money_pb2

from service.api.money import to_minor_units, to_money
from service.domain.errors import InvalidArgument


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
