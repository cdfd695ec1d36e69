"""The pool wrapper against a real PostgreSQL."""

import asyncio
import time

import asyncpg
import pytest

from service.db.database import Database
from service.domain.errors import DeadlineExceeded, Unavailable


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
