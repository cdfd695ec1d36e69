"""Page tokens are signed: servers over one database accept each other's, no one else's."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import grpc
from finance.v1 import user_service_pb2 as upb
from finance.v1 import user_service_pb2_grpc

from service.api.page_tokens import PageTokens
from service.server import build_app, shared_page_tokens
from tests.conftest import make_settings
from tests.helpers import invalid_fields


@asynccontextmanager
async def _server(
    database, database_url, tokens: PageTokens
) -> AsyncIterator["user_service_pb2_grpc.UserServiceAsyncStub"]:
    app = build_app(make_settings(database_url), database, page_tokens=tokens)
    await app.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
            yield user_service_pb2_grpc.UserServiceStub(channel)
    finally:
        await app.stop(grace=1)


async def _first_token(users: "user_service_pb2_grpc.UserServiceAsyncStub") -> str:
    for name in ("a", "b"):
        await users.CreateUser(upb.CreateUserRequest(user=upb.User(display_name=name)))
    page = await users.ListUsers(upb.ListUsersRequest(page_size=1))
    token: str = page.next_page_token
    assert token
    return token


async def test_replicas_over_one_database_accept_each_others_tokens(database, database_url):
    async with (
        _server(database, database_url, await shared_page_tokens(database)) as first,
        _server(database, database_url, await shared_page_tokens(database)) as second,
    ):
        token = await _first_token(first)
        page = await second.ListUsers(upb.ListUsersRequest(page_size=1, page_token=token))
        assert len(page.users) == 1


async def test_a_token_signed_with_another_key_is_refused(database, database_url):
    async with (
        _server(database, database_url, await shared_page_tokens(database)) as ours,
        _server(database, database_url, PageTokens.with_random_key()) as theirs,
    ):
        token = await _first_token(theirs)
        violations = await invalid_fields(
            ours.ListUsers(upb.ListUsersRequest(page_size=1, page_token=token))
        )
        assert violations == {"page_token": "is not a page token this service issued"}
