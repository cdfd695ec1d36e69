"""The pool wrapper against a real PostgreSQL."""

import asyncio
import logging
import time
import uuid

import asyncpg
import pytest

from service.db.connections import CommitOutcomeUnknown, ConnectionLost, transaction
from service.db.database import Database
from service.domain.errors import DeadlineExceeded, Unavailable
from service.server import open_database
from tests.conftest import make_settings


async def test_close_does_not_hang_on_a_connection_still_in_use(database_url):
    db = await Database.connect(database_url, min_size=1, max_size=2)
    held = asyncio.Event()

    async def hold_forever() -> None:
        async with db.connection() as connection:
            held.set()
            await connection.execute("SELECT pg_sleep(30)")

    holder = asyncio.ensure_future(hold_forever())
    await held.wait()
    started = time.monotonic()
    await db.close(timeout=0.5)
    assert time.monotonic() - started < 5
    with pytest.raises((Unavailable, asyncpg.InterfaceError)):
        await holder


async def test_unreachable_database_is_unavailable():
    with pytest.raises(Unavailable):
        await Database.connect("postgresql://nobody@127.0.0.1:1/none", min_size=1, max_size=1)


async def test_ping_reports_a_live_database(database):
    assert await database.ping(timeout=5)


async def test_ping_answers_while_every_pool_connection_is_busy(database_url):
    db = await Database.connect(database_url, min_size=1, max_size=2)
    busy = 0
    all_busy = asyncio.Event()

    async def hold() -> None:
        nonlocal busy
        async with db.connection() as connection:
            busy += 1
            if busy == 2:
                all_busy.set()
            await connection.execute("SELECT pg_sleep(30)")

    holders = [asyncio.ensure_future(hold()) for _ in range(2)]
    try:
        await all_busy.wait()
        assert await db.ping(timeout=2)
    finally:
        for holder in holders:
            holder.cancel()
        await asyncio.gather(*holders, return_exceptions=True)
        await db.close(timeout=1)


@pytest.mark.parametrize("limit", ["statement_timeout", "command_timeout"])
async def test_a_statement_past_its_time_limit_is_deadline_exceeded(database_url, limit):
    # Either limit may fire first: the server's statement_timeout or asyncpg's command_timeout.
    db = await Database.connect(database_url, min_size=1, max_size=1, statement_timeout_seconds=0.3)
    try:
        sql = "SELECT pg_sleep(3)"
        if limit == "command_timeout":
            sql = "SET LOCAL statement_timeout = 0; SELECT pg_sleep(3)"
        with pytest.raises(DeadlineExceeded):
            async with db.connection() as connection:
                await connection.execute(sql)
        async with db.connection() as connection:  # and the connection is fine afterwards
            assert await connection.fetchval("SELECT 1") == 1
    finally:
        await db.close(timeout=1)


async def terminate(admin: asyncpg.Connection, pid: int) -> None:
    """End backend `pid` as pg_terminate_backend does, and wait until it is gone."""
    await admin.execute("SELECT pg_terminate_backend($1, 5000)", pid)


async def test_a_connection_killed_inside_a_transaction_is_lost_before_commit(database_url):
    db = await Database.connect(database_url, min_size=1, max_size=1)
    admin = await asyncpg.connect(database_url)
    user_id = f"lost-{uuid.uuid4().hex[:8]}"
    killed = 0

    async def insert_then_lose_the_connection() -> None:
        nonlocal killed
        async with db.connection() as connection, transaction(connection):
            await connection.execute(
                "INSERT INTO users (user_id, display_name) VALUES ($1, 'x')", user_id
            )
            killed = connection.get_server_pid()
            await terminate(admin, killed)
            await connection.fetchval("SELECT 1")

    try:
        with pytest.raises(ConnectionLost):
            await insert_then_lose_the_connection()
        # Nothing was committed, and the pool's one connection is a new one.
        async with db.connection() as connection:
            assert connection.get_server_pid() != killed
            found = await connection.fetchval(
                "SELECT count(*) FROM users WHERE user_id = $1", user_id
            )
        assert found == 0
    finally:
        await admin.close()
        await db.close()


async def test_a_connection_killed_during_commit_has_an_unknown_outcome(database_url):
    db = await Database.connect(database_url, min_size=1, max_size=1)
    admin = await asyncpg.connect(database_url)
    table = f"slow_commit_{uuid.uuid4().hex[:8]}"
    # A deferred constraint trigger runs at COMMIT: this one sleeps there, long enough to end
    # the backend while its COMMIT is in flight.
    await admin.execute(
        f"CREATE TABLE {table} (x int);"
        f" CREATE FUNCTION {table}() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN PERFORM pg_sleep(5); RETURN NULL; END $$;"
        f" CREATE CONSTRAINT TRIGGER slow AFTER INSERT ON {table}"
        f" DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {table}()"
    )

    async def insert_and_commit() -> None:
        async with db.connection() as connection, transaction(connection):
            await connection.execute(f"INSERT INTO {table} VALUES (1)")

    async def kill_when_committing() -> None:
        async with asyncio.timeout(10):
            while True:
                pid = await admin.fetchval(
                    "SELECT pid FROM pg_stat_activity WHERE query = 'COMMIT;'"
                    " AND state = 'active' AND wait_event = 'PgSleep'"
                )
                if pid is not None:
                    await terminate(admin, pid)
                    return
                await asyncio.sleep(0.02)

    try:
        killer = asyncio.ensure_future(kill_when_committing())
        with pytest.raises(CommitOutcomeUnknown):
            await insert_and_commit()
        await killer
        async with db.connection() as connection:
            assert await connection.fetchval("SELECT 1") == 1
    finally:
        await admin.execute(f"DROP TABLE {table}; DROP FUNCTION {table}()")
        await admin.close()
        await db.close()


async def test_a_misuse_of_a_live_connection_is_not_taken_for_an_outage(database):
    # asyncpg raises InterfaceError for a closed connection and for a misuse of its API alike;
    # only the first is an outage (UNAVAILABLE), the second a bug that must show as one.
    async def commit_what_was_never_started() -> None:
        async with database.connection() as connection, transaction(connection):
            await connection.transaction().commit()

    with pytest.raises(asyncpg.InterfaceError, match="not yet started"):
        await commit_what_was_never_started()
    assert await database.ping(timeout=5)


async def test_ping_survives_the_end_of_its_own_backend(database_url):
    db = await Database.connect(database_url, min_size=1, max_size=1)
    admin = await asyncpg.connect(database_url)
    try:
        assert await db.ping(timeout=5)
        await admin.execute(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
            " WHERE application_name = 'finance-tracker-health' AND datname = current_database()"
        )
        assert await db.ping(timeout=5)
    finally:
        await admin.close()
        await db.close(timeout=1)


class TestWithoutPreparedStatements:
    """`prepared_statements=False`, for a pooler in transaction mode: no named statements, and
    no startup parameters such a pooler refuses."""

    async def test_prepares_no_named_statement(self, database_url):
        db = await Database.connect(database_url, min_size=1, max_size=1, prepared_statements=False)
        try:
            async with db.connection() as connection:
                for _ in range(2):
                    assert await connection.fetchval("SELECT $1::int + 1", 1) == 2
                named = await connection.fetchval("SELECT count(*) FROM pg_prepared_statements")
            assert named == 0
        finally:
            await db.close()

    async def test_sends_application_name_only(self, database_url):
        db = await Database.connect(database_url, min_size=1, max_size=1, prepared_statements=False)
        try:
            async with db.connection() as connection:
                row = await connection.fetchrow(
                    "SELECT current_setting('application_name'),"
                    " current_setting('client_connection_check_interval')"
                )
            assert tuple(row or ()) == ("finance-tracker", "0")
        finally:
            await db.close()

    @pytest.mark.parametrize(("role_timeout", "warned"), [(None, True), ("5000", False)])
    async def test_warns_when_no_statement_timeout_is_in_effect(
        self, database_url, caplog, role_timeout, warned
    ):
        # The statement_timeout of the role or database, as PostgreSQL would apply it, comes
        # here from the URL's startup parameters (which asyncpg sends as given).
        url = database_url + (f"&statement_timeout={role_timeout}" if role_timeout else "")
        if role_timeout and "?" not in database_url:
            url = url.replace("&", "?", 1)
        with caplog.at_level(logging.WARNING, logger="service.db.database"):
            db = await Database.connect(url, min_size=1, max_size=1, prepared_statements=False)
        await db.close()
        assert ("no statement_timeout is in effect" in caplog.text) == warned

    async def test_is_what_the_setting_opens(self, database_url):
        settings = make_settings(database_url, db_prepared_statements=False)
        db = await open_database(settings)
        try:
            async with db.connection() as connection:
                await connection.fetchval("SELECT $1::int", 1)
                named = await connection.fetchval("SELECT count(*) FROM pg_prepared_statements")
            assert named == 0
        finally:
            await db.close()

    async def test_migrate_and_ping_prepare_nothing(self, database, database_url):
        db = await Database.connect(database_url, min_size=1, max_size=1, prepared_statements=False)
        try:
            assert await db.migrate() == []
            assert await db.ping(timeout=5)
            assert db._ping_connection is not None
            named = await db._ping_connection.fetchval(
                "SELECT count(*) FROM pg_prepared_statements"
            )
            assert named == 0
        finally:
            await db.close()
