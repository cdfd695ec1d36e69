"""The audit trail: who changed what, when, and how it looked before and after."""

import dataclasses
import json
import uuid
from collections.abc import Callable
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


# How the audit trail pictures a resource before and after a change: as the API shows it. The
# composition root passes the API's presenter; the default is the domain object's own fields.
Presenter = Callable[[object], dict[str, Any]]


def plain_picture(resource: object) -> dict[str, Any]:
    """A resource's own fields, JSON-ready (values JSON does not know become strings)."""
    assert dataclasses.is_dataclass(resource)
    assert not isinstance(resource, type)
    picture: dict[str, Any] = json.loads(json.dumps(dataclasses.asdict(resource), default=str))
    return picture
