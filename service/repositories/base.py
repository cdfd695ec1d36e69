"""What every repository shares: reading pages, conditional updates, idempotent creates."""

import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

import asyncpg

from service.db.database import Database
from service.domain.errors import EtagMismatch, FieldViolation, InvalidArgument, NotFound
from service.domain.listing import ListQuery, Page
from service.repositories.querying import Listing

T = TypeVar("T")


def fingerprint(*parts: object) -> bytes:
    """A digest of what a create request asked for, to tell a retry from a different request."""
    plain = [dataclasses.asdict(p) if dataclasses.is_dataclass(p) else p for p in parts]  # type: ignore[arg-type]
    return hashlib.sha256(json.dumps(plain, sort_keys=True, default=str).encode()).digest()


_USER_EXISTS = "SELECT EXISTS (SELECT 1 FROM users WHERE user_id = $1)"


async def check_user_exists(connection: asyncpg.Connection, user_id: str) -> None:
    """Raise NotFound unless the user exists."""
    if not await connection.fetchval(_USER_EXISTS, user_id):
        raise NotFound("User", f"users/{user_id}")


def request_id_reused() -> InvalidArgument:
    """The error for a request_id already used by a different request."""
    return InvalidArgument(
        [FieldViolation("request_id", "was already used by a different request; use a new one")]
    )


class BaseRepository(Generic[T]):
    """Typed access to one table whose rows are owned by a user.

    Subclasses declare the table, the selected columns, how a row becomes a domain object and
    how List calls may filter and order; this class turns those into get/list/update/delete.
    """

    table: str
    columns: str
    key_columns: tuple[str, ...]
    resource_type: str
    listing: Listing

    def __init__(self, database: Database) -> None:
        self._db = database

    def _from_row(self, row: asyncpg.Record) -> T:
        raise NotImplementedError

    def _name(self, key: tuple[str, ...]) -> str:
        """The resource name of `key`, for error messages and details."""
        raise NotImplementedError

    def _key_condition(self, first_param: int = 1) -> str:
        return " AND ".join(
            f"{column} = ${first_param + i}" for i, column in enumerate(self.key_columns)
        )

    async def _get(self, connection: asyncpg.Connection, key: tuple[str, ...]) -> T:
        row = await connection.fetchrow(
            f"SELECT {self.columns} FROM {self.table} WHERE {self._key_condition()}", *key
        )
        if row is None:
            raise NotFound(self.resource_type, self._name(key))
        return self._from_row(row)

    async def _list(
        self,
        connection: asyncpg.Connection,
        query: ListQuery,
        scope: Mapping[str, object],
    ) -> Page[T]:
        """One page of the rows whose `scope` columns have the given values."""
        params: list[Any] = list(scope.values())
        conditions = [f"{column} = ${i}" for i, column in enumerate(scope, start=1)]
        where, order = self.listing.sql(query, params)
        if where:
            conditions.append(where)
        params.append(query.page_size + 1)
        sql = (
            f"SELECT {self.columns} FROM {self.table}"
            f" WHERE {' AND '.join(conditions) or 'TRUE'} ORDER BY {order} LIMIT ${len(params)}"
        )
        rows = await connection.fetch(sql, *params)
        more = len(rows) > query.page_size
        rows = rows[: query.page_size]
        cursor = self.listing.cursor(query, rows[-1]) if more else None
        return Page([self._from_row(r) for r in rows], cursor)

    async def _list_owned(self, user_id: str, query: ListQuery) -> Page[T]:
        """One page of a user's rows. Raises NotFound if the user does not exist (checked
        only for an empty page: a page with rows proves it)."""
        async with self._db.connection() as connection:
            page = await self._list(connection, query, {"user_id": user_id})
            if not page.items:
                await check_user_exists(connection, user_id)
            return page

    async def _update(
        self,
        connection: asyncpg.Connection,
        key: tuple[str, ...],
        assignments: Mapping[str, object],
        expected_revision: int | None,
    ) -> T:
        """Set `assignments` on the row of `key`, if its revision is `expected_revision` (when
        given). Raises NotFound or EtagMismatch."""
        params: list[Any] = [*key, expected_revision]
        revision_param = len(params)
        sets = []
        for column, value in assignments.items():
            params.append(value)
            sets.append(f"{column} = ${len(params)}")
        sets += ["revision = nextval('revisions')", "update_time = clock_timestamp()"]
        row = await connection.fetchrow(
            f"UPDATE {self.table} SET {', '.join(sets)}"
            f" WHERE {self._key_condition()}"
            f" AND (${revision_param}::bigint IS NULL OR revision = ${revision_param})"
            f" RETURNING {self.columns}",
            *params,
        )
        if row is None:
            await self._lock_checked(connection, key, expected_revision)
            raise AssertionError("unreachable: the row exists with the expected revision")
        return self._from_row(row)

    async def _lock_checked(
        self, connection: asyncpg.Connection, key: tuple[str, ...], expected_revision: int | None
    ) -> T:
        """Lock the row of `key` for this transaction and check its revision."""
        row = await connection.fetchrow(
            f"SELECT {self.columns} FROM {self.table} WHERE {self._key_condition()} FOR UPDATE",
            *key,
        )
        if row is None:
            raise NotFound(self.resource_type, self._name(key))
        if expected_revision is not None and row["revision"] != expected_revision:
            raise EtagMismatch(self._name(key))
        return self._from_row(row)

    async def _delete(self, connection: asyncpg.Connection, key: tuple[str, ...]) -> None:
        await connection.execute(f"DELETE FROM {self.table} WHERE {self._key_condition()}", *key)

    async def _created(
        self,
        connection: asyncpg.Connection,
        row: asyncpg.Record | None,
        existing_sql: str,
        existing_params: tuple[object, ...],
        request_hash: bytes,
    ) -> T:
        """The result of an INSERT ... ON CONFLICT (request id) DO NOTHING RETURNING.

        No row means the request id was used before: return what that request created if it
        asked for the same thing, else reject the reuse.
        """
        if row is None:
            row = await connection.fetchrow(existing_sql, *existing_params)
            if row is None or row["create_request_hash"] != request_hash:
                raise request_id_reused()
        return self._from_row(row)


def maybe(value: T | None, convert: Callable[[T], Any]) -> Any:
    """`convert(value)`, or None when value is None."""
    return None if value is None else convert(value)
