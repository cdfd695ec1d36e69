"""PayeeService: each RPC parses its request, calls the payee service once and converts
the result."""

from typing import Any

import grpc
from finance.v1 import payee_service_pb2, payee_service_pb2_grpc
from google.protobuf import empty_pb2

from service.api import names, pagination, payee_requests
from service.api.callers import caller
from service.api.convert_catalog import payee_to_proto
from service.api.page_tokens import PageTokens
from service.api.validation import name_and_etag
from service.services.catalog import PayeeService

Context = grpc.aio.ServicerContext[Any, Any]


class PayeeServicer(payee_service_pb2_grpc.PayeeServiceServicer):
    """The finance.v1.PayeeService API over the payee service."""

    def __init__(self, payees: PayeeService, *, page_tokens: PageTokens) -> None:
        self._payees = payees
        self._page_tokens = page_tokens

    async def CreatePayee(
        self, request: payee_service_pb2.CreatePayeeRequest, context: Context
    ) -> payee_service_pb2.Payee:
        create = payee_requests.parse_create(request)
        payee = await self._payees.create(
            create.owner,
            create.new,
            caller=caller(context.invocation_metadata(), create.request_id),
        )
        return payee_to_proto(payee)

    async def GetPayee(
        self, request: payee_service_pb2.GetPayeeRequest, context: Context
    ) -> payee_service_pb2.Payee:
        return payee_to_proto(
            await self._payees.get(
                names.parse_payee_name(request.name), caller=caller(context.invocation_metadata())
            )
        )

    async def ListPayees(
        self, request: payee_service_pb2.ListPayeesRequest, context: Context
    ) -> payee_service_pb2.ListPayeesResponse:
        owner = names.parse_user_name(request.parent, "parent")
        paging = pagination.Paging(request, self._page_tokens, scope=request.parent)
        page = await self._payees.list(
            owner, paging.query, caller=caller(context.invocation_metadata())
        )
        items, token = paging.fit(page, payee_to_proto)
        return payee_service_pb2.ListPayeesResponse(payees=items, next_page_token=token)

    async def UpdatePayee(
        self, request: payee_service_pb2.UpdatePayeeRequest, context: Context
    ) -> payee_service_pb2.Payee:
        update = payee_requests.parse_update(request)
        payee = await self._payees.update(
            update.key,
            update.changes,
            expected_revision=update.expected_revision,
            caller=caller(context.invocation_metadata()),
        )
        return payee_to_proto(payee)

    async def DeletePayee(
        self, request: payee_service_pb2.DeletePayeeRequest, context: Context
    ) -> empty_pb2.Empty:
        key, revision = name_and_etag(names.parse_payee_name, request.name, request.etag)
        await self._payees.delete(
            key, expected_revision=revision, caller=caller(context.invocation_metadata())
        )
        return empty_pb2.Empty()
