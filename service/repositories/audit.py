"""The audit trail: recording events in the writer's transaction, and reading them."""

import json
from typing import Any

import asyncpg

from service.domain.audit import AuditEvent, Caller
from service.domain.filter_syntax import Comparison
from service.domain.keys import (
    AccountKey,
    BudgetKey,
    CategoryKey,
    ExchangeRateKey,
    MemberKey,
    PayeeKey,
    RecurringTransactionKey,
    ResourceKey,
    RuleKey,
    StatementKey,
    TransactionKey,
    UserKey,
)
from service.domain.listing import ListQuery, Page
from service.repositories.paging import fetch_page
from service.repositories.querying import AddParam, Field, Kind, Listing, invalid_filter
from service.repositories.rows import key_values

_COLUMNS = (
    "user_id, event_id, subject_kind, subject_id, action, actor, actor_service, actor_note,"
    " request_id,"
    " before::text AS before, after::text AS after, event_time"
)

# The kind each key is stored as; an event about a user itself has none.
_KINDS: dict[type, str] = {
    AccountKey: "account",
    CategoryKey: "category",
    PayeeKey: "payee",
    TransactionKey: "transaction",
    MemberKey: "member",
    RecurringTransactionKey: "recurring_transaction",
    ExchangeRateKey: "exchange_rate",
    RuleKey: "rule",
    StatementKey: "statement",
    BudgetKey: "budget",
}
_KEYS = {kind: key_type for key_type, kind in _KINDS.items()}


def _subject_columns(key: ResourceKey) -> tuple[str | None, str | None]:
    """The (subject_kind, subject_id) of an event about `key`."""
    if isinstance(key, UserKey):
        return None, None
    # The ids below the user, joined: a statement is its account's id and its own.
    return _KINDS[type(key)], "/".join(key_values(key)[1:])


def _subject(row: asyncpg.Record) -> ResourceKey:
    if row["subject_kind"] is None:
        return UserKey(row["user_id"])
    ids = row["subject_id"].split("/")
    key: ResourceKey = _KEYS[row["subject_kind"]](row["user_id"], *ids)
    return key


def _resource(c: Comparison, param: AddParam) -> str:
    """`resource = "users/u/accounts/a"`: the events about that resource (read into a key by
    the API layer)."""
    if c.reference is None:
        raise invalid_filter("'resource' takes = or != and a resource name")
    kind, subject_id = _subject_columns(c.reference)
    matches = (
        f"(user_id = {param(c.reference.user_id)}"
        f" AND subject_kind IS NOT DISTINCT FROM {param(kind)}::text"
        f" AND subject_id IS NOT DISTINCT FROM {param(subject_id)}::text)"
    )
    return matches if c.op == "=" else f"(NOT {matches})"


_LISTING = Listing(
    fields={
        "resource": Field("subject_id", Kind.CUSTOM, compile=_resource),
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
INSERT INTO audit_events (user_id, subject_kind, subject_id, action, actor, actor_service,
                          actor_note, request_id, before, after)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10::jsonb)
"""


def _event(row: asyncpg.Record) -> AuditEvent:
    return AuditEvent(
        user_id=row["user_id"],
        event_id=row["event_id"],
        subject=_subject(row),
        action=row["action"],
        actor=row["actor"],
        actor_service=row["actor_service"],
        actor_note=row["actor_note"],
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
            *_subject_columns(subject),
            action,
            caller.principal.subject,
            caller.principal.service,
            caller.note,
            caller.request_id,
            None if before is None else json.dumps(before),
            None if after is None else json.dumps(after),
        )

    async def list_owned(self, owner: UserKey, query: ListQuery) -> Page[AuditEvent]:
        """One page of the owner's audit events."""
        rows, cursors, cursor = await fetch_page(
            self._connection,
            source="audit_events",
            columns=_COLUMNS,
            listing=_LISTING,
            query=query,
            scope={"user_id": owner.user_id},
        )
        return Page([_event(r) for r in rows], cursor, cursors)
