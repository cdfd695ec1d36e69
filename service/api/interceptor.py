"""One interceptor around every unary RPC: limits, authentication, deadline, error mapping and
a log line."""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, cast

import grpc
from google.protobuf.message import DecodeError

from service import logs
from service.api import errors
from service.api.authentication import Authenticator
from service.api.callers import acting_as
from service.api.limits import Limits
from service.db.deadlines import deadline_in
from service.domain.access import Principal
from service.domain.errors import DomainError, InvalidArgument

log = logging.getLogger("service.rpc")

Handler = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[Any]]
Deserializer = Callable[[bytes], Any]

# The methods that reach people's books, and so need an authenticated caller; health checks
# stay open to probes, and reflection only describes the API.
_AUTHENTICATED_PREFIX = "/finance."


class RpcInterceptor(grpc.aio.ServerInterceptor):
    """Admits each unary finance RPC within the `limits` (none by default) and authenticates
    its caller, parses its request, runs it within its deadline as that caller, maps domain
    errors to a status with details, hides unexpected errors behind INTERNAL and logs method,
    caller, status code and duration."""

    def __init__(self, authenticator: Authenticator, limits: Limits | None = None) -> None:
        self._gate = _Gate(authenticator, limits or Limits())

    async def intercept_service(
        self,
        # RpcMethodHandler is generic in the stubs only, hence the quotes.
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable["grpc.RpcMethodHandler[Any, Any] | None"]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> "grpc.RpcMethodHandler[Any, Any] | None":
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        # Under grpc.aio the behavior is a coroutine function taking an aio context; the stubs
        # type RpcMethodHandler for the synchronous server only.
        behavior = cast(Handler, handler.unary_unary)
        method = handler_call_details.method
        gate = self._gate if method.startswith(_AUTHENTICATED_PREFIX) else None
        return grpc.unary_unary_rpc_method_handler(
            _wrap(method, behavior, handler.request_deserializer, gate),
            # gRPC would answer bytes that are no request with a bare UNKNOWN, before any
            # interceptor runs and without a log line: `run` parses them instead.
            request_deserializer=None,
            response_serializer=handler.response_serializer,
        )


@dataclass(frozen=True)
class _Gate:
    """What a finance RPC passes before its handler runs: a slot of the concurrency limit, held
    until it ends, then authentication and its principal's rate limit."""

    authenticator: Authenticator
    limits: Limits


@contextmanager
def _request_scope(principal: Principal | None, remaining: float | None) -> Iterator[None]:
    """The request-scoped context of the handler: its caller, and the deadline (`remaining`
    seconds from now) its database work is held to."""
    with nullcontext() if principal is None else acting_as(principal), deadline_in(remaining):
        yield


def _parse(request: Any, deserialize: Deserializer | None) -> Any:
    if deserialize is None:
        return request
    try:
        return deserialize(request)
    except DecodeError:
        raise InvalidArgument.single("request", "is not a valid message for this method") from None


def _wrap(
    method: str,
    behavior: Handler,
    deserialize: Deserializer | None,
    gate: _Gate | None,
) -> Handler:
    async def run(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        start = time.perf_counter()
        code = grpc.StatusCode.OK
        principal: Principal | None = None
        try:
            with nullcontext() if gate is None else gate.limits.slot():
                if gate is not None:
                    principal = await gate.authenticator.authenticate(context)
                    gate.limits.charge(principal)
                parsed = _parse(request, deserialize)
                logs.set_request_id(parsed)
                # A query must not outlive the RPC: at the deadline the handler is cancelled,
                # and asyncpg cancels the statement on the server; PostgreSQL's own
                # statement_timeout, set from the deadline, stops it if that cancel is lost.
                remaining = context.time_remaining()
                async with asyncio.timeout(remaining):
                    with _request_scope(principal, remaining):
                        return await behavior(parsed, context)
        except DomainError as error:
            status = errors.to_status(error, method.rsplit("/", 1)[-1])
            code = errors.grpc_code(status)
            await context.abort(code, status.message, errors.trailers(status))
        except TimeoutError:
            code = grpc.StatusCode.DEADLINE_EXCEEDED
            await context.abort(code, "deadline exceeded")
        except asyncio.CancelledError:
            code = grpc.StatusCode.CANCELLED
            raise
        except grpc.aio.AbortError:
            code = context.code() or grpc.StatusCode.UNKNOWN
            raise
        except Exception:
            code = grpc.StatusCode.INTERNAL
            log.exception("unexpected error in %s", method)
            await context.abort(code, "internal error")
        finally:
            log.info(
                "rpc finished",
                extra={
                    "method": method,
                    "principal": None if principal is None else principal.subject,
                    "code": code.name,
                    "duration_ms": round((time.perf_counter() - start) * 1000, 3),
                    "peer": context.peer(),
                },
            )

    return run
