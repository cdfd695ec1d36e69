"""Assertions on gRPC errors and their google.rpc details."""

from collections.abc import Awaitable
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status


async def rpc_error(call: Awaitable[Any], code: grpc.StatusCode) -> grpc.aio.AioRpcError:
    """Await `call`, expecting it to fail with `code`; returns the error."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    assert caught.value.code() == code, caught.value.details()
    return caught.value


def details(error: grpc.aio.AioRpcError) -> status_pb2.Status:
    """The google.rpc.Status a server sent with `error`."""
    status = rpc_status.from_call(error)
    assert status is not None, "the error carries no google.rpc.Status"
    return status


def field_violations(error: grpc.aio.AioRpcError) -> dict[str, str]:
    """The BadRequest field violations of `error`, field -> description."""
    for detail in details(error).details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
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
