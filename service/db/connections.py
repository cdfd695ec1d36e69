"""Pooled connections that break: how to tell, how to throw one away, what it means for a
transaction.

A connection breaks when its backend ends (pg_terminate_backend, a PostgreSQL shutdown or
crash) or the network fails. asyncpg tells in different ways, depending on when it notices:
- during a statement: ConnectionDoesNotExistError (caused by AdminShutdownError when the
  server said why), or OSError;
- in the moment between the server's FATAL message (57P01, sent to an idle connection too) and
  the end of the socket: the protocol has taken the message as an error of no operation and
  waits for a ReadyForQuery that never comes, so the next statement fails with
  InternalClientError "cannot switch to state N; another operation (2) is in progress",
  although the connection does not look closed yet;
- after the end of the socket: asyncpg closes the connection and gives its holder back to the
  pool at once (Connection._cleanup -> PoolConnectionHolder._release_on_close), which detaches
  the proxy the caller still holds; every method of that proxy, and Transaction methods on the
  connection, then raise InterfaceError ("released back to the pool", "the underlying
  connection is closed").

The functions here classify all of these the same way, close such a connection so that the
pool never hands it out again, and tell a transaction that certainly did not commit (the
connection broke before COMMIT was sent: safe to run again) from one whose COMMIT has an
unknown outcome (only the caller can retry, with the same request_id).
"""

import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from service.domain.errors import Unavailable

log = logging.getLogger(__name__)

# Failures that mean the database cannot be reached, as opposed to a bad query.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
)

# Errors that mean the connection they came from is unusable, whatever its state looks like:
# InternalClientError is asyncpg's protocol state out of step with the server (see the module
# docstring), never a problem of the query.
BROKEN_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    *CONNECTION_ERRORS,
    asyncpg.InternalClientError,
)


class ConnectionLost(Unavailable):
    """The connection broke before COMMIT was sent, or could not be opened: nothing of the
    transaction was committed, so it may run again from the start on another connection."""

    def __init__(self) -> None:
        super().__init__("the database is unavailable")


class CommitOutcomeUnknown(Unavailable):
    """The connection broke after COMMIT was sent and before its answer came: the transaction
    may or may not have committed. Running it again here could do it twice; the caller
    retries with the same request_id, which returns the first result if it committed."""

    def __init__(self) -> None:
        super().__init__("the database became unavailable while committing; retry the request")


# What a unit of work retries whole, from BEGIN: conflicts the database resolved by rolling
# the transaction back, and connections lost with nothing committed.
RETRYABLE_TRANSACTION_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
    ConnectionLost,
)


async def acquire(pool: asyncpg.Pool) -> PoolConnectionProxy:
    """A connection from `pool`; raises ConnectionLost when none can be opened (the database
    is down, restarting or refusing connections): nothing was sent, so it may be retried."""
    try:
        return await pool.acquire()
    except CONNECTION_ERRORS as error:
        raise ConnectionLost from error


async def release(pool: asyncpg.Pool, proxy: PoolConnectionProxy) -> None:
    """Give a connection back to `pool`; nothing to do if it was discarded.

    Whatever the block did stands, so a connection that breaks here is not the caller's error:
    - asyncpg resets a connection on release (a ROLLBACK after a cancelled query) and, if that
      fails, closes it and raises;
    - Pool.release() checks that the proxy is still attached and then starts the holder's
      release in a task of its own (asyncio.shield), one loop iteration later. If the end of
      the socket is processed in between, asyncpg takes the holder back itself, and the late
      release raises InternalClientError ("release() called on a free connection holder").
    In both cases the pool already holds the holder, once, without the broken connection.
    """
    try:
        await pool.release(proxy)
    except BROKEN_CONNECTION_ERRORS as error:
        log.info("database connection lost while released: %r", error)


def is_unusable(connection: asyncpg.Connection) -> bool:
    """Whether `connection` (a pool's proxy, or a plain connection) is closed.

    A proxy whose connection asyncpg closed and took back raises InterfaceError for every
    method, is_closed() included: that too means closed.
    """
    try:
        return connection.is_closed()
    except asyncpg.InterfaceError:
        return True


def connection_broke(error: BaseException, connection: asyncpg.Connection) -> bool:
    """Whether `error`, raised while using `connection`, means that the connection broke.

    InterfaceError counts only when the connection is in fact closed: asyncpg raises it for a
    closed connection as well as for a misuse of its API, which is a bug to report, not an
    outage.
    """
    if isinstance(error, BROKEN_CONNECTION_ERRORS):
        return True
    return isinstance(error, asyncpg.InterfaceError) and is_unusable(connection)


def discard(connection: asyncpg.Connection) -> None:
    """Close a broken pooled connection at once, so that the pool never hands it out again.

    terminate() on a proxy closes its connection and gives the holder back to the pool, which
    opens a new connection on the next acquire; releasing the proxy afterwards does nothing.
    If asyncpg already closed the connection and took it back, the detached proxy raises
    InterfaceError: there is nothing left to close.
    """
    with contextlib.suppress(asyncpg.InterfaceError):
        connection.terminate()


IsolationLevel = Literal["read_committed", "read_uncommitted", "serializable", "repeatable_read"]


@asynccontextmanager
async def transaction(
    connection: asyncpg.Connection,
    *,
    isolation: IsolationLevel | None = None,
    readonly: bool = False,
) -> AsyncIterator[None]:
    """A transaction on `connection` for the duration of the block: committed when the block
    ends normally, rolled back when it raises or is cancelled.

    Unlike `async with connection.transaction()`, a broken connection gives ConnectionLost or
    CommitOutcomeUnknown (both Unavailable) instead of asyncpg's InterfaceError from
    Transaction.__aexit__, and the connection is discarded, as it is when the rollback fails
    or is cancelled: asyncpg would otherwise reset it in the pool with a transaction open.
    """
    xact = connection.transaction(isolation=isolation, readonly=readonly)
    try:
        await xact.start()
        yield
    except BaseException as error:
        if connection_broke(error, connection):
            discard(connection)
            log.info("database connection lost in a transaction: %r", error)
            raise ConnectionLost from error
        await _roll_back(xact, connection)
        raise
    if is_unusable(connection):
        # Closed after the block's last statement: COMMIT was never sent.
        discard(connection)
        raise ConnectionLost
    try:
        await xact.commit()
    except asyncpg.PostgresError as error:
        if not connection_broke(error, connection):
            # The server refused to commit (a serialization failure, a deferred constraint) and
            # rolled back; the connection is fine.
            raise
        discard(connection)
        log.warning("database connection lost during COMMIT: outcome unknown: %r", error)
        raise CommitOutcomeUnknown from error
    except BaseException as error:
        # Cancelled (the deadline) or failed in the client while COMMIT may be on its way: the
        # connection's state is unknown too.
        broke = connection_broke(error, connection)
        discard(connection)
        if broke:
            log.warning("database connection lost during COMMIT: outcome unknown: %r", error)
            raise CommitOutcomeUnknown from error
        raise


async def _roll_back(xact: asyncpg.transaction.Transaction, connection: asyncpg.Connection) -> None:
    """Roll back after the block raised; a connection that cannot roll back is discarded (the
    server rolls back when it goes). The block's own error is what the caller gets."""
    try:
        await xact.rollback()
    except BaseException as error:
        discard(connection)
        if not isinstance(error, Exception):
            raise  # cancelled again while rolling back
        log.info("rollback failed; connection discarded: %r", error)
