"""Exchange rates: the price of one currency in another on a day, and converting amounts of
minor units with them, exactly."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from enum import Enum

from service.domain.currencies import minor_digits
from service.domain.keys import ExchangeRateKey

# How precise a rate is kept: at most this many digits, this many after the point.
RATE_DIGITS = 24
RATE_DECIMALS = 12
_RATE_QUANTUM = Decimal(1).scaleb(-RATE_DECIMALS)


class RateSource(Enum):
    """Where a rate comes from."""

    ENTERED = "ENTERED"
    TRANSFER = "TRANSFER"


def rate_id(base: str, quote: str, day: date) -> str:
    """The id of the rate of `base` in `quote` on `day`: `eur-usd-2024-01-31`."""
    return f"{base.lower()}-{quote.lower()}-{day.isoformat()}"


@dataclass(frozen=True)
class ExchangeRate:
    """How many units of `quote` one unit of `base` is worth on `day`."""

    user_id: str
    base: str
    quote: str
    day: date
    rate: Decimal
    source: RateSource
    revision: int
    create_time: datetime
    update_time: datetime

    @property
    def key(self) -> ExchangeRateKey:
        """The key that identifies this rate."""
        return ExchangeRateKey(self.user_id, rate_id(self.base, self.quote, self.day))


@dataclass(frozen=True)
class NewExchangeRate:
    """What it takes to record a rate."""

    base: str
    quote: str
    day: date
    rate: Decimal


@dataclass(frozen=True)
class FoundRate:
    """The stored rate a lookup found, and the rate it gives for the pair asked about: the
    stored one, or its inverse when the stored rate is of the reverse pair."""

    stored: ExchangeRate
    inverted: bool

    @property
    def rate(self) -> Decimal:
        """Units of the asked-for quote currency per unit of the asked-for base currency."""
        if not self.inverted:
            return self.stored.rate
        return (Decimal(1) / self.stored.rate).quantize(_RATE_QUANTUM, ROUND_HALF_EVEN)


def rate_problem(rate: Decimal) -> str | None:
    """Why `rate` cannot be a rate, or None if it can."""
    if not rate.is_finite() or rate <= 0:
        return "must be a positive number"
    exponent = rate.as_tuple().exponent
    assert isinstance(exponent, int)  # finite
    if -exponent > RATE_DECIMALS:
        return f"must have at most {RATE_DECIMALS} digits after the point"
    if rate.adjusted() + 1 > RATE_DIGITS - RATE_DECIMALS:
        return f"must be less than 10^{RATE_DIGITS - RATE_DECIMALS}"
    return None


def convert(amount: int, base: str, quote: str, rate: Decimal) -> int:
    """`amount` minor units of `base` in minor units of `quote` at `rate` (quote per base),
    rounded half to even."""
    shift = minor_digits(quote) - minor_digits(base)
    exact = Decimal(amount) * rate * Decimal(1).scaleb(shift)
    return int(exact.quantize(Decimal(1), ROUND_HALF_EVEN))


def transfer_rate(sent: int, sent_currency: str, received: int, received_currency: str) -> Decimal:
    """The rate a transfer implies: what was received per unit sent, in whole units of each
    currency, kept to RATE_DECIMALS digits."""
    shift = minor_digits(sent_currency) - minor_digits(received_currency)
    rate = Decimal(received) / Decimal(sent) * Decimal(1).scaleb(shift)
    return rate.quantize(_RATE_QUANTUM, ROUND_HALF_EVEN).normalize()
