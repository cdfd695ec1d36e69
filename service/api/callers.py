"""Who is calling: the principal the interceptor authenticated for this RPC, and the note
its `x-actor` metadata adds, for authorization and the audit trail."""

import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from service.api.text import check_characters
from service.domain.access import Principal
from service.domain.audit import Caller

# Request metadata in which a caller notes who it acts for, kept in the audit trail beside
# the authenticated principal.
ACTOR_METADATA = "x-actor"

Metadata = Iterable[tuple[str, str | bytes]]

# The principal of the RPC being handled: set by the interceptor around each handler (each
# RPC runs in a task of its own, which has its own copy), read by `caller`. No default: an RPC
# that reached a handler without authentication fails instead of running as anybody.
_PRINCIPAL: ContextVar[Principal] = ContextVar("principal")


@contextmanager
def acting_as(principal: Principal) -> Iterator[None]:
    """Make `principal` the caller of the RPC handled within the block."""
    token = _PRINCIPAL.set(principal)
    try:
        yield
    finally:
        _PRINCIPAL.reset(token)


def actor_note(metadata: Metadata | None) -> str | None:
    """What the caller's `x-actor` metadata says it acts for, if anything; InvalidArgument on
    `x-actor` if it holds characters no text field may hold."""
    for key, value in metadata or ():
        if key == ACTOR_METADATA and isinstance(value, str) and value.strip():
            # Stored and shown again by ListAuditEvents, like any text a request sends. Python
            # clients cannot send such bytes, but other gRPC implementations pass them through.
            return check_characters(value, ACTOR_METADATA).strip()[:200]
    return None


def current_principal() -> Principal:
    """The authenticated principal of the RPC being handled."""
    return _PRINCIPAL.get()


def caller(metadata: Metadata | None, request_id: uuid.UUID | None = None) -> Caller:
    """The caller of a request: the authenticated principal, its request_id if any, and the
    note its metadata adds."""
    return Caller(current_principal(), request_id, actor_note(metadata))
