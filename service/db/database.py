"""The asyncpg pool the server owns, with connection and transaction scopes."""

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, cast

import asyncpg

from service.db.connections import (
    BROKEN_CONNECTION_ERRORS,
    CONNECTION_ERRORS,
    CommitOutcomeUnknown,
    ConnectionLost,
    acquire,
    connection_broke,
    discard,
    release,
)
from service.db.migrate import apply_migrations
from service.domain.errors import DeadlineExceeded, InvalidArgument, Unavailable

log = logging.getLogger(__name__)

# Failures that make a health ping report the database as down.
PING_FAILURES: tuple[type[BaseException], ...] = (
    TimeoutError,
    Unavailable,
    *BROKEN_CONNECTION_ERRORS,
    asyncpg.InterfaceError,
    asyncpg.PostgresError,
)


# The kinds of database error `Database.errors` counts.
ERROR_KINDS = (
    "connection_lost",  # the connection broke, or none could be opened
    "commit_outcome_unknown",  # it broke while COMMIT was on its way
    "statement_timeout",  # a statement ran past its time limit
    "invalid_value",  # the database refused a value of the request (SQLSTATE class 22)
    "serialization_failure",
    "deadlock",
    "other",  # any other error of PostgreSQL or asyncpg
)


def error_kind(error: BaseException) -> str | None:
    """The kind of database error `error` is, for `Database.errors`; None for what is no
    error of the database (a domain error of a repository, a cancellation)."""
    if isinstance(error, CommitOutcomeUnknown):
        return "commit_outcome_unknown"
    if isinstance(error, ConnectionLost):
        return "connection_lost"
    if isinstance(error, asyncpg.SerializationError):
        return "serialization_failure"
    if isinstance(error, asyncpg.DeadlockDetectedError):
        return "deadlock"
    if isinstance(error, asyncpg.PostgresError | asyncpg.InterfaceError):
        return "other"
    return None


class PooledConnection(asyncpg.Connection):
    """A pool connection released without asyncpg's reset query.

    asyncpg resets a connection on release (unlock advisory locks, CLOSE ALL, UNLISTEN, RESET
    ALL): one more round trip on every call. The service leaves none of that state behind on a
    pooled connection: no SET, no LISTEN, no cursors beyond a transaction, and advisory locks
    only for the length of a transaction (which is also what lets the service run behind a
    pooler in transaction mode). A transaction left open is still rolled back by asyncpg,
    which does that apart from the reset query.

    Without that round trip a connection whose backend ends after its last statement goes
    back to the pool looking healthy; the next user's first statement then fails, and
    `Database.connection` discards it as broken (service.db.connections).
    """

    def get_reset_query(self) -> str:
        """No reset query: see the class docstring."""
        return ""


# asyncpg without named prepared statements: each query is parsed again, as an unnamed
# statement, in the same round trip as its execution.
_UNNAMED: dict[str, Any] = {"statement_cache_size": 0}


def connection_options(
    *, prepared_statements: bool, statement_timeout_seconds: float
) -> dict[str, Any]:
    """The asyncpg connection options for a pool, with or without prepared statements.

    Without them the service can run behind a pooler in transaction mode (PgBouncer before
    1.21), which hands each transaction a server connection of its own choice: a statement
    prepared on one is missing on the next. Such a pooler also refuses startup parameters it
    does not know (statement_timeout, client_connection_check_interval), and would not carry
    them to its server connections anyway; only application_name is sent then, and the others
    are the database role's to set (ALTER ROLE ... SET, docs/scaling.md).
    """
    settings = {"application_name": "finance-tracker"}
    if not prepared_statements:
        return {"server_settings": settings, **_UNNAMED}
    settings |= {
        "statement_timeout": str(int(statement_timeout_seconds * 1000)),
        # A connection thrown away mid-statement (a call cancelled at its deadline while it
        # waited for a lock) may never get its cancel request sent; the backend then notices
        # within a second that its client is gone, instead of holding its place in the lock
        # queue until the lock is free.
        "client_connection_check_interval": "1000",
    }
    return {"server_settings": settings}


@dataclass(frozen=True)
class PoolStats:
    """The pool at one moment: connections open, those lent out, the most it may open, and
    the callers waiting for one (while a connection is being opened, or none is free)."""

    size: int
    in_use: int
    max_size: int
    waiting: int


class Database:
    """An asyncpg pool created at server start and closed at shutdown.

    The unit of work takes connections through `connection()`; nothing holds a connection
    beyond one such scope.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        dsn: str,
        *,
        prepared_statements: bool = True,
        statement_timeout_seconds: float = 30.0,
    ) -> None:
        self._pool = pool
        self._dsn = dsn
        # For the connections of its own outside the pool: the migrations' and the ping's.
        self._own_connections: dict[str, Any] = {} if prepared_statements else _UNNAMED
        # The longest any one statement may run: units of work hold theirs to less when the
        # RPC's deadline comes sooner.
        self.statement_timeout_seconds = statement_timeout_seconds
        self._ping_connection: asyncpg.Connection | None = None
        self._waiting = 0
        # Errors of the database seen by `connection()`, by kind (see `error_kind`): what the
        # metrics report.
        self.errors: Counter[str] = Counter()

    def pool_stats(self) -> PoolStats:
        """How the pool stands now."""
        size = self._pool.get_size()
        return PoolStats(
            size=size,
            in_use=size - self._pool.get_idle_size(),
            max_size=self._pool.get_max_size(),
            waiting=self._waiting,
        )

    @classmethod
    async def connect(
        cls,
        dsn: str,
        *,
        min_size: int = 2,
        max_size: int = 10,
        statement_timeout_seconds: float = 30.0,
        prepared_statements: bool = True,
    ) -> "Database":
        """Open a pool to `dsn`. Raises Unavailable when the database cannot be reached.

        `prepared_statements` false is for a transaction pooler between the service and
        PostgreSQL (PgBouncer before 1.21): see `connection_options`.
        """
        options = connection_options(
            prepared_statements=prepared_statements,
            statement_timeout_seconds=statement_timeout_seconds,
        )
        try:
            pool = await asyncpg.create_pool(
                dsn,
                min_size=min_size,
                max_size=max_size,
                command_timeout=statement_timeout_seconds,
                connection_class=PooledConnection,
                **options,
            )
        except CONNECTION_ERRORS as error:
            raise Unavailable(f"cannot connect to the database: {error}") from error
        database = cls(
            pool,
            dsn,
            prepared_statements=prepared_statements,
            statement_timeout_seconds=statement_timeout_seconds,
        )
        if not prepared_statements:
            await database._warn_without_statement_timeout()
        return database

    async def _warn_without_statement_timeout(self) -> None:
        """Behind a pooler the statement timeout is the database role's (see
        `connection_options`): say so when it has none, since no statement then has a bound."""
        async with self.connection() as connection:
            limit = await connection.fetchval("SELECT current_setting('statement_timeout')")
        if limit == "0":
            log.warning(
                "no statement_timeout is in effect: with prepared statements off the service"
                " sends none, so set one for its role (ALTER ROLE ... SET statement_timeout)"
            )

    async def migrate(self) -> list[int]:
        """Apply pending migrations on a connection of their own, outside the pool. Returns
        their versions."""
        try:
            connection = await asyncpg.connect(self._dsn, **self._own_connections)
        except CONNECTION_ERRORS as error:
            raise Unavailable(f"cannot connect to the database: {error}") from error
        try:
            return await apply_migrations(connection)
        finally:
            await connection.close()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection for the duration of the block.

        Raises Unavailable when the database cannot be reached (ConnectionLost if no
        connection could be had) or the connection broke, DeadlineExceeded for a statement past
        its time limit, and InvalidArgument for data the database (or asyncpg, encoding a
        parameter) cannot take: a value out of range, a NUL in text. A connection that broke
        is discarded, never given back to the pool.
        """
        self._waiting += 1
        try:
            proxy = await acquire(self._pool)
        except ConnectionLost:
            self.errors["connection_lost"] += 1
            raise
        finally:
            self._waiting -= 1
        # A pool hands out a proxy that forwards every Connection method; asyncpg makes
        # isinstance(proxy, asyncpg.Connection) true, but the stubs do not.
        connection = cast(asyncpg.Connection, proxy)
        try:
            yield connection
        except asyncpg.DataError as error:
            # SQLSTATE class 22: the data came with the request. Validation should have caught
            # it; this is the safety net that keeps it from being an INTERNAL error.
            self.errors["invalid_value"] += 1
            log.warning("database rejected a value of a request: %s", error)
            raise InvalidArgument.single(
                "request", "a value is malformed or out of range"
            ) from error
        except (TimeoutError, asyncpg.QueryCanceledError) as error:
            # A statement past its time limit (the server's statement_timeout, which a unit of
            # work brings forward to the RPC's deadline, or the pool's command_timeout, which
            # asyncpg cancelled on the server): the database is fine. (TimeoutError is an
            # OSError, which would otherwise read as a lost connection.)
            self.errors["statement_timeout"] += 1
            raise DeadlineExceeded(
                "the request ran past its deadline or the time the database allows a statement"
            ) from error
        except BaseException as error:
            broke = connection_broke(error, connection)
            kind = "connection_lost" if broke else error_kind(error)
            if kind is not None:
                self.errors[kind] += 1
            if not broke:
                raise
            discard(connection)
            log.info("database connection lost: %r", error)
            raise Unavailable("the database is unavailable") from error
        finally:
            await release(self._pool, proxy)

    async def ping(self, *, timeout: float) -> bool:
        """Whether the database answers a trivial query within `timeout` seconds.

        The ping has a connection of its own, outside the pool: a pool whose connections are
        all busy (with slow queries of a few callers, say) is not a database that is down, and
        no request may turn the service's health NOT_SERVING. A kept connection that fails is
        replaced and tried once more: its backend may have ended while the database is fine.
        """
        if self._pool.is_closing():
            raise asyncpg.InterfaceError("the database was closed")
        kept = self._ping_connection is not None
        try:
            async with asyncio.timeout(timeout):
                return await self._ping_once() or (kept and await self._ping_once())
        except TimeoutError:
            self._drop_ping_connection()
            return False

    async def _ping_once(self) -> bool:
        try:
            if self._ping_connection is None or self._ping_connection.is_closed():
                self._ping_connection = await asyncpg.connect(
                    self._dsn,
                    server_settings={"application_name": "finance-tracker-health"},
                    **self._own_connections,
                )
            await self._ping_connection.fetchval("SELECT 1")
        except PING_FAILURES as error:
            log.debug("database ping failed: %r", error)
            self._drop_ping_connection()
            return False
        except BaseException:
            self._drop_ping_connection()  # cancelled mid-query: its state is unknown
            raise
        return True

    def _drop_ping_connection(self) -> None:
        """Throw the ping's connection away: after a failure its state is unknown."""
        if self._ping_connection is not None:
            discard(self._ping_connection)
            self._ping_connection = None

    async def close(self, *, timeout: float = 5.0) -> None:
        """Close the pool, waiting at most `timeout` seconds for connections in use.

        `Pool.close()` waits for every acquired connection and can hang on a frozen server, so
        after the timeout the pool is terminated.
        """
        self._drop_ping_connection()
        try:
            await asyncio.wait_for(self._pool.close(), timeout)
        except TimeoutError:
            log.warning("database pool did not close in %.1fs; terminating it", timeout)
            self._pool.terminate()
