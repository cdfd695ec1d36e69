"""Capture the SQL the service's repositories run for a call, with its arguments, by running
the repository code itself over a connection that records every statement."""

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, cast

import asyncpg

from service.db.database import Database


@dataclass(frozen=True)
class Statement:
    """One statement as a repository sent it: SQL text with $n placeholders and arguments."""

    sql: str
    args: tuple[Any, ...]


# asyncpg runs these as plain statements when a transaction block starts and ends.
BEGIN = Statement("BEGIN", ())
COMMIT = Statement("COMMIT", ())


class _RecordingConnection:
    """Forwards to a real connection, noting each query method's SQL and arguments."""

    def __init__(self, connection: asyncpg.Connection, log: list[Statement]) -> None:
        self._connection = connection
        self._log = log

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)

    def _recorded(self, method: str) -> Callable[..., Awaitable[Any]]:
        async def call(sql: str, *args: Any, **kwargs: Any) -> Any:
            self._log.append(Statement(sql, args))
            return await getattr(self._connection, method)(sql, *args, **kwargs)

        return call

    async def fetch(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        return await self._recorded("fetch")(sql, *args, **kwargs)

    async def fetchrow(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        return await self._recorded("fetchrow")(sql, *args, **kwargs)

    async def fetchval(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        return await self._recorded("fetchval")(sql, *args, **kwargs)

    async def execute(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        return await self._recorded("execute")(sql, *args, **kwargs)

    def transaction(self, **options: Any) -> "_RecordingTransaction":
        return _RecordingTransaction(self._connection.transaction(**options), self._log)


class _RecordingTransaction:
    """Forwards to a real transaction, noting its BEGIN and COMMIT."""

    def __init__(self, transaction: Any, log: list[Statement]) -> None:
        self._transaction = transaction
        self._log = log

    async def start(self) -> None:
        self._log.append(BEGIN)
        await self._transaction.start()

    async def commit(self) -> None:
        await self._transaction.commit()
        self._log.append(COMMIT)

    async def rollback(self) -> None:
        await self._transaction.rollback()


class RecordingDatabase(Database):
    """A view of the service's Database whose connections record the statements run on them
    (it borrows connections from the database it wraps and owns no pool of its own)."""

    def __init__(self, database: Database) -> None:
        self._inner = database
        self.statement_timeout_seconds = database.statement_timeout_seconds
        self.statements: list[Statement] = []

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        async with self._inner.connection() as connection:
            yield cast(asyncpg.Connection, _RecordingConnection(connection, self.statements))


async def record(database: Database, call: Callable[[Database], Awaitable[Any]]) -> list[Statement]:
    """The statements `call` runs when given a recording view of `database`."""
    recording = RecordingDatabase(database)
    await call(recording)
    return recording.statements
