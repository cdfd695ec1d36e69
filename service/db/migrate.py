"""Forward-only schema migrations: numbered SQL files applied in order, once each."""

import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources

import asyncpg

log = logging.getLogger(__name__)

# Any fixed 64-bit number, the same in every server: holders of it migrate one at a time.
MIGRATION_LOCK_KEY = 0x66696E616E6365  # "finance"

_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    """One SQL file: its version number, name and statements."""

    version: int
    name: str
    sql: str


def load_migrations() -> list[Migration]:
    """The migrations shipped with the package, in version order."""
    found = []
    for entry in resources.files("service.db.migrations").iterdir():
        match = _FILE_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    return sorted(found, key=lambda m: m.version)


_CREATE_BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


async def apply_migrations(connection: asyncpg.Connection) -> list[int]:
    """Apply every migration not yet applied and return their versions.

    Each migration runs in a transaction of its own with its bookkeeping row, under a
    transaction-scoped advisory lock: servers starting at once wait for each other instead of
    racing, and the one that waited finds the migration applied. Nothing outlives a transaction,
    so this is as safe behind a pooler in transaction mode (PgBouncer) as on PostgreSQL itself.
    """
    async with _locked(connection):
        await connection.execute(_CREATE_BOOKKEEPING)
    done = []
    for migration in load_migrations():
        async with _locked(connection):
            if await connection.fetchval(
                "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)",
                migration.version,
            ):
                continue
            await connection.execute(migration.sql)
            await connection.execute(
                "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                migration.version,
                migration.name,
            )
        log.info("applied migration %04d_%s", migration.version, migration.name)
        done.append(migration.version)
    return done


@asynccontextmanager
async def _locked(connection: asyncpg.Connection) -> AsyncIterator[None]:
    """A transaction holding the migration lock until it ends. A statement timeout the
    database role sets does not apply to it: a migration takes as long as it takes."""
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK_KEY)
        await connection.execute("SET LOCAL statement_timeout = 0")
        yield
