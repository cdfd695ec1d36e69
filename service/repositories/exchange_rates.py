"""Exchange rates: a user's rates by pair and day, and the latest one on or before a day."""

from datetime import date

import asyncpg

from service.domain.errors import AlreadyExists, NotFound
from service.domain.exchange_rates import (
    ExchangeRate,
    FoundRate,
    NewExchangeRate,
    RateSource,
    rate_id,
)
from service.domain.keys import ExchangeRateKey, UserKey
from service.domain.listing import ListQuery, OrderKey, Page
from service.repositories.querying import Field, Kind, Listing
from service.repositories.rows import RowRepository, Table

_COLUMNS = (
    "user_id, exchange_rate_id, base_currency, quote_currency, rate_date, rate, source,"
    " revision, create_time, update_time"
)

# An entered rate replaces one taken from a transfer, never another entered one.
_ENTER = f"""
INSERT INTO exchange_rates (user_id, exchange_rate_id, base_currency, quote_currency,
                            rate_date, rate, source)
VALUES ($1, $2, $3, $4, $5, $6, 'ENTERED')
ON CONFLICT (user_id, exchange_rate_id) DO UPDATE
    SET rate = EXCLUDED.rate, source = 'ENTERED', revision = nextval('revisions'),
        update_time = clock_timestamp()
    WHERE exchange_rates.source = 'TRANSFER'
RETURNING {_COLUMNS}
"""

# A transfer's rate is kept only where the pair has none on that day.
_OBSERVE = """
INSERT INTO exchange_rates (user_id, exchange_rate_id, base_currency, quote_currency,
                            rate_date, rate, source)
VALUES ($1, $2, $3, $4, $5, $6, 'TRANSFER')
ON CONFLICT (user_id, exchange_rate_id) DO NOTHING
"""

# The latest rate of the pair, or of the reverse pair, on or before the day; the direct pair
# wins a tie. Each branch reads one row of the pair-and-day index.
_LATEST = f"""
SELECT * FROM (
    (SELECT {_COLUMNS}, false AS inverted FROM exchange_rates
     WHERE user_id = $1 AND base_currency = $2 AND quote_currency = $3 AND rate_date <= $4
     ORDER BY rate_date DESC LIMIT 1)
    UNION ALL
    (SELECT {_COLUMNS}, true AS inverted FROM exchange_rates
     WHERE user_id = $1 AND base_currency = $3 AND quote_currency = $2 AND rate_date <= $4
     ORDER BY rate_date DESC LIMIT 1)
) AS found
ORDER BY rate_date DESC, inverted
LIMIT 1
"""


def _rate(row: asyncpg.Record) -> ExchangeRate:
    return ExchangeRate(
        user_id=row["user_id"],
        base=row["base_currency"],
        quote=row["quote_currency"],
        day=row["rate_date"],
        rate=row["rate"].normalize(),
        source=RateSource(row["source"]),
        revision=row["revision"],
        create_time=row["create_time"],
        update_time=row["update_time"],
    )


EXCHANGE_RATES = Table(
    name="exchange_rates",
    columns=_COLUMNS,
    key_columns=("user_id", "exchange_rate_id"),
    listing=Listing(
        fields={
            "base_currency_code": Field("base_currency", Kind.TEXT),
            "quote_currency_code": Field("quote_currency", Kind.TEXT),
            "rate_date": Field("rate_date", Kind.DATE),
            "create_time": Field("create_time", Kind.TIMESTAMP),
            "update_time": Field("update_time", Kind.TIMESTAMP),
        },
        id_column="exchange_rate_id",
        default_order=(OrderKey("rate_date", descending=True),),
    ),
    from_row=_rate,
)


class ExchangeRateRepository(RowRepository[ExchangeRate, ExchangeRateKey]):
    """Reads and writes exchange rates."""

    table = EXCHANGE_RATES

    async def enter(self, owner: UserKey, new: NewExchangeRate) -> ExchangeRate:
        """Record an entered rate, replacing one taken from a transfer. Raises NotFound for an
        unknown owner, AlreadyExists if the pair has an entered rate on that day."""
        key = ExchangeRateKey(owner.user_id, rate_id(new.base, new.quote, new.day))
        try:
            row = await self._connection.fetchrow(
                _ENTER, owner.user_id, key.exchange_rate_id, new.base, new.quote, new.day, new.rate
            )
        except asyncpg.ForeignKeyViolationError:
            raise NotFound(owner) from None
        if row is None:
            raise AlreadyExists(key)
        return _rate(row)

    async def observe(self, owner: UserKey, new: NewExchangeRate) -> None:
        """Keep the rate a transfer implies, unless the pair has a rate on that day."""
        await self._connection.execute(
            _OBSERVE,
            owner.user_id,
            rate_id(new.base, new.quote, new.day),
            new.base,
            new.quote,
            new.day,
            new.rate,
        )

    async def latest(self, owner: UserKey, base: str, quote: str, day: date) -> FoundRate | None:
        """The latest rate converting `base` into `quote` on or before `day`, if any."""
        row = await self._connection.fetchrow(_LATEST, owner.user_id, base, quote, day)
        if row is None:
            return None
        return FoundRate(_rate(row), inverted=row["inverted"])

    async def list_owned(self, owner: UserKey, query: ListQuery) -> Page[ExchangeRate]:
        """One page of the owner's rates."""
        return await self.list(query, scope={"user_id": owner.user_id})
