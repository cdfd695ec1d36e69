"""Assertions on gRPC errors and their google.rpc details, and waiting for a health status."""

import asyncio
from collections.abc import Awaitable
from typing import Any, cast

import grpc
import pytest
from google.protobuf.descriptor import Descriptor
from google.rpc import error_details_pb2, status_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def rpc_error(call: Awaitable[Any], code: grpc.StatusCode) -> grpc.aio.AioRpcError:
    """Await `call`, expecting it to fail with `code`; returns the error."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    assert caught.value.code() == code, caught.value.details()
    return caught.value


def details(error: grpc.aio.AioRpcError) -> status_pb2.Status:
    """The google.rpc.Status a server sent with `error`."""
    # AioRpcError has the code(), details() and trailing_metadata() that from_call reads; the
    # stub asks for a grpc.Call and returns an untyped value.
    status: status_pb2.Status | None = rpc_status.from_call(cast(grpc.Call, error))
    assert status is not None, "the error carries no google.rpc.Status"
    return status


def field_violations(error: grpc.aio.AioRpcError) -> dict[str, str]:
    """The BadRequest field violations of `error`, field -> description."""
    for detail in details(error).details:
        # types-protobuf types DESCRIPTOR as a union that Any.Is does not accept.
        if detail.Is(cast(Descriptor, error_details_pb2.BadRequest.DESCRIPTOR)):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            return {v.field: v.description for v in bad_request.field_violations}
    raise AssertionError("no BadRequest detail")


def unpack(error: grpc.aio.AioRpcError, message_type: type[Any]) -> Any:
    """The detail of type `message_type` of `error`."""
    for detail in details(error).details:
        if detail.Is(message_type.DESCRIPTOR):
            message = message_type()
            detail.Unpack(message)
            return message
    raise AssertionError(f"no {message_type.__name__} detail")


async def invalid_fields(call: Awaitable[Any]) -> dict[str, str]:
    """Await `call`, expecting INVALID_ARGUMENT; returns its field violations."""
    return field_violations(await rpc_error(call, grpc.StatusCode.INVALID_ARGUMENT))


async def wait_for_status(
    stub: health_pb2_grpc.HealthStub, expected: int, service: str = ""
) -> None:
    """Poll `stub` until `service` (the whole server when empty) reports `expected`."""
    async with asyncio.timeout(15):
        while True:
            # The stub sets Check in __init__; types-grpcio-health-checking does not declare it.
            response = await stub.Check(  # type: ignore[attr-defined]
                health_pb2.HealthCheckRequest(service=service)
            )
            if response.status == expected:
                return
            await asyncio.sleep(0.1)
