"""The deadline of the RPC being handled, which PostgreSQL holds each of its statements to."""

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# When the RPC being handled must be done, in time.monotonic() seconds: request-scoped context
# like its principal, set by the interceptor around each handler (each RPC runs in a task of
# its own, which has its own copy) and read by every unit of work it opens. None outside RPCs,
# and for calls without a deadline.
_DEADLINE: ContextVar[float | None] = ContextVar("deadline", default=None)


@contextmanager
def deadline_in(seconds: float | None) -> Iterator[None]:
    """Make the database work done within the block end `seconds` from now (no deadline when
    None)."""
    token = _DEADLINE.set(None if seconds is None else time.monotonic() + seconds)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def statement_timeout_ms(limit: float) -> int:
    """The statement_timeout for statements starting now, in milliseconds: the time left
    before the deadline, and at most `limit` seconds. At least 1: 0 would mean no timeout."""
    seconds = limit
    deadline = _DEADLINE.get()
    if deadline is not None:
        seconds = min(seconds, deadline - time.monotonic())
    return max(1, math.ceil(seconds * 1000))
