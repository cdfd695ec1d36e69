"""The composition root: builds the server from settings and runs it until a signal."""

import asyncio
import logging
import signal
from dataclasses import dataclass

import grpc
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
    user_service_pb2_grpc,
)
from grpc_health.v1 import health, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from opentelemetry.trace import TracerProvider

from service.api import audit_view
from service.api.account_servicer import AccountServicer
from service.api.audit_servicer import AuditServicer
from service.api.authentication import authenticator, server_credentials
from service.api.budget_servicer import BudgetServicer
from service.api.category_servicer import CategoryServicer
from service.api.exchange_rate_servicer import ExchangeRateServicer
from service.api.interceptor import RpcInterceptor
from service.api.limits import Limits
from service.api.member_servicer import MemberServicer
from service.api.page_tokens import PageTokens
from service.api.payee_servicer import PayeeServicer
from service.api.recurring_servicer import RecurringTransactionServicer
from service.api.report_servicer import ReportServicer
from service.api.rule_servicer import RuleServicer
from service.api.statement_servicer import StatementServicer
from service.api.transaction_servicer import TransactionServicer
from service.api.user_servicer import UserServicer
from service.db.database import Database
from service.db.embedded import start_embedded_postgres
from service.db.secrets import shared_secret
from service.db.unit_of_work import UnitOfWork
from service.domain.clock import Today, utc_today
from service.health import DatabaseHealthMonitor
from service.observability import Telemetry
from service.repositories.balances import Discrepancy
from service.services.accounts import AccountService
from service.services.audit import AuditService
from service.services.budgets import BudgetService
from service.services.catalog import CategoryService, PayeeService
from service.services.exchange_rates import ExchangeRateService
from service.services.ledger import LedgerService
from service.services.members import MemberService
from service.services.recurring import RecurringService
from service.services.reports import ReportService
from service.services.rules import RuleService
from service.services.scheduler import OccurrenceRecorder, RecurringScheduler
from service.services.statements import StatementService
from service.services.users import UserService
from service.settings import Settings

log = logging.getLogger(__name__)

SERVICE_NAMES = tuple(
    f"finance.v1.{name}"
    for name in (
        "UserService",
        "MemberService",
        "AccountService",
        "CategoryService",
        "PayeeService",
        "TransactionService",
        "RecurringTransactionService",
        "RuleService",
        "StatementService",
        "AuditService",
        "ExchangeRateService",
        "BudgetService",
        "ReportService",
    )
)


def add_servicers(
    server: grpc.aio.Server, uow: UnitOfWork, *, today: Today, page_tokens: PageTokens
) -> None:
    """Register every finance.v1 service, each over its use cases."""
    user_service_pb2_grpc.add_UserServiceServicer_to_server(
        UserServicer(UserService(uow), page_tokens=page_tokens), server
    )
    member_service_pb2_grpc.add_MemberServiceServicer_to_server(
        MemberServicer(MemberService(uow), page_tokens=page_tokens), server
    )
    account_service_pb2_grpc.add_AccountServiceServicer_to_server(
        AccountServicer(AccountService(uow, today=today), page_tokens=page_tokens), server
    )
    category_service_pb2_grpc.add_CategoryServiceServicer_to_server(
        CategoryServicer(CategoryService(uow), page_tokens=page_tokens), server
    )
    payee_service_pb2_grpc.add_PayeeServiceServicer_to_server(
        PayeeServicer(PayeeService(uow), page_tokens=page_tokens), server
    )
    transaction_service_pb2_grpc.add_TransactionServiceServicer_to_server(
        TransactionServicer(LedgerService(uow), page_tokens=page_tokens), server
    )
    recurring_transaction_service_pb2_grpc.add_RecurringTransactionServiceServicer_to_server(
        RecurringTransactionServicer(RecurringService(uow, today=today), page_tokens=page_tokens),
        server,
    )
    exchange_rate_service_pb2_grpc.add_ExchangeRateServiceServicer_to_server(
        ExchangeRateServicer(ExchangeRateService(uow), page_tokens=page_tokens), server
    )
    rule_service_pb2_grpc.add_RuleServiceServicer_to_server(
        RuleServicer(RuleService(uow), page_tokens=page_tokens), server
    )
    statement_service_pb2_grpc.add_StatementServiceServicer_to_server(
        StatementServicer(StatementService(uow), page_tokens=page_tokens), server
    )
    budget_service_pb2_grpc.add_BudgetServiceServicer_to_server(
        BudgetServicer(BudgetService(uow), page_tokens=page_tokens), server
    )
    report_service_pb2_grpc.add_ReportServiceServicer_to_server(
        ReportServicer(ReportService(uow)), server
    )
    audit_service_pb2_grpc.add_AuditServiceServicer_to_server(
        AuditServicer(AuditService(uow), page_tokens=page_tokens), server
    )


@dataclass
class App:
    """A built server with what it owns besides the database: health and its monitor, the
    unit of work its services share (whose retry counts tests read), its metrics and traces,
    and the scheduler of recurring transactions (None when turned off)."""

    server: grpc.aio.Server
    port: int
    health: health.aio.HealthServicer
    monitor: DatabaseHealthMonitor
    uow: UnitOfWork
    telemetry: Telemetry
    scheduler: RecurringScheduler | None = None

    async def start(self) -> None:
        """Start serving; health reflects the database from the first call on, and due
        occurrences of recurring transactions are recorded from then on."""
        await self.telemetry.start()
        await self.monitor.start()
        await self.server.start()
        if self.scheduler is not None:
            self.scheduler.start()

    async def stop(self, grace: float) -> None:
        """Report NOT_SERVING, refuse new RPCs and let in-flight ones run for up to `grace`
        seconds."""
        if self.scheduler is not None:
            await self.scheduler.stop()
        await self.monitor.stop()
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)
        await self.telemetry.stop()

    @property
    def metrics_port(self) -> int | None:
        """The port metrics are served on once started; None when they are not served."""
        return self.telemetry.metrics_port


def grpc_options(settings: Settings) -> list[tuple[str, int]]:
    """The options of the gRPC server: message sizes, and whether the port is shared."""
    return [
        # gRPC sets SO_REUSEPORT by default, which lets a second server bind the same port and
        # take half the connections without an error; only bind shared when asked to.
        ("grpc.so_reuseport", 1 if settings.reuse_port else 0),
        # Explicit, rather than gRPC's defaults (4 MiB received, unlimited sent), so that they
        # are documented and configured in one place.
        ("grpc.max_receive_message_length", settings.max_receive_message_bytes),
        ("grpc.max_send_message_length", settings.max_send_message_bytes),
    ]


def build_app(
    settings: Settings,
    database: Database,
    *,
    today: Today = utc_today,
    page_tokens: PageTokens | None = None,
    tracer_provider: TracerProvider | None = None,
) -> App:
    """Assemble services, servicers, health, reflection and the interceptor over `database`,
    and bind the port (`settings.port` 0 picks a free one). `today` is the books' clock;
    `page_tokens` signs page tokens (a key of this process's own when not given);
    `tracer_provider` traces RPCs instead of the one `settings.otlp_endpoint` calls for."""
    telemetry = Telemetry(settings, tracer_provider=tracer_provider)
    limits = Limits(
        max_concurrent_rpcs=settings.max_concurrent_rpcs,
        rate=settings.rate_limit_per_second,
        burst=settings.rate_limit_burst,
    )
    # Telemetry first, so that calls refused for their credentials or a limit are counted and
    # traced.
    interceptor = RpcInterceptor(authenticator(settings), limits)
    server = grpc.aio.server(
        interceptors=[*telemetry.interceptors(), interceptor], options=grpc_options(settings)
    )
    uow = UnitOfWork(database, present=audit_view.present)
    telemetry.watch(database, uow)
    add_servicers(server, uow, today=today, page_tokens=page_tokens or PageTokens.with_random_key())
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    if settings.reflection:
        reflection.enable_server_reflection(
            (*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME), server
        )
    if settings.auth == "none":
        log.warning(
            "authentication is off (FINANCE_TRACKER_AUTH=none): every caller may read and"
            " change every user's books; for local development only",
            extra={"address": settings.address},
        )
    credentials = server_credentials(settings)
    try:
        if credentials is None:
            port = server.add_insecure_port(settings.address)
        else:
            port = server.add_secure_port(settings.address, credentials)
    except RuntimeError as error:  # grpc's way of saying the address is taken or invalid
        raise OSError(f"cannot listen on {settings.address}: is the port in use?") from error
    if port == 0:
        raise OSError(f"cannot listen on {settings.address}")
    monitor = DatabaseHealthMonitor(
        database, health_servicer, SERVICE_NAMES, interval=settings.health_check_interval_seconds
    )
    scheduler = None
    if settings.recurring_interval_seconds > 0:
        scheduler = RecurringScheduler(
            OccurrenceRecorder(uow), today=today, interval=settings.recurring_interval_seconds
        )
    return App(server, port, health_servicer, monitor, uow, telemetry, scheduler)


async def open_database(settings: Settings) -> Database:
    """Connect to the configured PostgreSQL, or to an embedded one when none is configured."""
    if settings.database_url is None:
        dsn = await asyncio.to_thread(start_embedded_postgres, settings.data_dir)
    else:
        dsn = str(settings.database_url)
    return await Database.connect(
        dsn,
        min_size=settings.db_pool_min_size,
        max_size=settings.db_pool_max_size,
        statement_timeout_seconds=settings.db_statement_timeout_seconds,
        prepared_statements=settings.db_prepared_statements,
    )


async def migrate(settings: Settings) -> list[int]:
    """Apply pending migrations to the configured database; returns their versions."""
    database = await open_database(settings)
    try:
        return await database.migrate()
    finally:
        await database.close()


async def verify(settings: Settings) -> list[Discrepancy]:
    """Recompute every balance of the configured database from its postings; returns what
    does not add up (nothing, in a healthy ledger)."""
    database = await open_database(settings)
    try:
        return await LedgerService(UnitOfWork(database)).verify()
    finally:
        await database.close()


async def shared_page_tokens(database: Database) -> PageTokens:
    """Page tokens signed with the key every server over `database` shares, so that any
    replica accepts a token another one issued."""
    async with database.connection() as connection:
        return PageTokens(await shared_secret(connection, "page_tokens"))


async def serve(settings: Settings) -> None:
    """Run the server until SIGTERM or SIGINT, then drain in-flight RPCs and close the pool."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    database = await open_database(settings)
    try:
        await database.migrate()
        app = build_app(settings, database, page_tokens=await shared_page_tokens(database))
        await app.start()
        log.info(
            "serving",
            extra={
                "address": f"{settings.bind_host}:{app.port}",
                "metrics_port": app.metrics_port,
            },
        )
        await stop.wait()
        log.info("shutting down; in-flight RPCs have %.1fs", settings.shutdown_grace_seconds)
        await app.stop(settings.shutdown_grace_seconds)
    finally:
        await database.close()
    log.info("stopped")
