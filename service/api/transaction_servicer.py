"""TransactionService: each RPC parses its request, calls the ledger once and converts the
result."""

from typing import Any

import grpc
from finance.v1 import transaction_service_pb2 as pb
from finance.v1 import transaction_service_pb2_grpc

from service.api import movement_requests, names, pagination
from service.api import transaction_requests as requests
from service.api.callers import caller
from service.api.convert_ledger import transaction_to_proto
from service.api.page_tokens import PageTokens
from service.domain import movements
from service.services.ledger import LedgerService

Context = grpc.aio.ServicerContext[Any, Any]

# The filter fields of ListTransactions that name a resource, and its collection.
TRANSACTION_REFERENCES = {"account": "accounts", "category": "categories", "payee": "payees"}


class TransactionServicer(transaction_service_pb2_grpc.TransactionServiceServicer):
    """The finance.v1.TransactionService API over the ledger."""

    def __init__(self, ledger: LedgerService, *, page_tokens: PageTokens) -> None:
        self._ledger = ledger
        self._page_tokens = page_tokens

    async def CreateTransaction(
        self, request: pb.CreateTransactionRequest, context: Context
    ) -> pb.Transaction:
        create = requests.parse_create(request, context.invocation_metadata())
        transaction = await self._ledger.record(
            create.owner, create.draft, caller=create.caller, apply_rules=request.apply_rules
        )
        return transaction_to_proto(transaction)

    async def GetTransaction(
        self, request: pb.GetTransactionRequest, context: Context
    ) -> pb.Transaction:
        key = names.parse_transaction_name(request.name)
        return transaction_to_proto(
            await self._ledger.get(key, caller=caller(context.invocation_metadata()))
        )

    async def ListTransactions(
        self, request: pb.ListTransactionsRequest, context: Context
    ) -> pb.ListTransactionsResponse:
        owner = names.parse_user_name(request.parent, "parent")
        paging = pagination.Paging(
            request, self._page_tokens, scope=request.parent, references=TRANSACTION_REFERENCES
        )
        page = await self._ledger.list(
            owner, paging.query, caller=caller(context.invocation_metadata())
        )
        items, token = paging.fit(page, transaction_to_proto)
        return pb.ListTransactionsResponse(transactions=items, next_page_token=token)

    async def UpdateTransaction(
        self, request: pb.UpdateTransactionRequest, context: Context
    ) -> pb.Transaction:
        change, changes = requests.parse_update(request, context.invocation_metadata())
        transaction = await self._ledger.update(
            change.key, changes, expected_revision=change.expected_revision, caller=change.caller
        )
        return transaction_to_proto(transaction)

    async def PostTransaction(
        self, request: pb.PostTransactionRequest, context: Context
    ) -> pb.Transaction:
        change = requests.parse_change(
            request.name, request.etag, request.request_id, context.invocation_metadata()
        )
        transaction = await self._ledger.post(
            change.key, expected_revision=change.expected_revision, caller=change.caller
        )
        return transaction_to_proto(transaction)

    async def VoidTransaction(
        self, request: pb.VoidTransactionRequest, context: Context
    ) -> pb.Transaction:
        change = requests.parse_change(
            request.name, request.etag, request.request_id, context.invocation_metadata()
        )
        transaction = await self._ledger.void(
            change.key, expected_revision=change.expected_revision, caller=change.caller
        )
        return transaction_to_proto(transaction)

    async def ReverseTransaction(
        self, request: pb.ReverseTransactionRequest, context: Context
    ) -> pb.Transaction:
        reverse = requests.parse_reverse(request, context.invocation_metadata())
        reversal = await self._ledger.reverse(
            reverse.key,
            booking_date=reverse.booking_date,
            reason=reverse.reason,
            caller=reverse.caller,
        )
        return transaction_to_proto(reversal)

    async def RecordExpense(
        self, request: pb.RecordExpenseRequest, context: Context
    ) -> pb.Transaction:
        simple = movement_requests.parse_simple(request, context.invocation_metadata())
        draft = movements.expense_draft(
            simple.account, base=simple.base, category_id=simple.category_id
        )
        return transaction_to_proto(
            await self._ledger.record(
                simple.owner, draft, caller=simple.caller, apply_rules=request.apply_rules
            )
        )

    async def RecordIncome(
        self, request: pb.RecordIncomeRequest, context: Context
    ) -> pb.Transaction:
        simple = movement_requests.parse_simple(request, context.invocation_metadata())
        draft = movements.income_draft(
            simple.account, base=simple.base, category_id=simple.category_id
        )
        return transaction_to_proto(
            await self._ledger.record(
                simple.owner, draft, caller=simple.caller, apply_rules=request.apply_rules
            )
        )

    async def TransferFunds(
        self, request: pb.TransferFundsRequest, context: Context
    ) -> pb.Transaction:
        transfer = movement_requests.parse_transfer(request, context.invocation_metadata())
        draft = movements.transfer_draft(
            transfer.source,
            transfer.destination,
            base=transfer.base,
            to_amount_given=transfer.to_amount_given,
        )
        transaction = await self._ledger.record(transfer.owner, draft, caller=transfer.caller)
        return transaction_to_proto(transaction)
