"""What the repositories of users, accounts, categories and payees share: inserting, reading,
locking, listing, updating and deleting one row by its typed key."""

import dataclasses
import functools
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

import asyncpg

from service.domain.errors import NotFound
from service.domain.keys import ResourceKey, UserKey
from service.domain.listing import ListQuery, Page
from service.repositories.paging import fetch_page
from service.repositories.querying import Listing

T = TypeVar("T")
K = TypeVar("K", bound=ResourceKey)


@dataclasses.dataclass(frozen=True)
class Table(Generic[T]):
    """A table of resources: its columns, key columns (in the order of the key's fields), how
    List calls filter and order it, and how a row becomes a domain object."""

    name: str
    columns: str
    key_columns: tuple[str, ...]
    listing: Listing
    from_row: Callable[[asyncpg.Record], T]

    @functools.cached_property
    def key_condition(self) -> str:
        """`col1 = $1 AND col2 = $2` over the key columns."""
        return " AND ".join(f"{c} = ${i}" for i, c in enumerate(self.key_columns, start=1))

    @functools.cached_property
    def select_by_key(self) -> str:
        """The SELECT of one row by its key (built once: it runs on every Get)."""
        return f"SELECT {self.columns} FROM {self.name} WHERE {self.key_condition}"


def key_values(key: ResourceKey) -> tuple[str, ...]:
    """The values of `key`'s fields, in order: the parameters of `Table.key_condition`."""
    # vars() of a frozen dataclass keeps the fields' order; dataclasses.astuple would also
    # deep-copy each value, on every call.
    return tuple(vars(key).values())


class RowRepository(Generic[T, K]):
    """Typed access to the rows of one table, bound to one connection."""

    table: Table[T]

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection

    async def get(self, key: K, *, lock: bool = False) -> T:
        """The resource of `key`, locked for the transaction if `lock`. Raises NotFound."""
        row = await self._connection.fetchrow(
            f"{self.table.select_by_key} FOR UPDATE" if lock else self.table.select_by_key,
            *key_values(key),
        )
        if row is None:
            raise NotFound(key)
        return self.table.from_row(row)

    async def list(self, query: ListQuery, *, scope: Mapping[str, object]) -> Page[T]:
        """One page of the rows whose `scope` columns have the given values."""
        rows, cursors, cursor = await fetch_page(
            self._connection,
            source=self.table.name,
            columns=self.table.columns,
            listing=self.table.listing,
            query=query,
            scope=scope,
        )
        return Page([self.table.from_row(r) for r in rows], cursor, cursors)

    async def update(self, key: K, assignments: Mapping[str, object]) -> T:
        """Set `assignments` on the row of `key` and give it a new revision. Raises NotFound."""
        params: list[Any] = list(key_values(key))
        sets = []
        for column, value in assignments.items():
            params.append(value)
            sets.append(f"{column} = ${len(params)}")
        sets += ["revision = nextval('revisions')", "update_time = clock_timestamp()"]
        row = await self._connection.fetchrow(
            f"UPDATE {self.table.name} SET {', '.join(sets)}"
            f" WHERE {self.table.key_condition} RETURNING {self.table.columns}",
            *params,
        )
        if row is None:
            raise NotFound(key)
        return self.table.from_row(row)

    async def delete(self, key: K) -> bool:
        """Delete the row of `key`. Returns False while other rows refer to it: the database
        transaction has then failed, and the caller raises."""
        try:
            await self._connection.execute(
                f"DELETE FROM {self.table.name} WHERE {self.table.key_condition}",
                *key_values(key),
            )
        except asyncpg.ForeignKeyViolationError:
            return False
        return True

    async def _insert_owned(self, sql: str, owner: UserKey, *args: object) -> T:
        """Run an owner's `INSERT ... RETURNING` (`owner.user_id` is its first parameter).
        Raises NotFound for an unknown owner."""
        try:
            row = await self._connection.fetchrow(sql, owner.user_id, *args)
        except asyncpg.ForeignKeyViolationError:
            raise NotFound(owner) from None
        assert row is not None
        return self.table.from_row(row)
