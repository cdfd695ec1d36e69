"""UserService: each RPC parses its request, calls the user service once and converts the
result."""

from typing import Any

import grpc
from finance.v1 import user_service_pb2, user_service_pb2_grpc
from google.protobuf import empty_pb2

from service.api import names, pagination, user_requests
from service.api.callers import caller
from service.api.convert import user_to_proto
from service.api.page_tokens import PageTokens
from service.api.validation import name_and_etag
from service.services.users import UserService

Context = grpc.aio.ServicerContext[Any, Any]


class UserServicer(user_service_pb2_grpc.UserServiceServicer):
    """The finance.v1.UserService API over the user service."""

    def __init__(self, users: UserService, *, page_tokens: PageTokens) -> None:
        self._users = users
        self._page_tokens = page_tokens

    async def CreateUser(
        self, request: user_service_pb2.CreateUserRequest, context: Context
    ) -> user_service_pb2.User:
        create = user_requests.parse_create(request)
        user = await self._users.create(
            create.new, caller=caller(context.invocation_metadata(), create.request_id)
        )
        return user_to_proto(user)

    async def GetUser(
        self, request: user_service_pb2.GetUserRequest, context: Context
    ) -> user_service_pb2.User:
        return user_to_proto(
            await self._users.get(
                names.parse_user_name(request.name), caller=caller(context.invocation_metadata())
            )
        )

    async def ListUsers(
        self, request: user_service_pb2.ListUsersRequest, context: Context
    ) -> user_service_pb2.ListUsersResponse:
        paging = pagination.Paging(request, self._page_tokens)
        page = await self._users.list(paging.query, caller=caller(context.invocation_metadata()))
        items, token = paging.fit(page, user_to_proto)
        return user_service_pb2.ListUsersResponse(users=items, next_page_token=token)

    async def UpdateUser(
        self, request: user_service_pb2.UpdateUserRequest, context: Context
    ) -> user_service_pb2.User:
        update = user_requests.parse_update(request)
        user = await self._users.update(
            update.key,
            update.changes,
            expected_revision=update.expected_revision,
            caller=caller(context.invocation_metadata()),
        )
        return user_to_proto(user)

    async def DeleteUser(
        self, request: user_service_pb2.DeleteUserRequest, context: Context
    ) -> empty_pb2.Empty:
        key, revision = name_and_etag(names.parse_user_name, request.name, request.etag)
        await self._users.delete(
            key,
            expected_revision=revision,
            force=request.force,
            caller=caller(context.invocation_metadata()),
        )
        return empty_pb2.Empty()
