"""The interceptor on a real server: unexpected errors become a bare INTERNAL, and are logged."""

import logging
from collections.abc import AsyncIterator

import grpc
import pytest

from service.api.authentication import NoAuthentication
from service.api.interceptor import RpcInterceptor
from service.domain.errors import NotFound
from service.domain.keys import UserKey

SECRET = "password=hunter2 at /srv/internal/path.py"


async def explode(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
    raise RuntimeError(SECRET)


async def missing(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
    raise NotFound(UserKey("thing"))


@pytest.fixture
async def channel() -> AsyncIterator[grpc.aio.Channel]:
    server = grpc.aio.server(interceptors=[RpcInterceptor(NoAuthentication())])
    handlers: dict[str, grpc.RpcMethodHandler[bytes, bytes]] = {
        "Explode": grpc.unary_unary_rpc_method_handler(explode),
        "Missing": grpc.unary_unary_rpc_method_handler(missing),
    }
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler("test.Test", handlers)])
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as ch:
        yield ch
    await server.stop(None)


async def test_unexpected_error_is_internal_without_details_and_logged(channel, caplog):
    call = channel.unary_unary("/test.Test/Explode")
    with caplog.at_level(logging.INFO), pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(b"")
    assert caught.value.code() == grpc.StatusCode.INTERNAL
    assert caught.value.details() == "internal error"
    assert "hunter2" not in str(caught.value.debug_error_string())
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert errors
    assert errors[0].exc_info is not None
    assert SECRET in str(errors[0].exc_info[1])
    finished = [r for r in caplog.records if r.getMessage() == "rpc finished"]
    assert finished[-1].__dict__["code"] == "INTERNAL"
    assert finished[-1].__dict__["method"] == "/test.Test/Explode"


async def test_domain_error_is_mapped_and_logged_with_its_code(channel, caplog):
    call = channel.unary_unary("/test.Test/Missing")
    with caplog.at_level(logging.INFO), pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(b"")
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    finished = [r for r in caplog.records if r.getMessage() == "rpc finished"]
    assert finished[-1].__dict__["code"] == "NOT_FOUND"
    assert finished[-1].__dict__["duration_ms"] >= 0
