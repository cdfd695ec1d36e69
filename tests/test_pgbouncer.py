"""The service behind PgBouncer in transaction pooling mode, which hands each transaction any of
a few server connections and (before 1.21) keeps no prepared statements across them."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit

import asyncpg
import grpc
import pytest

from service.db.database import Database
from service.db.migrate import load_migrations
from service.db.unit_of_work import UnitOfWork
from service.domain.errors import Unavailable
from service.server import App, build_app, open_database, shared_page_tokens
from service.services.ledger import LedgerService
from tests.conftest import make_settings, with_database
from tests.pgbouncer import pgbouncer
from tests.workload import Clients, Ledger

pytestmark = pytest.mark.slow

# Fewer server connections than the service's pool has clients: transactions take turns on
# them, so a statement prepared in one transaction is missing in the next.
SERVER_CONNECTIONS = 3


@pytest.fixture(scope="module")
def bouncer(server_url: str) -> Iterator[str]:
    """The URL of a PgBouncer in front of the test server (append `/database`)."""
    with pgbouncer(server_url, pool_size=SERVER_CONNECTIONS) as url:
        yield url


def through_pgbouncer(bouncer: str, database_url: str) -> str:
    """The URL of the database of `database_url` through PgBouncer at `bouncer`."""
    return with_database(bouncer, urlsplit(database_url).path.lstrip("/"))


@pytest.fixture
async def pooled(bouncer: str, database: Database, database_url: str) -> AsyncIterator[App]:
    """A server whose pool reaches the test database through PgBouncer, prepared statements
    off, as FINANCE_TRACKER_DB_PREPARED_STATEMENTS=false configures it."""
    settings = make_settings(
        through_pgbouncer(bouncer, database_url),
        db_prepared_statements=False,
        db_pool_max_size=8,
    )
    through = await open_database(settings)
    app = build_app(settings, through, page_tokens=await shared_page_tokens(through))
    await app.start()
    try:
        yield app
    finally:
        await app.stop(grace=1)
        await through.close()


async def test_a_ledger_workload_through_pgbouncer_reconciles_exactly(pooled, database):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{pooled.port}") as channel:
        server = Clients.of(channel)
        ledger = await Ledger.open(server)
        await ledger.run([server], clients=8, transfers=15, seed=20261201)
        await ledger.check_reconciled([server])
    # And the books as a whole, recomputed from the postings on PostgreSQL itself.
    assert await LedgerService(UnitOfWork(database)).verify() == []


async def test_migrations_apply_once_through_pgbouncer_from_servers_starting_together(
    bouncer, server_url
):
    name = f"finance_pgbouncer_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = with_database(bouncer, name)
        databases = [
            await Database.connect(url, min_size=1, max_size=1, prepared_statements=False)
            for _ in range(2)
        ]
        try:
            results = await asyncio.gather(*(db.migrate() for db in databases))
        finally:
            for db in databases:
                await db.close()
        assert sorted(results[0] + results[1]) == [m.version for m in load_migrations()]
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


async def test_with_prepared_statements_on_pgbouncer_refuses_the_connection(bouncer, database_url):
    # Why the setting exists: the startup parameters sent with prepared statements on (the
    # statement timeout among them) are ones PgBouncer does not know.
    url = through_pgbouncer(bouncer, database_url)
    with pytest.raises(Unavailable, match="unsupported startup parameter"):
        await Database.connect(url, min_size=1, max_size=1)
