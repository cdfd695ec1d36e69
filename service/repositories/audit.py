"""The audit trail: recording events in the writer's transaction, and reading them."""

import dataclasses
import json
from typing import Any

import asyncpg

from service.domain.audit import AuditEvent, Caller
from service.domain.keys import ResourceKey, UserKey
from service.domain.listing import ListQuery, Page
from service.repositories.paging import fetch_page
from service.repositories.querying import Field, Kind, Listing

_COLUMNS = (
    "user_id, event_id, resource_name, action, actor, request_id,"
    " before::text AS before, after::text AS after, event_time"
)

_LISTING = Listing(
    fields={
        "resource": Field("resource_name", Kind.TEXT),
        "action": Field("action", Kind.TEXT),
        "actor": Field("actor", Kind.TEXT),
        "event_time": Field("event_time", Kind.TIMESTAMP),
    },
    # Event ids only grow: ordering by them is ordering by time.
    id_column="event_id",
    id_kind=Kind.INTEGER,
    default_order=(),
)

_INSERT = """
INSERT INTO audit_events (user_id, resource_name, action, actor, request_id, before, after)
VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb)
"""

# The collection of each kind of key in the stored subject of an event.
_COLLECTIONS = {
    "AccountKey": "accounts",
    "CategoryKey": "categories",
    "PayeeKey": "payees",
    "TransactionKey": "transactions",
}


def stored_subject(key: ResourceKey) -> str:
    """The subject of an event as the trail stores it: the resource's name, which
    `ListAuditEvents` filters on (`resource = "users/u/accounts/a"`)."""
    user_id, *rest = dataclasses.astuple(key)
    parts = ["users", user_id]
    if rest:
        parts += [_COLLECTIONS[type(key).__name__], rest[0]]
    return "/".join(parts)


def _event(row: asyncpg.Record) -> AuditEvent:
    return AuditEvent(
        user_id=row["user_id"],
        event_id=row["event_id"],
        resource_name=row["resource_name"],
        action=row["action"],
        actor=row["actor"],
        request_id=row["request_id"],
        before=None if row["before"] is None else json.loads(row["before"]),
        after=None if row["after"] is None else json.loads(row["after"]),
        event_time=row["event_time"],
    )


class AuditRepository:
    """Records and reads a user's audit events, oldest first."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection

    async def record(
        self,
        subject: ResourceKey,
        action: str,
        *,
        caller: Caller,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> None:
        """Add an event to the trail, in the writer's database transaction: the change and its
        record commit or roll back together."""
        await self._connection.execute(
            _INSERT,
            subject.user_id,
            stored_subject(subject),
            action,
            caller.actor,
            caller.request_id,
            None if before is None else json.dumps(before),
            None if after is None else json.dumps(after),
        )

    async def list_owned(self, owner: UserKey, query: ListQuery) -> Page[AuditEvent]:
        """One page of the owner's audit events."""
        rows, cursor = await fetch_page(
            self._connection,
            source="audit_events",
            columns=_COLUMNS,
            listing=_LISTING,
            query=query,
            scope={"user_id": owner.user_id},
        )
        return Page([_event(r) for r in rows], cursor)
