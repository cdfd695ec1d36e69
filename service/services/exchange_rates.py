"""Exchange rates: recording a user's rates and finding the one that applies on a day."""

from datetime import date
from decimal import Decimal

from service.db.unit_of_work import UnitOfWork, Work
from service.domain.audit import Caller
from service.domain.errors import NotFound
from service.domain.exchange_rates import ExchangeRate, FoundRate, NewExchangeRate, rate_id
from service.domain.keys import ExchangeRateKey, UserKey, owner_of
from service.domain.listing import ListQuery, Page
from service.domain.revisions import check_revision
from service.services.owners import owned_page


class ExchangeRateService:
    """Use cases of exchange rates."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def create(self, owner: UserKey, new: NewExchangeRate, *, caller: Caller) -> ExchangeRate:
        """Record an entered rate (replacing one taken from a transfer); a retry with the same
        request_id returns the rate first recorded. Raises NotFound for an unknown owner,
        AlreadyExists if the pair has an entered rate on that day."""
        key = ExchangeRateKey(owner.user_id, rate_id(new.base, new.quote, new.day))

        async def work(w: Work) -> ExchangeRate:
            earlier = await w.claim(
                owner, "create_exchange_rate", owner, new, result_id=key.exchange_rate_id
            )
            if earlier is not None:
                return await w.exchange_rates.get(ExchangeRateKey(owner.user_id, earlier))
            rate = await w.exchange_rates.enter(owner, new)
            await w.record(key, "create", before=None, after=rate)
            return rate

        return await self._uow.run(work, caller=caller, user=owner)

    async def get(self, key: ExchangeRateKey, *, caller: Caller) -> ExchangeRate:
        """The rate of `key`. Raises NotFound."""
        return await self._uow.read(
            lambda w: w.exchange_rates.get(key), caller=caller, user=owner_of(key)
        )

    async def list(self, owner: UserKey, query: ListQuery, *, caller: Caller) -> Page[ExchangeRate]:
        """One page of the owner's rates. Raises NotFound for an unknown owner."""

        async def work(w: Work) -> Page[ExchangeRate]:
            return await owned_page(w, owner, await w.exchange_rates.list_owned(owner, query))

        return await self._uow.read(work, caller=caller, user=owner)

    async def update(
        self,
        key: ExchangeRateKey,
        rate: Decimal | None,
        *,
        expected_revision: int | None,
        caller: Caller,
    ) -> ExchangeRate:
        """Set the rate (an entered one from then on). Raises NotFound or EtagMismatch."""

        async def work(w: Work) -> ExchangeRate:
            before = await w.exchange_rates.get(key, lock=True)
            check_revision(key, before.revision, expected_revision)
            if rate is None:
                return before
            after = await w.exchange_rates.update(key, {"rate": rate, "source": "ENTERED"})
            await w.record(key, "update", before=before, after=after)
            return after

        return await self._uow.run(work, caller=caller, user=owner_of(key))

    async def delete(
        self, key: ExchangeRateKey, *, expected_revision: int | None, caller: Caller
    ) -> None:
        """Delete a rate. Raises NotFound or EtagMismatch."""

        async def work(w: Work) -> None:
            before = await w.exchange_rates.get(key, lock=True)
            check_revision(key, before.revision, expected_revision)
            await w.exchange_rates.delete(key)
            await w.record(key, "delete", before=before, after=None)

        await self._uow.run(work, caller=caller, user=owner_of(key))

    async def lookup(
        self, owner: UserKey, base: str, quote: str, day: date, *, caller: Caller
    ) -> FoundRate:
        """The latest rate converting `base` into `quote` on or before `day`. Raises NotFound
        (naming the pair's rate of that day) when there is none."""

        async def work(w: Work) -> FoundRate:
            found = await w.exchange_rates.latest(owner, base, quote, day)
            if found is None:
                if not await w.users.exists(owner):
                    raise NotFound(owner)
                raise NotFound(ExchangeRateKey(owner.user_id, rate_id(base, quote, day)))
            return found

        return await self._uow.read(work, caller=caller, user=owner)
