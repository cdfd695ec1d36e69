"""A fresh, migrated database of the benchmark's own on the chosen PostgreSQL server."""

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from service.db.database import Database
from service.db.migrate import apply_migrations

DATABASE_URL_VARIABLE = "FINANCE_TRACKER_BENCH_DATABASE_URL"
DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def server_url() -> str:
    """The PostgreSQL server to benchmark on: the configured one or the local one."""
    return os.environ.get(DATABASE_URL_VARIABLE) or DEFAULT_SERVER_URL


def with_database(url: str, name: str) -> str:
    """`url` pointing at database `name` instead of its own."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def check_local(url: str) -> None:
    """Refuse anything but a server on this machine: the benchmark loads it hard."""
    host = urlsplit(url).hostname
    if host not in (None, "", "127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"bench: refusing non-local PostgreSQL host {host!r}")


@asynccontextmanager
async def fresh_database(url: str, *, keep: bool = False) -> AsyncIterator[str]:
    """Create `finance_bench_<random>` on the server of `url`, migrate it with the service's
    migrations, yield its URL and drop it afterwards (unless `keep`)."""
    name = f"finance_bench_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            database_url = with_database(url, name)
            connection = await asyncpg.connect(database_url)
            try:
                await apply_migrations(connection)
            finally:
                await connection.close()
            yield database_url
        finally:
            if keep:
                print(f"kept database {name}")
            else:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def open_pool(url: str, *, size: int = 8) -> Database:
    """The service's own pool type over the benchmark database, for seeding and checks."""
    return await Database.connect(url, min_size=1, max_size=size, statement_timeout_seconds=1800.0)
