"""Limits: RPCs in flight, each principal's rate, message and page sizes. Refusals come at once
as RESOURCE_EXHAUSTED with a RetryInfo, while the calls admitted before are still running."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import grpc
import pytest
from finance.v1 import payee_service_pb2 as ppb
from finance.v1 import payee_service_pb2_grpc as ppb_grpc
from finance.v1 import user_service_pb2, user_service_pb2_grpc
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2_grpc

from service.api.interceptor import RpcInterceptor
from service.api.limits import BUSY_RETRY_SECONDS, Limits, RateLimiter
from service.domain.access import Principal
from service.domain.errors import ResourceExhausted
from service.server import build_app, grpc_options
from service.settings import MIB
from tests.builders import create_user
from tests.conftest import make_settings
from tests.helpers import SERVING, rpc_error, unpack, wait_for_status
from tests.test_lifecycle import blocked_queries, rename, user_row_locked

PRINCIPAL_METADATA = "x-test-principal"


class FakeClock:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class HeaderAuthentication:
    """Whoever the call's x-test-principal metadata names: two principals in one test."""

    async def authenticate(self, context: grpc.aio.ServicerContext[Any, Any]) -> Principal:
        metadata = dict(context.invocation_metadata() or ())
        return Principal(subject=str(metadata.get(PRINCIPAL_METADATA, "nobody")))


def retry_delay(error: grpc.aio.AioRpcError) -> int:
    """The RetryInfo delay of `error`, in milliseconds."""
    delay: int = unpack(error, error_details_pb2.RetryInfo).retry_delay.ToMilliseconds()
    return delay


def reason(error: grpc.aio.AioRpcError) -> str:
    info = unpack(error, error_details_pb2.ErrorInfo)
    assert info.domain == "finance-tracker"
    return str(info.reason)


def refused_later(limiter: RateLimiter, key: str) -> float:
    """The retry delay of a call of `key` that `limiter` refuses."""
    with pytest.raises(ResourceExhausted) as caught:
        limiter.charge(key)
    assert caught.value.reason == "RATE_LIMIT_EXCEEDED"
    return caught.value.retry_after


class TestTokenBucket:
    def test_a_burst_passes_and_the_next_call_waits_for_a_token(self):
        clock = FakeClock()
        limiter = RateLimiter(rate=4, burst=3, clock=clock)
        for _ in range(3):
            limiter.charge("ada")
        assert refused_later(limiter, "ada") == 0.25
        clock.now += 0.125
        assert refused_later(limiter, "ada") == 0.125
        clock.now += 0.125
        limiter.charge("ada")
        assert refused_later(limiter, "ada") == 0.25

    def test_refills_up_to_the_burst_and_no_further(self):
        clock = FakeClock()
        limiter = RateLimiter(rate=4, burst=3, clock=clock)
        limiter.charge("ada")
        clock.now += 3600
        for _ in range(3):
            limiter.charge("ada")
        refused_later(limiter, "ada")

    def test_refused_calls_take_no_token(self):
        clock = FakeClock()
        limiter = RateLimiter(rate=1, burst=1, clock=clock)
        limiter.charge("ada")
        for _ in range(5):
            refused_later(limiter, "ada")
        clock.now += 1
        limiter.charge("ada")

    def test_each_key_has_a_bucket_of_its_own(self):
        limiter = RateLimiter(rate=1, burst=2, clock=FakeClock())
        limiter.charge("ada")
        limiter.charge("ada")
        refused_later(limiter, "ada")
        limiter.charge("grace")
        limiter.charge("grace")

    def test_buckets_full_again_are_forgotten(self):
        clock = FakeClock()
        limiter = RateLimiter(rate=2, burst=4, clock=clock)
        for key in ("a", "b", "c"):
            limiter.charge(key)
        clock.now += 0.5  # one token back of one taken: a, b and c are full again
        limiter.charge("d")
        assert len(limiter) == 1

    def test_buckets_not_yet_full_are_kept(self):
        clock = FakeClock()
        limiter = RateLimiter(rate=2, burst=4, clock=clock)
        limiter.charge("a")
        limiter.charge("a")
        clock.now += 0.5  # one token back of two taken
        limiter.charge("b")
        assert len(limiter) == 2
        limiter.charge("a")
        limiter.charge("a")
        limiter.charge("a")
        refused_later(limiter, "a")

    def test_holds_at_most_max_keys_buckets(self):
        limiter = RateLimiter(rate=1, burst=5, clock=FakeClock(), max_keys=3)
        for key in "abcdefg":
            limiter.charge(key)
        assert len(limiter) == 3

    def test_the_default_burst_is_one_second_of_calls(self):
        limits = Limits(rate=2.5, clock=FakeClock())
        for _ in range(3):
            limits.charge(Principal("ada"))
        with pytest.raises(ResourceExhausted):
            limits.charge(Principal("ada"))


class Gate:
    """What the `Hold` handlers of a test server wait for: the test opens it."""

    def __init__(self) -> None:
        self.opened = asyncio.Event()

    def open(self) -> None:
        self.opened.set()
        self.opened = asyncio.Event()  # the next calls wait again

    async def hold(self, request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        await self.opened.wait()
        return b"done"


async def echo(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
    return request


@asynccontextmanager
async def limited_server(limits: Limits) -> AsyncIterator[tuple[grpc.aio.Channel, Gate]]:
    """A server with `limits` over a finance.test.Test service (`Hold`, `Echo`) and an
    unlimited test.Open service (`Echo`); a channel to it, and the gate `Hold` waits for."""
    gate = Gate()
    server = grpc.aio.server(interceptors=[RpcInterceptor(HeaderAuthentication(), limits)])
    handlers: dict[str, grpc.RpcMethodHandler[bytes, bytes]] = {
        "Hold": grpc.unary_unary_rpc_method_handler(gate.hold),
        "Echo": grpc.unary_unary_rpc_method_handler(echo),
    }
    server.add_generic_rpc_handlers(
        [
            grpc.method_handlers_generic_handler("finance.test.Test", handlers),
            grpc.method_handlers_generic_handler("test.Open", handlers),
        ]
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield channel, gate
    finally:
        gate.open()
        await server.stop(None)


def method(
    channel: grpc.aio.Channel, name: str
) -> "grpc.aio.UnaryUnaryMultiCallable[bytes, bytes]":
    """A callable of the test server's method `name` (`/finance.test.Test/Hold`)."""
    return channel.unary_unary(name)  # bytes in, bytes out: no serializers


def as_principal(subject: str) -> tuple[tuple[str, str]]:
    return ((PRINCIPAL_METADATA, subject),)


async def until(condition: Any) -> None:
    async with asyncio.timeout(5):
        while not condition():
            await asyncio.sleep(0.01)


class TestConcurrencyLimit:
    async def test_a_call_past_the_limit_is_refused_while_the_others_run(self):
        limits = Limits(max_concurrent_rpcs=2)
        async with limited_server(limits) as (channel, gate):
            hold_call = method(channel, "/finance.test.Test/Hold")
            held = [asyncio.ensure_future(hold_call(b"")) for _ in range(2)]
            await until(lambda: limits.concurrency.in_flight == 2)
            error = await rpc_error(
                method(channel, "/finance.test.Test/Echo")(b"x"),
                grpc.StatusCode.RESOURCE_EXHAUSTED,
            )
            assert not any(call.done() for call in held)
            assert reason(error) == "CONCURRENCY_LIMIT_EXCEEDED"
            assert retry_delay(error) == BUSY_RETRY_SECONDS * 1000
            # gRPC's own retries (a client's retry policy) wait as long.
            trailers = dict(error.trailing_metadata() or ())
            assert trailers["grpc-retry-pushback-ms"] == str(retry_delay(error))
            gate.open()
            assert await asyncio.gather(*held) == [b"done", b"done"]
            assert await method(channel, "/finance.test.Test/Echo")(b"x") == b"x"

    async def test_refused_calls_free_no_slot(self):
        # grpc.aio's own limit once counted refused calls as finished (grpc/grpc #41531).
        limits = Limits(max_concurrent_rpcs=1)
        async with limited_server(limits) as (channel, gate):
            hold_call = method(channel, "/finance.test.Test/Hold")
            for _ in range(2):
                held = asyncio.ensure_future(hold_call(b""))
                await until(lambda: limits.concurrency.in_flight == 1)
                for _ in range(3):
                    await rpc_error(hold_call(b""), grpc.StatusCode.RESOURCE_EXHAUSTED)
                assert limits.concurrency.in_flight == 1
                gate.open()
                assert await held == b"done"
                assert limits.concurrency.in_flight == 0

    async def test_other_services_are_not_counted(self):
        limits = Limits(max_concurrent_rpcs=1)
        async with limited_server(limits) as (channel, _):
            held = asyncio.ensure_future(method(channel, "/finance.test.Test/Hold")(b""))
            await until(lambda: limits.concurrency.in_flight == 1)
            assert await method(channel, "/test.Open/Echo")(b"x") == b"x"
            assert not held.done()


class TestRateLimit:
    async def test_a_principal_past_its_burst_is_told_when_to_retry(self):
        clock = FakeClock()
        async with limited_server(Limits(rate=4, burst=2, clock=clock)) as (channel, _):
            echo_call = method(channel, "/finance.test.Test/Echo")
            for _ in range(2):
                assert await echo_call(b"x", metadata=as_principal("ada")) == b"x"
            error = await rpc_error(
                echo_call(b"x", metadata=as_principal("ada")), grpc.StatusCode.RESOURCE_EXHAUSTED
            )
            assert reason(error) == "RATE_LIMIT_EXCEEDED"
            assert retry_delay(error) == 250
            assert dict(error.trailing_metadata() or ())["grpc-retry-pushback-ms"] == "250"

            # Another principal has a bucket of its own.
            assert await echo_call(b"x", metadata=as_principal("grace")) == b"x"

            clock.now += 0.125
            error = await rpc_error(
                echo_call(b"x", metadata=as_principal("ada")), grpc.StatusCode.RESOURCE_EXHAUSTED
            )
            assert retry_delay(error) == 125
            clock.now += 0.125
            assert await echo_call(b"x", metadata=as_principal("ada")) == b"x"

    async def test_a_refused_call_is_logged_with_its_principal(self, caplog):
        async with limited_server(Limits(rate=1, burst=1, clock=FakeClock())) as (channel, _):
            echo_call = method(channel, "/finance.test.Test/Echo")
            await echo_call(b"x", metadata=as_principal("ada"))
            with caplog.at_level(logging.INFO):
                await rpc_error(
                    echo_call(b"x", metadata=as_principal("ada")),
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                )
        finished = [r for r in caplog.records if r.getMessage() == "rpc finished"]
        assert (finished[-1].__dict__["principal"], finished[-1].__dict__["code"]) == (
            "ada",
            "RESOURCE_EXHAUSTED",
        )

    async def test_other_services_are_not_limited(self):
        async with limited_server(Limits(rate=1, burst=1, clock=FakeClock())) as (channel, _):
            for _ in range(3):
                assert await method(channel, "/test.Open/Echo")(b"x") == b"x"


@pytest.fixture
async def server_with(database, database_url) -> AsyncIterator[Any]:
    """Start servers over the test database with settings of the test's own."""
    apps = []

    async def start(**settings: Any) -> grpc.aio.Channel:
        app = build_app(make_settings(database_url, **settings), database)
        await app.start()
        apps.append((app, grpc.aio.insecure_channel(f"127.0.0.1:{app.port}")))
        return apps[-1][1]

    yield start
    for app, channel in apps:
        await channel.close()
        await app.stop(grace=1)


class TestConfiguredLimits:
    async def test_calls_past_max_concurrent_rpcs_are_refused_without_waiting_for_the_database(
        self, server_with, database, database_url
    ):
        channel = await server_with(max_concurrent_rpcs=2)
        users = user_service_pb2_grpc.UserServiceStub(channel)
        user = await create_user(users)
        async with user_row_locked(database_url, user):
            held = [asyncio.ensure_future(users.UpdateUser(rename(user, "New"))) for _ in range(2)]
            async with asyncio.timeout(5):
                while await blocked_queries(database) < 2:
                    await asyncio.sleep(0.05)
            error = await rpc_error(
                users.GetUser(user_service_pb2.GetUserRequest(name=user.name)),
                grpc.StatusCode.RESOURCE_EXHAUSTED,
            )
            assert reason(error) == "CONCURRENCY_LIMIT_EXCEEDED"
            assert retry_delay(error) > 0
            await wait_for_status(health_pb2_grpc.HealthStub(channel), SERVING)
            assert not any(call.done() for call in held)
        assert [u.display_name for u in await asyncio.gather(*held)] == ["New", "New"]
        got = await users.GetUser(user_service_pb2.GetUserRequest(name=user.name))
        assert got.display_name == "New"

    async def test_calls_past_the_rate_limit_are_refused(self, server_with):
        # About a thousand seconds a token: the burst is all this test may use.
        channel = await server_with(rate_limit_per_second=0.001, rate_limit_burst=2)
        users = user_service_pb2_grpc.UserServiceStub(channel)
        user = await create_user(users)
        await users.GetUser(user_service_pb2.GetUserRequest(name=user.name))
        error = await rpc_error(
            users.GetUser(user_service_pb2.GetUserRequest(name=user.name)),
            grpc.StatusCode.RESOURCE_EXHAUSTED,
        )
        assert reason(error) == "RATE_LIMIT_EXCEEDED"
        assert retry_delay(error) > 900_000

    async def test_a_request_past_the_receive_limit_is_refused(self, server_with):
        users = user_service_pb2_grpc.UserServiceStub(
            await server_with(max_receive_message_bytes=MIB)
        )
        under = user_service_pb2.CreateUserRequest(
            user=user_service_pb2.User(display_name="x" * (MIB - 1000))
        )
        # It reaches the service, which finds the name too long.
        await rpc_error(users.CreateUser(under), grpc.StatusCode.INVALID_ARGUMENT)
        over = user_service_pb2.CreateUserRequest(
            user=user_service_pb2.User(display_name="x" * (MIB + 1))
        )
        await rpc_error(users.CreateUser(over), grpc.StatusCode.RESOURCE_EXHAUSTED)

    def test_message_sizes_are_server_options(self, database_url):
        settings = make_settings(
            database_url, max_receive_message_bytes=2 * MIB, max_send_message_bytes=5 * MIB
        )
        options = dict(grpc_options(settings))
        assert options["grpc.max_receive_message_length"] == 2 * MIB
        assert options["grpc.max_send_message_length"] == 5 * MIB


class TestPageSize:
    async def test_a_page_holds_at_most_a_thousand_items(self, users, payees, database_url):
        user = await create_user(users)
        connection = await asyncpg.connect(database_url)
        try:
            await connection.execute(
                "INSERT INTO payees (user_id, display_name)"
                " SELECT $1, 'Payee ' || i FROM generate_series(1, 1001) AS i",
                user.name.removeprefix("users/"),
            )
        finally:
            await connection.close()
        stub: ppb_grpc.PayeeServiceAsyncStub = payees
        page = await stub.ListPayees(ppb.ListPayeesRequest(parent=user.name, page_size=5000))
        assert len(page.payees) == 1000
        rest = await stub.ListPayees(
            ppb.ListPayeesRequest(parent=user.name, page_size=5000, page_token=page.next_page_token)
        )
        assert len(rest.payees) == 1
        assert rest.next_page_token == ""
