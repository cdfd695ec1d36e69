"""Limits on what callers may ask of one server process: finance RPCs in flight at once, and
each principal's rate of calls. Both answer at once, before any work reaches the database.

The concurrency limit is counted here rather than by grpc.aio's `maximum_concurrent_rpcs`:
that one answers RESOURCE_EXHAUSTED without a RetryInfo, counts health checks too (a probe
refused under load gets a busy replica restarted), and has let calls past its limit
(grpc/grpc #30424, #41531).
"""

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass

from service.domain.access import Principal
from service.domain.errors import ResourceExhausted

Clock = Callable[[], float]

# When a caller refused for the server's load may try again: about as long as the calls
# holding the slots take, and the same pause a caller gets when the database is unavailable.
BUSY_RETRY_SECONDS = 1.0

# The most principals whose buckets are kept. Buckets full again are dropped as calls come (a
# full bucket is the same as none), so the table holds only the principals of the last
# `burst / rate` seconds; this bounds it even then, at the cost of a fresh burst for the
# principal idle longest.
MAX_PRINCIPALS = 100_000


class ConcurrencyLimit:
    """At most `limit` RPCs at once (no limit when 0): one more is refused at once, never
    queued."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self.in_flight = 0

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the slots for the block; ResourceExhausted when none is free."""
        if self._limit and self.in_flight >= self._limit:
            raise ResourceExhausted(
                "the server is handling as many calls as it may; retry later",
                reason="CONCURRENCY_LIMIT_EXCEEDED",
                retry_after=BUSY_RETRY_SECONDS,
            )
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """A token bucket per key: `burst` calls at once, refilled at `rate` calls per second.

    `clock` is monotonic seconds (tests pin it).
    """

    def __init__(
        self,
        *,
        rate: float,
        burst: int,
        clock: Clock = time.monotonic,
        max_keys: int = MAX_PRINCIPALS,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"expected a positive rate and burst, got {rate!r} and {burst!r}")
        self._rate = rate
        self._burst = burst
        self._clock = clock
        self._max_keys = max_keys
        # By the time of their last call, oldest first.
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def charge(self, key: str) -> None:
        """Take one call from `key`'s bucket; ResourceExhausted, saying when the next call may
        come, when it is empty (a refused call takes nothing)."""
        now = self._clock()
        self._forget_idle(now)
        bucket = self._buckets.pop(key, None) or _Bucket(float(self._burst), now)
        bucket.tokens = self._tokens(bucket, now)
        bucket.updated = now
        self._buckets[key] = bucket
        if bucket.tokens < 1:
            raise ResourceExhausted(
                "the caller has made more calls than its rate limit allows; retry later",
                reason="RATE_LIMIT_EXCEEDED",
                retry_after=(1 - bucket.tokens) / self._rate,
            )
        bucket.tokens -= 1

    def _tokens(self, bucket: _Bucket, now: float) -> float:
        return min(self._burst, bucket.tokens + max(0.0, now - bucket.updated) * self._rate)

    def _forget_idle(self, now: float) -> None:
        """Drop the buckets full again, oldest first, and the oldest beyond `max_keys`."""
        while self._buckets:
            oldest = next(iter(self._buckets.values()))
            if self._tokens(oldest, now) < self._burst and len(self._buckets) < self._max_keys:
                return
            self._buckets.popitem(last=False)


class Limits:
    """The limits of one server: a concurrency limit (none when 0), and a rate limit per
    principal when `rate` is set, with buckets of `burst` calls (by default one second's
    worth). Principals are told apart by their subject: without authentication every caller
    is `anonymous`, and all share one bucket."""

    def __init__(
        self,
        *,
        max_concurrent_rpcs: int = 0,
        rate: float | None = None,
        burst: int | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self.concurrency = ConcurrencyLimit(max_concurrent_rpcs)
        self.rates = None
        if rate is not None:
            self.rates = RateLimiter(rate=rate, burst=burst or math.ceil(rate), clock=clock)

    def slot(self) -> AbstractContextManager[None]:
        """One of the concurrency limit's slots, held for the block; ResourceExhausted when
        none is free."""
        return self.concurrency.slot()

    def charge(self, principal: Principal) -> None:
        """Count one call of `principal` against its rate; ResourceExhausted past it."""
        if self.rates is not None:
            self.rates.charge(principal.subject)
