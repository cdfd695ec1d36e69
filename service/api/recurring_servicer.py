"""RecurringTransactionService: each RPC parses its request, calls the recurring transaction
service once and converts the result."""

from typing import Any

import grpc
from finance.v1 import recurring_transaction_service_pb2 as pb
from finance.v1 import recurring_transaction_service_pb2_grpc as pb_grpc
from google.protobuf import empty_pb2

from service.api import names, pagination, recurring_requests
from service.api.callers import caller
from service.api.convert_recurring import occurrence_to_proto, recurring_to_proto
from service.api.page_tokens import PageTokens
from service.api.validation import name_and_etag
from service.domain.keys import RecurringTransactionKey
from service.services.recurring import RecurringService

Context = grpc.aio.ServicerContext[Any, Any]


def _name_and_etag(
    request: pb.DeleteRecurringTransactionRequest
    | pb.PauseRecurringTransactionRequest
    | pb.ResumeRecurringTransactionRequest,
) -> tuple[RecurringTransactionKey, int | None]:
    return name_and_etag(names.parse_recurring_transaction_name, request.name, request.etag)


class RecurringTransactionServicer(pb_grpc.RecurringTransactionServiceServicer):
    """The finance.v1.RecurringTransactionService API over the recurring transaction
    service."""

    def __init__(self, recurring: RecurringService, *, page_tokens: PageTokens) -> None:
        self._recurring = recurring
        self._page_tokens = page_tokens

    async def CreateRecurringTransaction(
        self, request: pb.CreateRecurringTransactionRequest, context: Context
    ) -> pb.RecurringTransaction:
        create = recurring_requests.parse_create(request, context.invocation_metadata())
        recurring = await self._recurring.create(
            create.owner, create.template, create.schedule, caller=create.caller
        )
        return recurring_to_proto(recurring)

    async def GetRecurringTransaction(
        self, request: pb.GetRecurringTransactionRequest, context: Context
    ) -> pb.RecurringTransaction:
        key = names.parse_recurring_transaction_name(request.name)
        recurring = await self._recurring.get(key, caller=caller(context.invocation_metadata()))
        return recurring_to_proto(recurring)

    async def ListRecurringTransactions(
        self, request: pb.ListRecurringTransactionsRequest, context: Context
    ) -> pb.ListRecurringTransactionsResponse:
        owner = names.parse_user_name(request.parent, "parent")
        paging = pagination.Paging(request, self._page_tokens, scope=request.parent)
        page = await self._recurring.list(
            owner, paging.query, caller=caller(context.invocation_metadata())
        )
        items, token = paging.fit(page, recurring_to_proto)
        return pb.ListRecurringTransactionsResponse(
            recurring_transactions=items, next_page_token=token
        )

    async def UpdateRecurringTransaction(
        self, request: pb.UpdateRecurringTransactionRequest, context: Context
    ) -> pb.RecurringTransaction:
        update = recurring_requests.parse_update(request)
        recurring = await self._recurring.update(
            update.key,
            update.changes,
            expected_revision=update.expected_revision,
            caller=caller(context.invocation_metadata()),
        )
        return recurring_to_proto(recurring)

    async def DeleteRecurringTransaction(
        self, request: pb.DeleteRecurringTransactionRequest, context: Context
    ) -> empty_pb2.Empty:
        key, revision = _name_and_etag(request)
        await self._recurring.delete(
            key, expected_revision=revision, caller=caller(context.invocation_metadata())
        )
        return empty_pb2.Empty()

    async def PauseRecurringTransaction(
        self, request: pb.PauseRecurringTransactionRequest, context: Context
    ) -> pb.RecurringTransaction:
        key, revision = _name_and_etag(request)
        recurring = await self._recurring.pause(
            key, expected_revision=revision, caller=caller(context.invocation_metadata())
        )
        return recurring_to_proto(recurring)

    async def ResumeRecurringTransaction(
        self, request: pb.ResumeRecurringTransactionRequest, context: Context
    ) -> pb.RecurringTransaction:
        key, revision = _name_and_etag(request)
        recurring = await self._recurring.resume(
            key, expected_revision=revision, caller=caller(context.invocation_metadata())
        )
        return recurring_to_proto(recurring)

    async def SkipOccurrence(
        self, request: pb.SkipOccurrenceRequest, context: Context
    ) -> pb.RecurringTransaction:
        skip = recurring_requests.parse_skip(request, context.invocation_metadata())
        recurring = await self._recurring.skip(
            skip.key,
            skip.occurrence_date,
            expected_revision=skip.expected_revision,
            caller=skip.caller,
        )
        return recurring_to_proto(recurring)

    async def ListUpcomingOccurrences(
        self, request: pb.ListUpcomingOccurrencesRequest, context: Context
    ) -> pb.ListUpcomingOccurrencesResponse:
        upcoming = recurring_requests.parse_upcoming(request)
        found = await self._recurring.occurrences(
            upcoming.key,
            upcoming.first,
            upcoming.last,
            caller=caller(context.invocation_metadata()),
        )
        return pb.ListUpcomingOccurrencesResponse(
            occurrences=[occurrence_to_proto(upcoming.key.user_id, o) for o in found]
        )
