"""Who is calling: the actor named in request metadata, for the audit trail."""

import uuid
from collections.abc import Iterable

from service.api.text import check_characters
from service.domain.audit import Caller

# Request metadata naming who makes a change, for the audit trail.
ACTOR_METADATA = "x-actor"
ANONYMOUS = "anonymous"

Metadata = Iterable[tuple[str, str | bytes]]


def actor(metadata: Metadata | None) -> str:
    """The caller's identity from request metadata, or `anonymous`; InvalidArgument on
    `x-actor` if it holds characters no text field may hold."""
    for key, value in metadata or ():
        if key == ACTOR_METADATA and isinstance(value, str) and value.strip():
            # Stored and shown again by ListAuditEvents, like any text a request sends. Python
            # clients cannot send such bytes, but other gRPC implementations pass them through.
            return check_characters(value, ACTOR_METADATA).strip()[:200]
    return ANONYMOUS


def caller(metadata: Metadata | None, request_id: uuid.UUID | None = None) -> Caller:
    """The caller of a request: the actor its metadata names, and its request_id if any."""
    return Caller(actor(metadata), request_id)
