"""The audit trail: who changed what, when, and how it looked before and after."""

import dataclasses
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.domain.access import SYSTEM, Principal
from service.domain.keys import ResourceKey


@dataclass(frozen=True)
class Caller:
    """Who calls (the authenticated principal), the request_id of the call, and the caller's
    own note on who it acts for (kept beside the principal in the audit trail, never instead
    of it)."""

    principal: Principal
    request_id: uuid.UUID | None = None
    note: str | None = None


# The caller of work the service does without a request: verification, maintenance.
SYSTEM_CALLER = Caller(SYSTEM)


@dataclass(frozen=True)
class AuditEvent:
    """One recorded change to one resource."""

    user_id: str
    event_id: int
    subject: ResourceKey
    action: str
    actor: str
    actor_service: str | None
    actor_note: str | None
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
