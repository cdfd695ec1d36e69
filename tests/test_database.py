"""The pool wrapper against a real PostgreSQL."""

import asyncio
import time

import asyncpg
import pytest

from service.db.database import Database
from service.domain.errors import Unavailable


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
