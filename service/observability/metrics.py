"""Prometheus metrics: RPCs by method and status code, their latency and how many are in
flight; the database pool, errors and retries. Kept in a registry the server owns (several
servers in one process do not mix their figures) and served over HTTP."""

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, cast
from wsgiref.simple_server import WSGIServer

import grpc
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from service.db.connections import RETRYABLE_TRANSACTION_ERRORS
from service.db.database import ERROR_KINDS, Database
from service.db.unit_of_work import UnitOfWork

Handler = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[Any]]

# From half a millisecond (a point read) to the longest statement a call may run.
LATENCY_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip

# The labels of go-grpc-prometheus, whose names dashboards for gRPC servers expect.
_RPC_LABELS = ("grpc_type", "grpc_service", "grpc_method")


class RpcMetrics:
    """The RPC metrics of one server, in `registry`."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.started = Counter(
            "grpc_server_started", "RPCs started on the server.", _RPC_LABELS, registry=registry
        )
        self.handled = Counter(
            "grpc_server_handled",
            "RPCs completed on the server, by status code.",
            (*_RPC_LABELS, "grpc_code"),
            registry=registry,
        )
        self.handling_seconds = Histogram(
            "grpc_server_handling_seconds",
            "Time from the start of an RPC to its status, in seconds.",
            _RPC_LABELS,
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.in_flight = Gauge(
            "grpc_server_in_flight_rpcs",
            "RPCs being handled now.",
            _RPC_LABELS,
            registry=registry,
        )


class _MethodMetrics:
    """The metrics of one method, with their label values bound once."""

    def __init__(self, metrics: RpcMetrics, method: str) -> None:
        service, _, name = method.lstrip("/").rpartition("/")
        self._labels = ("unary", service, name)
        self._handled = metrics.handled
        self._handled_by_code: dict[grpc.StatusCode, Counter] = {}
        self.started = metrics.started.labels(*self._labels)
        self.handling_seconds = metrics.handling_seconds.labels(*self._labels)
        self.in_flight = metrics.in_flight.labels(*self._labels)

    def handled(self, code: grpc.StatusCode) -> Counter:
        """The counter of this method's RPCs that ended with `code`."""
        counter = self._handled_by_code.get(code)
        if counter is None:
            counter = self._handled_by_code[code] = self._handled.labels(*self._labels, code.name)
        return counter


class MetricsInterceptor(grpc.aio.ServerInterceptor):
    """Counts each unary RPC as it starts and as it ends (with its status code), times it and
    keeps it in the in-flight gauge meanwhile. Streaming RPCs pass unmeasured: the service
    has none of its own (health's Watch and reflection are streams).

    Placed before the interceptor that maps errors to statuses, it sees every RPC end in one
    of three ways: a response (OK), an AbortError (the status set on the context) or a
    cancellation."""

    def __init__(self, metrics: RpcMetrics) -> None:
        self._metrics = metrics
        self._methods: dict[str, _MethodMetrics] = {}

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable["grpc.RpcMethodHandler[Any, Any] | None"]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> "grpc.RpcMethodHandler[Any, Any] | None":
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler  # unknown methods too: their names are not ours to make labels of
        method = handler_call_details.method
        metrics = self._methods.get(method)
        if metrics is None:
            metrics = self._methods[method] = _MethodMetrics(self._metrics, method)
        return grpc.unary_unary_rpc_method_handler(
            _measured(metrics, cast(Handler, handler.unary_unary)),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


def _measured(metrics: _MethodMetrics, behavior: Handler) -> Handler:
    async def run(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        metrics.started.inc()
        metrics.in_flight.inc()
        start = time.perf_counter()
        code = grpc.StatusCode.OK
        try:
            return await behavior(request, context)
        except grpc.aio.AbortError:
            code = context.code() or grpc.StatusCode.UNKNOWN
            raise
        except asyncio.CancelledError:
            code = grpc.StatusCode.CANCELLED
            raise
        except Exception:
            code = grpc.StatusCode.UNKNOWN  # what gRPC answers for an error it is handed
            raise
        finally:
            metrics.in_flight.dec()
            metrics.handled(code).inc()
            metrics.handling_seconds.observe(time.perf_counter() - start)

    return run


class DatabaseCollector(Collector):
    """The pool, database errors and unit-of-work retries, read when metrics are scraped.

    Scrapes run on the HTTP server's thread while the event loop changes these figures: each
    is read with one call or one copy of a dict, which the GIL keeps whole."""

    def __init__(self, database: Database, uow: UnitOfWork) -> None:
        self._database = database
        self._uow = uow

    def collect(self) -> Iterable[Metric]:
        """The current figures."""
        pool = self._database.pool_stats()
        yield GaugeMetricFamily(
            "finance_tracker_db_pool_connections",
            "Connections the pool holds open.",
            value=pool.size,
        )
        yield GaugeMetricFamily(
            "finance_tracker_db_pool_connections_in_use",
            "Pooled connections lent out to calls.",
            value=pool.in_use,
        )
        yield GaugeMetricFamily(
            "finance_tracker_db_pool_max_connections",
            "The most connections the pool may open.",
            value=pool.max_size,
        )
        yield GaugeMetricFamily(
            "finance_tracker_db_pool_waiting",
            "Calls waiting for a pooled connection (none free, or one being opened).",
            value=pool.waiting,
        )
        yield _counter(
            "finance_tracker_db_errors",
            "Errors of the database met by calls, by kind.",
            "kind",
            dict.fromkeys(ERROR_KINDS, 0) | dict(self._database.errors),
        )
        causes = {error.__name__: 0 for error in RETRYABLE_TRANSACTION_ERRORS}
        yield _counter(
            "finance_tracker_db_retries",
            "Units of work run again, by the error that made them.",
            "cause",
            causes | dict(self._uow.retries),
        )


def _counter(name: str, documentation: str, label: str, counts: dict[str, int]) -> Metric:
    family = CounterMetricFamily(name, documentation, labels=[label])
    for value, count in sorted(counts.items()):
        family.add_metric([value], count)
    return family


class MetricsEndpoint:
    """`registry` served over HTTP by prometheus_client, on a thread of its own, at any path
    (`/metrics` by convention), in the text or OpenMetrics format the scraper asks for."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self, host: str, port: int) -> int:
        """Listen on `host`:`port` (0 picks a free port); returns the port. Raises OSError
        when the address cannot be had."""
        try:
            self._server, self._thread = start_http_server(port, host, registry=self._registry)
        except OSError as error:
            raise OSError(f"cannot serve metrics on {host}:{port}: {error}") from error
        return self._server.server_port

    async def stop(self) -> None:
        """Stop listening; returns when the serving thread has ended."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._server = self._thread = None
        await asyncio.to_thread(server.shutdown)  # waits up to its poll interval (0.5 s)
        server.server_close()
        thread.join()
