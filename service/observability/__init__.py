"""What a server tells about itself besides its logs: Prometheus metrics and OpenTelemetry
traces, each off unless configured."""

import asyncio
from typing import TYPE_CHECKING

import grpc
from opentelemetry.trace import TracerProvider
from prometheus_client import CollectorRegistry, ProcessCollector

from service.db.database import Database
from service.db.unit_of_work import UnitOfWork
from service.observability.metrics import (
    DatabaseCollector,
    MetricsEndpoint,
    MetricsInterceptor,
    RpcMetrics,
)
from service.settings import Settings

if TYPE_CHECKING:
    from opentelemetry.sdk import trace as sdk_trace


class Telemetry:
    """A server's metrics and traces.

    Metrics are kept only when a metrics port is configured, in `registry`, which this server
    alone fills. Traces are made when a tracer provider is given (tests pass one that keeps
    spans in memory) or an OTLP endpoint configured; a provider built here is shut down (its
    last spans sent) when the server stops, a given one is left to its owner."""

    def __init__(
        self, settings: Settings, *, tracer_provider: TracerProvider | None = None
    ) -> None:
        self._host = settings.bind_host
        self._port = settings.metrics_port
        self.registry = CollectorRegistry()
        self._endpoint = MetricsEndpoint(self.registry)
        self._rpc_metrics = RpcMetrics(self.registry) if self._port is not None else None
        self._own_tracer_provider: sdk_trace.TracerProvider | None = None
        if tracer_provider is None and settings.otlp_endpoint is not None:
            from service.observability.tracing import otlp_tracer_provider

            tracer_provider = self._own_tracer_provider = otlp_tracer_provider(
                settings.otlp_endpoint
            )
        self.tracer_provider = tracer_provider
        self.metrics_port: int | None = None  # the port metrics are served on, once started

    def interceptors(self) -> list[grpc.aio.ServerInterceptor]:
        """The interceptors that trace and measure RPCs, to go before any other: a span
        encloses everything an RPC logs, and the time measured all its work."""
        interceptors: list[grpc.aio.ServerInterceptor] = []
        if self.tracer_provider is not None:
            # Imported only to trace: the instrumentation takes a quarter of a second to load.
            from service.observability.tracing import TracingInterceptor

            interceptors.append(TracingInterceptor(self.tracer_provider))
        if self._rpc_metrics is not None:
            interceptors.append(MetricsInterceptor(self._rpc_metrics))
        return interceptors

    def watch(self, database: Database, uow: UnitOfWork) -> None:
        """Report the pool, errors and retries of `database` and `uow`, and this process's
        CPU, memory and file descriptors, with the metrics."""
        if self._rpc_metrics is not None:
            self.registry.register(DatabaseCollector(database, uow))
            ProcessCollector(registry=self.registry)

    async def start(self) -> None:
        """Serve the metrics, when a port is configured. Raises OSError when it is taken."""
        if self._port is not None:
            self.metrics_port = self._endpoint.start(self._host, self._port)

    async def stop(self) -> None:
        """Stop serving metrics and send the spans not sent yet (of a provider built here)."""
        await self._endpoint.stop()
        if self._own_tracer_provider is not None:
            # Waits for the exporter, up to its timeout when the collector is gone.
            await asyncio.to_thread(self._own_tracer_provider.shutdown)
