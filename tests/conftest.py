"""Fixtures: one real PostgreSQL per test run, one server on a free port, a fresh user per test.

The database comes from FINANCE_TRACKER_TEST_DATABASE_URL when set, otherwise from an embedded
PostgreSQL in a temporary directory. Either way the run gets a database of its own, created
empty, migrated, and dropped at the end.
"""

import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import grpc
import pytest
from finance.v1 import (
    account_service_pb2_grpc,
    audit_service_pb2_grpc,
    budget_service_pb2_grpc,
    category_service_pb2_grpc,
    exchange_rate_service_pb2_grpc,
    member_service_pb2_grpc,
    payee_service_pb2_grpc,
    recurring_transaction_service_pb2_grpc,
    report_service_pb2_grpc,
    rule_service_pb2_grpc,
    statement_service_pb2_grpc,
    transaction_service_pb2_grpc,
    user_service_pb2,
    user_service_pb2_grpc,
)
from grpc_health.v1 import health_pb2_grpc

from service.db.database import Database
from service.db.embedded import pgserver
from service.server import App, build_app
from service.settings import Settings
from tests.builders import Books, create_user
from tests.node_sdk import install_node_modules
from tests.resources import Clients
from tools.dev_credentials import DEV_AUDIENCE, DEV_ISSUER, DevFiles, write_dev_credentials


def with_database(url: str, name: str) -> str:
    """`url` pointing at database `name` instead of its own."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A PostgreSQL server for the run: the configured one, or an embedded one."""
    configured = os.environ.get("FINANCE_TRACKER_TEST_DATABASE_URL")
    if configured:
        yield configured
        return
    with tempfile.TemporaryDirectory(prefix="finance-tracker-test-") as tmp:
        server = pgserver.get_server(Path(tmp) / "pgdata", cleanup_mode="delete")
        yield server.get_uri()
        server.cleanup()


@pytest.fixture(scope="session")
async def database_url(server_url: str) -> AsyncIterator[str]:
    """An empty database of this run's own on the test server, dropped afterwards."""
    name = f"finance_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield with_database(server_url, name)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="session")
async def database(database_url: str) -> AsyncIterator[Database]:
    """The pool over the migrated test database."""
    db = await Database.connect(database_url, min_size=1, max_size=10)
    await db.migrate()
    yield db
    await db.close()


def make_settings(database_url: str, **overrides: Any) -> Settings:
    """Settings for a server on a free local port over the test database."""
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": 0,
        "database_url": database_url,
        "health_check_interval_seconds": 0.2,
        # Off unless a test turns it on with a clock of its own: the shared server's clock is
        # the real one, and tests never depend on today's date.
        "recurring_interval_seconds": 0,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture(scope="session")
async def app(database: Database, database_url: str) -> AsyncIterator[App]:
    """A running server, shared by the tests that only call RPCs."""
    built = build_app(make_settings(database_url), database)
    await built.start()
    yield built
    await built.stop(grace=1)


@pytest.fixture(scope="session")
async def channel(app: App) -> AsyncIterator[grpc.aio.Channel]:
    """A real gRPC channel to the shared server."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as ch:
        yield ch


@pytest.fixture(scope="session")
def users(channel: grpc.aio.Channel) -> "user_service_pb2_grpc.UserServiceAsyncStub":
    """A UserService client."""
    return user_service_pb2_grpc.UserServiceStub(channel)


@pytest.fixture(scope="session")
def members(channel: grpc.aio.Channel) -> "member_service_pb2_grpc.MemberServiceAsyncStub":
    """A MemberService client."""
    return member_service_pb2_grpc.MemberServiceStub(channel)


@pytest.fixture(scope="session")
def budgets(channel: grpc.aio.Channel) -> "budget_service_pb2_grpc.BudgetServiceAsyncStub":
    """A BudgetService client."""
    return budget_service_pb2_grpc.BudgetServiceStub(channel)


@pytest.fixture(scope="session")
def exchange_rates(
    channel: grpc.aio.Channel,
) -> "exchange_rate_service_pb2_grpc.ExchangeRateServiceAsyncStub":
    """An ExchangeRateService client."""
    return exchange_rate_service_pb2_grpc.ExchangeRateServiceStub(channel)


@pytest.fixture(scope="session")
def reports(channel: grpc.aio.Channel) -> "report_service_pb2_grpc.ReportServiceAsyncStub":
    """A ReportService client."""
    return report_service_pb2_grpc.ReportServiceStub(channel)


@pytest.fixture(scope="session")
def accounts(channel: grpc.aio.Channel) -> "account_service_pb2_grpc.AccountServiceAsyncStub":
    """An AccountService client."""
    return account_service_pb2_grpc.AccountServiceStub(channel)


@pytest.fixture(scope="session")
def categories(
    channel: grpc.aio.Channel,
) -> "category_service_pb2_grpc.CategoryServiceAsyncStub":
    """A CategoryService client."""
    return category_service_pb2_grpc.CategoryServiceStub(channel)


@pytest.fixture(scope="session")
def payees(channel: grpc.aio.Channel) -> "payee_service_pb2_grpc.PayeeServiceAsyncStub":
    """A PayeeService client."""
    return payee_service_pb2_grpc.PayeeServiceStub(channel)


@pytest.fixture(scope="session")
def transactions(
    channel: grpc.aio.Channel,
) -> "transaction_service_pb2_grpc.TransactionServiceAsyncStub":
    """A TransactionService client."""
    return transaction_service_pb2_grpc.TransactionServiceStub(channel)


@pytest.fixture(scope="session")
def recurring(
    channel: grpc.aio.Channel,
) -> "recurring_transaction_service_pb2_grpc.RecurringTransactionServiceAsyncStub":
    """A RecurringTransactionService client."""
    return recurring_transaction_service_pb2_grpc.RecurringTransactionServiceStub(channel)


@pytest.fixture(scope="session")
def rules(channel: grpc.aio.Channel) -> "rule_service_pb2_grpc.RuleServiceAsyncStub":
    """A RuleService client."""
    return rule_service_pb2_grpc.RuleServiceStub(channel)


@pytest.fixture(scope="session")
def statements(
    channel: grpc.aio.Channel,
) -> "statement_service_pb2_grpc.StatementServiceAsyncStub":
    """A StatementService client."""
    return statement_service_pb2_grpc.StatementServiceStub(channel)


@pytest.fixture(scope="session")
def audit(channel: grpc.aio.Channel) -> "audit_service_pb2_grpc.AuditServiceAsyncStub":
    """An AuditService client."""
    return audit_service_pb2_grpc.AuditServiceStub(channel)


@pytest.fixture(scope="session")
def health_stub(channel: grpc.aio.Channel) -> health_pb2_grpc.HealthStub:
    """A health service client."""
    return health_pb2_grpc.HealthStub(channel)


@pytest.fixture
async def user(users: "user_service_pb2_grpc.UserServiceAsyncStub") -> user_service_pb2.User:
    """A fresh user: the tenant key keeps each test's data apart from the others'."""
    return await create_user(users)


@pytest.fixture(scope="session")
def node_modules() -> Path:
    """The TypeScript SDK's dependencies as its lockfile says, installed once per run."""
    return install_node_modules()


@pytest.fixture
def books(user, accounts, transactions) -> Books:
    """The test user's books: accounts, transactions and balances."""
    return Books(user, accounts, transactions)


@pytest.fixture(scope="session")
def dev_credentials(tmp_path_factory: pytest.TempPathFactory) -> DevFiles:
    """The files tools/dev_credentials.py writes: a CA, server and client certificates, a
    JWKS and its signing key."""
    return write_dev_credentials(tmp_path_factory.mktemp("dev-credentials"))


@asynccontextmanager
async def serving(database: Database, settings: Settings) -> AsyncIterator[App]:
    """A server built from `settings`, running until the block ends."""
    built = build_app(settings, database)
    await built.start()
    try:
        yield built
    finally:
        await built.stop(grace=1)


def jwt_overrides(files: DevFiles) -> dict[str, Any]:
    """Settings that take bearer tokens signed with the development key."""
    return {
        "auth": "jwt",
        "jwt_issuer": DEV_ISSUER,
        "jwt_audience": DEV_AUDIENCE,
        "jwt_jwks_file": files.jwks,
    }


@pytest.fixture(scope="session")
async def jwt_app(
    database: Database, database_url: str, dev_credentials: DevFiles
) -> AsyncIterator[App]:
    """A running server that takes bearer tokens signed with the development key, over TLS."""
    files = dev_credentials
    settings = make_settings(
        database_url,
        **jwt_overrides(files),
        tls_cert_file=files.server_cert,
        tls_key_file=files.server_key,
    )
    async with serving(database, settings) as built:
        yield built


@pytest.fixture(scope="session")
async def mtls_app(
    database: Database, database_url: str, dev_credentials: DevFiles
) -> AsyncIterator[App]:
    """A running server whose callers are the identities of their client certificates."""
    files = dev_credentials
    settings = make_settings(
        database_url,
        auth="mtls",
        tls_cert_file=files.server_cert,
        tls_key_file=files.server_key,
        tls_client_ca_file=files.ca,
    )
    async with serving(database, settings) as built:
        yield built


@pytest.fixture(scope="session")
def clients(channel: grpc.aio.Channel) -> Clients:
    """A client of every service that holds a user's resources, on the shared server."""
    return Clients.over(channel)
