"""Observability: Prometheus metrics scraped over HTTP, traces whose RPC spans hold the spans
of their SQL, and log lines that carry the RPC's trace and request_id."""

import asyncio
import contextvars
import io
import json
import logging
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import grpc
import pytest
from finance.v1 import user_service_pb2 as upb
from finance.v1 import user_service_pb2_grpc as upb_grpc
from grpc_health.v1 import health_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from prometheus_client.parser import text_string_to_metric_families

from service import logs
from service.db.database import Database
from service.domain.errors import InvalidArgument
from service.server import App, build_app
from tests.builders import create_user, new_user
from tests.conftest import make_settings
from tests.helpers import SERVING, rpc_error, wait_for_status

USERS = "finance.v1.UserService"
MISSING_USER = upb.GetUserRequest(name="users/00000000-0000-4000-8000-000000000000")


async def scrape(port: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample the metrics endpoint on `port` serves, by name and labels."""

    def get() -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            return str(response.read().decode())

    text = await asyncio.to_thread(get)
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def sample(samples: dict[Any, float], name: str, **labels: str) -> Any:
    """The value of sample `name` with exactly `labels`; None when there is none."""
    return samples.get((name, frozenset(labels.items())))


def rpc(method: str, **labels: str) -> dict[str, str]:
    """The labels of a unary UserService RPC `method`."""
    return {"grpc_type": "unary", "grpc_service": USERS, "grpc_method": method, **labels}


@pytest.fixture
async def small_pool(database: Database, database_url: str) -> AsyncIterator[Database]:
    """A pool of one connection of its own over the (migrated) test database: easy to
    exhaust, with figures no other test moves."""
    db = await Database.connect(database_url, min_size=1, max_size=1)
    yield db
    await db.close()


@pytest.fixture
async def measured(small_pool: Database, database_url: str) -> AsyncIterator[App]:
    """A server over `small_pool` that serves metrics on a free port."""
    app = build_app(make_settings(database_url, metrics_port=0), small_pool)
    await app.start()
    yield app
    await app.stop(grace=1)


@pytest.fixture
async def measured_users(measured: App) -> AsyncIterator["upb_grpc.UserServiceAsyncStub"]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{measured.port}") as channel:
        yield upb_grpc.UserServiceStub(channel)


class TestMetrics:
    async def test_rpcs_are_counted_by_method_and_status_code(self, measured, measured_users):
        await create_user(measured_users)
        await create_user(measured_users)
        await rpc_error(measured_users.GetUser(MISSING_USER), grpc.StatusCode.NOT_FOUND)
        samples = await scrape(measured.metrics_port)
        assert sample(samples, "grpc_server_started_total", **rpc("CreateUser")) == 2
        assert (
            sample(samples, "grpc_server_handled_total", **rpc("CreateUser", grpc_code="OK")) == 2
        )
        assert sample(samples, "grpc_server_started_total", **rpc("GetUser")) == 1
        assert (
            sample(samples, "grpc_server_handled_total", **rpc("GetUser", grpc_code="NOT_FOUND"))
            == 1
        )
        assert (
            sample(samples, "grpc_server_handled_total", **rpc("GetUser", grpc_code="OK")) is None
        )

    async def test_latency_histogram_and_in_flight_gauge_follow_each_method(
        self, measured, measured_users
    ):
        await create_user(measured_users)
        samples = await scrape(measured.metrics_port)
        assert sample(samples, "grpc_server_handling_seconds_count", **rpc("CreateUser")) == 1
        assert sample(samples, "grpc_server_handling_seconds_sum", **rpc("CreateUser")) > 0
        everything = sample(
            samples, "grpc_server_handling_seconds_bucket", **rpc("CreateUser", le="+Inf")
        )
        assert everything == 1
        assert sample(samples, "grpc_server_in_flight_rpcs", **rpc("CreateUser")) == 0

    async def test_an_rpc_is_in_flight_while_it_waits_for_a_connection(
        self, measured, measured_users, small_pool
    ):
        async with small_pool.connection():  # the pool's only connection
            call = asyncio.ensure_future(create_user(measured_users))
            for _ in range(500):
                samples = await scrape(measured.metrics_port)
                if sample(samples, "finance_tracker_db_pool_waiting") == 1:
                    break
            assert sample(samples, "finance_tracker_db_pool_waiting") == 1
            assert sample(samples, "grpc_server_in_flight_rpcs", **rpc("CreateUser")) == 1
            assert sample(samples, "finance_tracker_db_pool_connections_in_use") == 1
        await call
        samples = await scrape(measured.metrics_port)
        assert sample(samples, "grpc_server_in_flight_rpcs", **rpc("CreateUser")) == 0
        assert sample(samples, "finance_tracker_db_pool_waiting") == 0
        assert sample(samples, "finance_tracker_db_pool_connections_in_use") == 0

    async def test_pool_size_is_reported(self, measured, measured_users):
        await create_user(measured_users)
        samples = await scrape(measured.metrics_port)
        assert sample(samples, "finance_tracker_db_pool_connections") == 1
        assert sample(samples, "finance_tracker_db_pool_max_connections") == 1

    async def test_database_errors_are_counted_by_kind(self, measured, small_pool):
        before = await scrape(measured.metrics_port)
        assert sample(before, "finance_tracker_db_errors_total", kind="invalid_value") == 0
        with pytest.raises(InvalidArgument):
            async with small_pool.connection() as connection:
                await connection.execute("SELECT 1 / 0")  # division_by_zero: SQLSTATE 22012
        after = await scrape(measured.metrics_port)
        assert sample(after, "finance_tracker_db_errors_total", kind="invalid_value") == 1
        assert sample(after, "finance_tracker_db_errors_total", kind="deadlock") == 0

    async def test_retries_are_reported_by_cause(self, measured):
        samples = await scrape(measured.metrics_port)
        for cause in ("SerializationError", "DeadlockDetectedError", "ConnectionLost"):
            assert sample(samples, "finance_tracker_db_retries_total", cause=cause) == 0
        measured.uow.retries["DeadlockDetectedError"] += 2
        samples = await scrape(measured.metrics_port)
        assert (
            sample(samples, "finance_tracker_db_retries_total", cause="DeadlockDetectedError") == 2
        )

    async def test_a_server_without_a_metrics_port_serves_none(self, database, database_url):
        app = build_app(make_settings(database_url), database)
        await app.start()
        try:
            assert app.metrics_port is None
            assert list(app.telemetry.registry.collect()) == []
        finally:
            await app.stop(grace=1)

    async def test_metrics_stop_with_the_server(self, small_pool, database_url):
        app = build_app(make_settings(database_url, metrics_port=0), small_pool)
        await app.start()
        port = app.metrics_port
        assert port
        assert await scrape(port)
        await app.stop(grace=1)
        with pytest.raises(urllib.error.URLError):
            await scrape(port)


@pytest.fixture(scope="module")
def spans() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture(scope="module")
async def traced(
    spans: InMemorySpanExporter, database: Database, database_url: str
) -> AsyncIterator[App]:
    """A server that keeps its spans in `spans`."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    app = build_app(make_settings(database_url), database, tracer_provider=provider)
    await app.start()
    yield app
    await app.stop(grace=1)
    provider.shutdown()


@pytest.fixture
async def traced_channel(traced: App, spans) -> AsyncIterator[grpc.aio.Channel]:
    spans.clear()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{traced.port}") as channel:
        yield channel


async def server_spans(spans: InMemorySpanExporter) -> list[Any]:
    """The finished server spans, once there is one: the server ends an RPC's span after its
    answer has left, so the caller may hold the answer before the span is finished."""
    for _ in range(500):
        found = [s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER]
        if found:
            return found
        await asyncio.sleep(0.01)
    return []


def sql_spans(spans: InMemorySpanExporter) -> list[Any]:
    return [
        s
        for s in spans.get_finished_spans()
        if s.kind == SpanKind.CLIENT
        and s.attributes
        and s.attributes.get("db.system") == "postgresql"
    ]


class TestTraces:
    async def test_the_sql_of_an_rpc_is_traced_beneath_its_span(self, traced_channel, spans):
        users = upb_grpc.UserServiceStub(traced_channel)
        await create_user(users)
        [rpc_span] = await server_spans(spans)
        assert rpc_span.name == f"/{USERS}/CreateUser"
        sql = sql_spans(spans)
        assert sql, "the RPC ran SQL, which should have spans"
        for statement in sql:
            assert statement.context.trace_id == rpc_span.context.trace_id
            assert statement.parent is not None
            assert statement.parent.span_id == rpc_span.context.span_id
            assert rpc_span.start_time <= statement.start_time <= statement.end_time
            assert statement.end_time <= rpc_span.end_time
        assert any("INSERT" in str(s.attributes.get("db.statement")) for s in sql)

    async def test_a_caller_trace_is_continued(self, traced_channel, spans):
        users = upb_grpc.UserServiceStub(traced_channel)
        trace_id = uuid.uuid4().hex
        parent = f"00-{trace_id}-{'ab' * 8}-01"
        await users.CreateUser(
            upb.CreateUserRequest(user=new_user()), metadata=(("traceparent", parent),)
        )
        [rpc_span] = await server_spans(spans)
        assert format(rpc_span.context.trace_id, "032x") == trace_id
        assert rpc_span.parent is not None
        assert rpc_span.parent.span_id == 0xABABABABABABABAB

    async def test_a_span_carries_the_status_code_of_a_domain_error(self, traced_channel, spans):
        users = upb_grpc.UserServiceStub(traced_channel)
        await rpc_error(users.GetUser(MISSING_USER), grpc.StatusCode.NOT_FOUND)
        [rpc_span] = await server_spans(spans)
        assert rpc_span.attributes["rpc.grpc.status_code"] == grpc.StatusCode.NOT_FOUND.value[0]
        # The caller's mistake, not the server's (OpenTelemetry's conventions for servers).
        assert rpc_span.status.status_code != StatusCode.ERROR

    async def test_health_checks_and_sql_outside_rpcs_make_no_spans(
        self, traced_channel, spans, database
    ):
        await wait_for_status(health_pb2_grpc.HealthStub(traced_channel), SERVING)
        async with database.connection() as connection:
            await connection.fetchval("SELECT 1")
        assert spans.get_finished_spans() == ()

    async def test_a_server_without_a_tracer_makes_no_spans(self, users, spans, traced):
        spans.clear()
        await create_user(users)  # the shared server, built without tracing
        assert spans.get_finished_spans() == ()


class Collector(trace_service_pb2_grpc.TraceServiceServicer):
    """An OTLP/gRPC collector that keeps the spans it is sent."""

    def __init__(self) -> None:
        self.spans: list[Any] = []

    async def Export(self, request: Any, context: Any) -> Any:
        for resource in request.resource_spans:
            for scope in resource.scope_spans:
                self.spans.extend((resource.resource, span) for span in scope.spans)
        return trace_service_pb2.ExportTraceServiceResponse()


async def test_spans_are_sent_to_the_configured_otlp_endpoint(database, database_url):
    collector = Collector()
    receiver = grpc.aio.server()
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(  # type: ignore[no-untyped-call]
        collector, receiver
    )
    port = receiver.add_insecure_port("127.0.0.1:0")
    await receiver.start()
    try:
        settings = make_settings(database_url, otlp_endpoint=f"http://127.0.0.1:{port}")
        app = build_app(settings, database)
        await app.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
                await create_user(upb_grpc.UserServiceStub(channel))
        finally:
            await app.stop(grace=1)  # sends the spans not sent yet
    finally:
        await receiver.stop(None)
    names = [span.name for _, span in collector.spans]
    assert f"/{USERS}/CreateUser" in names
    assert len(names) > 1  # its SQL too
    resource, _ = collector.spans[0]
    service = {a.key: a.value.string_value for a in resource.attributes}["service.name"]
    assert service == "finance-tracker"


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """What the service logs, as configure_logging's JSON lines with their RPC context."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    handler.addFilter(logs.RpcContext())
    rpc_log = logging.getLogger("service.rpc")
    level = rpc_log.level
    rpc_log.addHandler(handler)
    rpc_log.setLevel(logging.INFO)
    yield stream
    rpc_log.removeHandler(handler)
    rpc_log.setLevel(level)


def finished(stream: io.StringIO, method: str) -> Any:
    entries = [json.loads(line) for line in stream.getvalue().splitlines()]
    [entry] = [e for e in entries if e["message"] == "rpc finished" and e["method"] == method]
    return entry


class TestLogs:
    async def test_a_log_line_carries_the_trace_and_the_request_id(
        self, traced_channel, spans, log_lines
    ):
        users = upb_grpc.UserServiceStub(traced_channel)
        request_id = str(uuid.uuid4())
        await users.CreateUser(upb.CreateUserRequest(user=new_user(), request_id=request_id))
        entry = finished(log_lines, f"/{USERS}/CreateUser")
        [rpc_span] = await server_spans(spans)
        assert entry["trace_id"] == format(rpc_span.context.trace_id, "032x")
        assert entry["span_id"] == format(rpc_span.context.span_id, "016x")
        assert entry["request_id"] == request_id

    async def test_without_tracing_a_log_line_carries_the_request_id_only(self, users, log_lines):
        request_id = str(uuid.uuid4())
        await users.CreateUser(upb.CreateUserRequest(user=new_user(), request_id=request_id))
        entry = finished(log_lines, f"/{USERS}/CreateUser")
        assert entry["request_id"] == request_id
        assert "trace_id" not in entry

    async def test_a_request_without_a_request_id_logs_none(self, users, log_lines):
        await rpc_error(users.GetUser(MISSING_USER), grpc.StatusCode.NOT_FOUND)
        entry = finished(log_lines, f"/{USERS}/GetUser")
        assert "request_id" not in entry

    def test_a_request_id_cannot_forge_log_lines(self):
        record = logging.makeLogRecord({"msg": "rpc finished"})
        sent = "x\nlevel=ERROR \x1b[31m" + "y" * 100

        def tag() -> None:
            logs.set_request_id(upb.CreateUserRequest(request_id=sent))
            logs.RpcContext().filter(record)

        contextvars.copy_context().run(tag)  # a context of its own, as each RPC has
        assert (
            record.__dict__["request_id"] == "x\\nlevel=ERROR \\x1b[31m" + "y" * 45
        )  # 64 characters
        assert "\n" not in logs.TextFormatter().format(record)


def test_configured_logging_adds_the_ids_to_every_line():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        logs.configure_logging(level="INFO", fmt="json")
        [handler] = root.handlers
        stream = io.StringIO()
        assert isinstance(handler, logging.StreamHandler)
        handler.setStream(stream)

        def log_in_an_rpc() -> None:
            logs.set_request_id(upb.CreateUserRequest(request_id="r-1"))
            logging.getLogger("service.anything").info("inside")

        contextvars.copy_context().run(log_in_an_rpc)
        logging.getLogger("service.anything").info("outside")
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    inside, outside = (json.loads(line) for line in stream.getvalue().splitlines())
    assert inside["request_id"] == "r-1"
    assert "request_id" not in outside
