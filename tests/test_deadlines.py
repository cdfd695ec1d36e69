"""An RPC's deadline reaches PostgreSQL: every unit of work sets statement_timeout to the time
left, so the database stops a statement even when no cancellation reaches it."""

import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import grpc
import pytest

from service.api.authentication import NoAuthentication
from service.api.interceptor import RpcInterceptor
from service.db.database import Database
from service.db.deadlines import deadline_in, statement_timeout_ms
from service.db.unit_of_work import UnitOfWork, Work
from service.domain.access import SYSTEM
from service.domain.audit import Caller
from service.domain.errors import DeadlineExceeded

CALLER = Caller(SYSTEM, None, None)


async def running(database_url: str, marker: str) -> int:
    """How many statements carrying `marker` PostgreSQL is running."""
    connection = await asyncpg.connect(database_url)
    try:
        count: int = await connection.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE state = 'active' AND query LIKE $1 AND pid <> pg_backend_pid()",
            f"%{marker}%",
        )
        return count
    finally:
        await connection.close()


def sleeps(marker: str) -> Any:
    """Work that runs a five-second statement, marked with `marker`."""

    async def work(work: Work) -> None:
        await work._connection.execute(f"SELECT pg_sleep(5) /* {marker} */")

    return work


async def show_statement_timeout(work: Work) -> str:
    setting: str = await work._connection.fetchval("SHOW statement_timeout")
    return setting


class TestStatementTimeout:
    def test_is_the_time_left_and_never_more_than_the_limit(self):
        assert statement_timeout_ms(30) == 30_000
        with deadline_in(10):
            assert 9_000 < statement_timeout_ms(30) <= 10_000
            assert statement_timeout_ms(2) == 2_000
        with deadline_in(None):
            assert statement_timeout_ms(30) == 30_000

    def test_a_deadline_passed_still_times_out_at_once(self):
        with deadline_in(-5):
            # statement_timeout 0 would mean none at all.
            assert statement_timeout_ms(30) == 1

    async def test_postgres_stops_a_statement_at_the_deadline(self, database, database_url):
        marker = f"deadline-{uuid.uuid4().hex}"
        # No asyncio timeout here: only PostgreSQL can stop the statement before it ends.
        with deadline_in(0.5), pytest.raises(DeadlineExceeded) as caught:
            await UnitOfWork(database).read(sleeps(marker), caller=CALLER, user=None, need=None)
        assert isinstance(caught.value.__cause__, asyncpg.QueryCanceledError)
        assert await running(database_url, marker) == 0

    async def test_postgres_stops_a_statement_at_the_limit_before_a_later_deadline(
        self, database_url
    ):
        # A pool without timeouts of its own: the unit of work sets the limit.
        pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
        database = Database(pool, database_url, statement_timeout_seconds=0.5)
        marker = f"limit-{uuid.uuid4().hex}"
        try:
            with deadline_in(60), pytest.raises(DeadlineExceeded) as caught:
                await UnitOfWork(database).run(sleeps(marker), caller=CALLER, user=None, need=None)
            assert isinstance(caught.value.__cause__, asyncpg.QueryCanceledError)
            assert await running(database_url, marker) == 0
        finally:
            await database.close(timeout=1)


@pytest.fixture
async def channel(database) -> AsyncIterator[grpc.aio.Channel]:
    """A server whose finance.test.Test/Show answers the statement_timeout of a unit of work
    run by its handler."""

    async def show(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        uow = UnitOfWork(database)
        setting = await uow.read(show_statement_timeout, caller=CALLER, user=None, need=None)
        return setting.encode()

    server = grpc.aio.server(interceptors=[RpcInterceptor(NoAuthentication())])
    handlers: dict[str, grpc.RpcMethodHandler[bytes, bytes]] = {
        "Show": grpc.unary_unary_rpc_method_handler(show)
    }
    server.add_generic_rpc_handlers(
        [grpc.method_handlers_generic_handler("finance.test.Test", handlers)]
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as ch:
        yield ch
    await server.stop(None)


def milliseconds(setting: bytes) -> float:
    """A statement_timeout as SHOW gives it (`30s`, `9876ms`), in milliseconds."""
    text = setting.decode()
    if text.endswith("ms"):
        return float(text.removesuffix("ms"))
    return float(text.removesuffix("s")) * 1000


class TestRpcDeadline:
    async def test_the_units_of_work_of_an_rpc_are_held_to_its_deadline(self, channel):
        show: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(
            "/finance.test.Test/Show"
        )
        # gRPC rounds a timeout up on the wire (to keep its header compressible), so the
        # server may see a little more than 10 s; the 30 s limit must not be what applies.
        assert 0 < milliseconds(await show(b"", timeout=10)) <= 11_000

    async def test_without_a_deadline_the_limit_holds(self, channel):
        show: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(
            "/finance.test.Test/Show"
        )
        assert milliseconds(await show(b"")) == 30_000
