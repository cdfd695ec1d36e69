"""The audit trail: who changed what, when, and how it looked before and after."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.domain.keys import ResourceKey


@dataclass(frozen=True)
class Caller:
    """Who makes a change, and the request_id of the call (for the audit trail)."""

    actor: str
    request_id: uuid.UUID | None = None


# The actor of changes the service makes without a caller to name.
SYSTEM_CALLER = Caller(actor="finance-tracker")


@dataclass(frozen=True)
class AuditEvent:
    """One recorded change to one resource."""

    user_id: str
    event_id: int
    subject: ResourceKey
    action: str
    actor: str
    request_id: uuid.UUID | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    event_time: datetime
