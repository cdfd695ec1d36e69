"""Reading the audit trail."""

import json
from typing import Any

import asyncpg

from service.db.database import Database
from service.domain.audit import AuditEvent, Caller
from service.domain.listing import ListQuery, Page
from service.repositories.base import check_user_exists
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


async def record_event(
    connection: asyncpg.Connection,
    *,
    user_id: str,
    resource_name: str,
    action: str,
    caller: Caller,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    """Add an event to the audit trail, in the caller's database transaction: the change and
    its record commit or roll back together."""
    await connection.execute(
        _INSERT,
        user_id,
        resource_name,
        action,
        caller.actor,
        caller.request_id,
        None if before is None else json.dumps(before),
        None if after is None else json.dumps(after),
    )


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
    """Reads audit events, oldest first."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def list(self, owner: str, query: ListQuery) -> Page[AuditEvent]:
        """One page of the owner's audit events. Raises NotFound if the owner does not exist."""
        params: list[object] = [owner]
        where, order = _LISTING.sql(query, params)
        params.append(query.page_size + 1)
        async with self._db.connection() as connection:
            rows = await connection.fetch(
                f"SELECT {_COLUMNS} FROM audit_events"
                f" WHERE user_id = $1{' AND ' + where if where else ''}"
                f" ORDER BY {order} LIMIT ${len(params)}",
                *params,
            )
            if not rows:
                await check_user_exists(connection, owner)
        more = len(rows) > query.page_size
        rows = rows[: query.page_size]
        cursor = _LISTING.cursor(query, rows[-1]) if more else None
        return Page([_event(r) for r in rows], cursor)
