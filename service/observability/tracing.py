"""Traces: a span for each finance.v1 RPC (opentelemetry-instrumentation-grpc) with a span for
each SQL statement it runs beneath it (opentelemetry-instrumentation-asyncpg), exported over
OTLP.

Each server has a tracer provider of its own instead of the process-wide one. The asyncpg
instrumentation cannot be had that way: it patches asyncpg's classes once for the process and
takes its tracer provider then. It is given `_RpcTracerProvider`, which traces a statement with
the provider of the RPC that runs it (set by `TracingInterceptor`), and not at all outside a
traced RPC: health pings and migrations make no spans.
"""

import weakref
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, cast

import grpc
from opentelemetry import trace
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.instrumentation.grpc import aio_server_interceptor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Status, StatusCode

Handler = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[Any]]

# The codes that are the server's failure rather than the caller's (OpenTelemetry's semantic
# conventions for gRPC servers): only these mark a span as an error.
_SERVER_ERRORS = frozenset(
    {
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DATA_LOSS,
    }
)

RPC_GRPC_STATUS_CODE = "rpc.grpc.status_code"  # the attribute the instrumentation sets

# The tracer provider of the RPC being served, for the SQL it runs.
_rpc_provider: ContextVar[trace.TracerProvider | None] = ContextVar(
    "rpc_tracer_provider", default=None
)


def otlp_tracer_provider(endpoint: str) -> TracerProvider:
    """A provider that sends spans in batches to the OTLP/gRPC collector at `endpoint` (TLS
    for https://). The exporter's OTEL_EXPORTER_OTLP_* variables (headers, certificates) and
    OTEL_RESOURCE_ATTRIBUTES apply; the service is named finance-tracker."""
    # Imported here: the exporter is a heavy import, and only needed when traces are sent.
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: "finance-tracker"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return provider


def traced(details: grpc.HandlerCallDetails) -> bool:
    """Whether an RPC is traced: those of finance.v1, not health checks or reflection. (The
    grpc instrumentation also expects a streaming handler to be an async generator, which
    health's Watch is not.)"""
    return details.method.startswith("/finance.")


class TracingInterceptor(grpc.aio.ServerInterceptor):
    """A span for each RPC of finance.v1, continuing the caller's trace (W3C traceparent), with
    the RPC's status code on it; the SQL the RPC runs is traced beneath it.

    Goes first among the interceptors, so that every log line of the RPC has its trace."""

    def __init__(self, provider: trace.TracerProvider) -> None:
        self._provider = provider
        # The instrumentation's functions are not annotated.
        self._spans = aio_server_interceptor(tracer_provider=provider)  # type: ignore[no-untyped-call]
        instrument_asyncpg()

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable["grpc.RpcMethodHandler[Any, Any] | None"]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> "grpc.RpcMethodHandler[Any, Any] | None":
        if not traced(handler_call_details):
            return await continuation(handler_call_details)

        async def within_span(
            details: grpc.HandlerCallDetails,
        ) -> "grpc.RpcMethodHandler[Any, Any] | None":
            handler = await continuation(details)
            if handler is None or handler.unary_unary is None:
                return handler
            return grpc.unary_unary_rpc_method_handler(
                self._traced(cast(Handler, handler.unary_unary)),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )

        return cast(
            "grpc.RpcMethodHandler[Any, Any] | None",
            await self._spans.intercept_service(within_span, handler_call_details),
        )

    def _traced(self, behavior: Handler) -> Handler:
        """`behavior` run in the RPC's span, with its SQL traced by this server's provider."""

        async def run(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            token = _rpc_provider.set(self._provider)
            try:
                return await behavior(request, context)
            except grpc.aio.AbortError:
                # The instrumentation sees aborts through context.abort() only, not those of
                # abort_with_status() (every domain error): the status is set here for all.
                _record_status(context.code() or grpc.StatusCode.UNKNOWN)
                raise
            finally:
                _rpc_provider.reset(token)

        return run


def _record_status(code: grpc.StatusCode) -> None:
    span = trace.get_current_span()
    span.set_attribute(RPC_GRPC_STATUS_CODE, code.value[0])
    if code in _SERVER_ERRORS:
        span.set_status(Status(StatusCode.ERROR, code.name))


def instrument_asyncpg() -> None:
    """Patch asyncpg, once for the process, to trace each statement within the RPC that runs
    it (see the module docstring). Called only by a server that traces: a process that does
    not runs asyncpg unpatched."""
    instrumentor = AsyncPGInstrumentor()  # type: ignore[no-untyped-call]  # not annotated
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(tracer_provider=_RpcTracerProvider())


class _RpcTracerProvider(trace.TracerProvider):
    """Tracers that trace with the provider of the RPC being served, and not at all outside
    one."""

    def get_tracer(
        self,
        instrumenting_module_name: str,
        instrumenting_library_version: str | None = None,
        schema_url: str | None = None,
        attributes: Any = None,
    ) -> trace.Tracer:
        """A tracer of the given instrumentation scope."""
        return _RpcTracer(
            instrumenting_module_name, instrumenting_library_version, schema_url, attributes
        )


class _RpcTracer(trace.Tracer):
    """Starts spans with the tracer of the current RPC's provider (one per provider, made on
    first use), or with a no-op tracer outside an RPC."""

    def __init__(self, *scope: Any) -> None:
        self._scope = scope
        self._tracers: weakref.WeakKeyDictionary[trace.TracerProvider, trace.Tracer] = (
            weakref.WeakKeyDictionary()
        )

    def _current(self) -> trace.Tracer:
        provider = _rpc_provider.get()
        if provider is None:
            return _NO_TRACER
        tracer = self._tracers.get(provider)
        if tracer is None:
            tracer = self._tracers[provider] = provider.get_tracer(*self._scope)
        return tracer

    def start_span(self, *args: Any, **kwargs: Any) -> trace.Span:
        """A span of the current RPC's tracer."""
        return self._current().start_span(*args, **kwargs)

    # The base's decorator is private to the API (as in its own ProxyTracer), hence the ignore.
    @contextmanager
    def start_as_current_span(  # type: ignore[override]
        self, *args: Any, **kwargs: Any
    ) -> Iterator[trace.Span]:
        """A current span of the current RPC's tracer."""
        with self._current().start_as_current_span(*args, **kwargs) as span:
            yield span


_NO_TRACER = trace.NoOpTracer()
