"""Optimistic concurrency: a change names the revision it was read at (its etag)."""

from service.domain.errors import EtagMismatch
from service.domain.keys import ResourceKey


def check_revision(key: ResourceKey, revision: int, expected: int | None) -> None:
    """Raise EtagMismatch if the caller expected another revision than the current one."""
    if expected is not None and revision != expected:
        raise EtagMismatch(key)
