"""MemberService: each RPC parses its request, calls the member service once and converts
the result."""

from typing import Any

import grpc
from finance.v1 import member_service_pb2, member_service_pb2_grpc
from google.protobuf import empty_pb2

from service.api import member_requests, names, pagination
from service.api.callers import caller
from service.api.member_requests import member_to_proto
from service.api.page_tokens import PageTokens
from service.api.validation import name_and_etag
from service.services.members import MemberService

Context = grpc.aio.ServicerContext[Any, Any]


class MemberServicer(member_service_pb2_grpc.MemberServiceServicer):
    """The finance.v1.MemberService API over the member service."""

    def __init__(self, members: MemberService, *, page_tokens: PageTokens) -> None:
        self._members = members
        self._page_tokens = page_tokens

    async def CreateMember(
        self, request: member_service_pb2.CreateMemberRequest, context: Context
    ) -> member_service_pb2.Member:
        create = member_requests.parse_create(request)
        member = await self._members.create(
            create.owner,
            create.new,
            caller=caller(context.invocation_metadata(), create.request_id),
        )
        return member_to_proto(member)

    async def GetMember(
        self, request: member_service_pb2.GetMemberRequest, context: Context
    ) -> member_service_pb2.Member:
        key = names.parse_member_name(request.name)
        member = await self._members.get(key, caller=caller(context.invocation_metadata()))
        return member_to_proto(member)

    async def ListMembers(
        self, request: member_service_pb2.ListMembersRequest, context: Context
    ) -> member_service_pb2.ListMembersResponse:
        owner = names.parse_user_name(request.parent, "parent")
        paging = pagination.Paging(request, self._page_tokens, scope=request.parent)
        page = await self._members.list(
            owner, paging.query, caller=caller(context.invocation_metadata())
        )
        items, token = paging.fit(page, member_to_proto)
        return member_service_pb2.ListMembersResponse(members=items, next_page_token=token)

    async def UpdateMember(
        self, request: member_service_pb2.UpdateMemberRequest, context: Context
    ) -> member_service_pb2.Member:
        update = member_requests.parse_update(request)
        member = await self._members.update(
            update.key,
            update.changes,
            expected_revision=update.expected_revision,
            caller=caller(context.invocation_metadata()),
        )
        return member_to_proto(member)

    async def DeleteMember(
        self, request: member_service_pb2.DeleteMemberRequest, context: Context
    ) -> empty_pb2.Empty:
        key, revision = name_and_etag(names.parse_member_name, request.name, request.etag)
        await self._members.delete(
            key, expected_revision=revision, caller=caller(context.invocation_metadata())
        )
        return empty_pb2.Empty()
