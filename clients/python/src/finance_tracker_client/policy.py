"""What every call shares, sync or async: deadlines, `request_id`s, metadata and retries."""

import random
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import Message

from finance_tracker_client.errors import (
    AbortedError,
    EtagMismatchError,
    FinanceError,
    ResourceExhaustedError,
    UnavailableError,
)

DEFAULT_TIMEOUT = 10.0
"""Seconds a call may take, retries included, unless it is given a `timeout` of its own."""

ACTOR_METADATA = "x-actor"

Metadata = Sequence[tuple[str, str]]

# Keepalive that a grpc server with default settings accepts: a ping only while calls are in
# flight, after a minute without data, at most two without data in between (a server
# answers faster pings with GOAWAY "too_many_pings"). It notices a peer gone silent during a
# long call; reconnecting after an outage waits at most 5 s instead of grpc's 120 s.
DEFAULT_CHANNEL_OPTIONS: tuple[tuple[str, Any], ...] = (
    ("grpc.keepalive_time_ms", 60_000),
    ("grpc.keepalive_timeout_ms", 20_000),
    ("grpc.keepalive_permit_without_calls", 0),
    ("grpc.http2.max_pings_without_data", 2),
    ("grpc.max_reconnect_backoff_ms", 5_000),
)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how fast to retry a call that may be retried: at most `max_attempts`
    attempts in all, waiting about `initial_backoff` seconds before the second and
    `multiplier` times longer before each next one, up to `max_backoff` (with jitter)."""

    max_attempts: int = 5
    initial_backoff: float = 0.1
    max_backoff: float = 2.0
    multiplier: float = 2.0

    def backoff(self, retry: int) -> float:
        """Seconds to wait before retry number `retry` (1 for the first): half fixed, half
        random, so that clients that failed together do not retry together."""
        ceiling = min(self.max_backoff, self.initial_backoff * self.multiplier ** (retry - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 (jitter, not secrets)


DEFAULT_RETRIES = RetryPolicy()
NO_RETRIES = RetryPolicy(max_attempts=1)


def ensure_request_id(request: object) -> bool:
    """Give `request` a fresh UUID as `request_id` if it has that field and it is empty.

    Returns whether the request now has one, which makes it safe to send again: the server
    answers a repeated `request_id` with the first result and writes nothing. The id is set on
    the caller's own object, so sending that same object again reuses it."""
    if not isinstance(request, Message) or "request_id" not in request.DESCRIPTOR.fields_by_name:
        return False
    if not getattr(request, "request_id"):  # noqa: B009 (a field known only at run time)
        setattr(request, "request_id", str(uuid.uuid4()))  # noqa: B010
    return True


@dataclass(frozen=True)
class CallSettings:
    """What a client applies to each call: default deadline, retries and metadata."""

    timeout: float = DEFAULT_TIMEOUT
    retries: RetryPolicy = DEFAULT_RETRIES
    metadata: Metadata = ()

    def start(self, request: object, *, read: bool, timeout: float | None) -> "Attempts":
        """The attempts of one call: fills in `request_id` and fixes the deadline."""
        safe = ensure_request_id(request) or read
        timeout = self.timeout if timeout is None else timeout
        return Attempts(self.retries, safe=safe, timeout=timeout)

    def merged(self, metadata: Metadata) -> tuple[tuple[str, str], ...]:
        """The client's metadata followed by the call's own."""
        return (*self.metadata, *metadata)


class Attempts:
    """The attempts of one call within one overall deadline."""

    def __init__(self, policy: RetryPolicy, *, safe: bool, timeout: float) -> None:
        self._policy = policy
        self._safe = safe
        self._deadline = time.monotonic() + timeout
        self.count = 1

    def remaining(self) -> float:
        """Seconds left until the call's deadline (never negative)."""
        return max(0.0, self._deadline - time.monotonic())

    def should_retry(self, error: FinanceError) -> bool:
        """Whether to try again after `error`: only UNAVAILABLE, ABORTED other than a stale
        etag (which a retry cannot fix), and RESOURCE_EXHAUSTED that says when to retry (a
        server's limit; a message too large says nothing), on a call that is safe to repeat (a
        read, or a write with a `request_id`), while attempts and time are left."""
        retryable = (
            isinstance(error, UnavailableError)
            or (isinstance(error, AbortedError) and not isinstance(error, EtagMismatchError))
            or (isinstance(error, ResourceExhaustedError) and error.retry_delay is not None)
        )
        return retryable and self._safe and self.count < self._policy.max_attempts

    def next_delay(self, error: FinanceError) -> float | None:
        """Seconds to wait before the next attempt, or None to give up and raise `error`.

        The wait is the policy's backoff, or longer if the server asked for it (RetryInfo);
        there is no next attempt when the wait would run past the deadline."""
        if not self.should_retry(error):
            return None
        delay = max(self._policy.backoff(self.count), error.retry_delay or 0.0)
        if delay >= self.remaining():
            return None
        self.count += 1
        return delay
