"""Migrations: applied once each, in order, even when two servers start at once."""

import asyncio
import uuid

import asyncpg

from service.db.migrate import apply_migrations, load_migrations
from tests.conftest import with_database


async def test_migration_files_are_numbered_without_gaps():
    versions = [m.version for m in load_migrations()]
    assert versions == list(range(1, len(versions) + 1))


async def test_concurrent_runs_apply_each_migration_once_and_reruns_do_nothing(server_url):
    name = f"finance_migrate_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = with_database(server_url, name)
        first, second = await asyncpg.connect(url), await asyncpg.connect(url)
        try:
            results = await asyncio.gather(apply_migrations(first), apply_migrations(second))
            expected = [m.version for m in load_migrations()]
            assert sorted(results[0] + results[1]) == expected
            assert await apply_migrations(first) == []
            rows = await first.fetch("SELECT version FROM schema_migrations ORDER BY version")
            assert [r["version"] for r in rows] == expected
        finally:
            await first.close()
            await second.close()
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


async def test_every_table_carries_the_tenant_key(database):
    async with database.connection() as connection:
        tables = await connection.fetch(
            """
            SELECT t.table_name,
                   bool_or(c.column_name = 'user_id') AS has_user_id
            FROM information_schema.tables t
            JOIN information_schema.columns c USING (table_schema, table_name)
            WHERE t.table_schema = 'public'
              -- The migrations' bookkeeping, and secrets all servers share: no tenant's data.
              AND t.table_name NOT IN ('schema_migrations', 'service_secrets')
            GROUP BY t.table_name
            """
        )
    assert tables
    assert all(row["has_user_id"] for row in tables), tables


async def test_migrate_leaves_no_advisory_lock_behind(database, database_url):
    assert await database.migrate() == []
    admin = await asyncpg.connect(database_url)
    try:
        held = await admin.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
        )
    finally:
        await admin.close()
    assert held == 0
