"""StatementService: each RPC parses its request, calls the statement service once and
converts the result."""

from typing import Any

import grpc
from finance.v1 import statement_service_pb2 as pb
from finance.v1 import statement_service_pb2_grpc

from service.api import names, pagination, statement_requests
from service.api.callers import caller
from service.api.ledger_request_parts import parse_named_change
from service.api.page_tokens import PageTokens
from service.api.statement_requests import outcome_to_proto, statement_to_proto
from service.services.statements import StatementService

Context = grpc.aio.ServicerContext[Any, Any]


class StatementServicer(statement_service_pb2_grpc.StatementServiceServicer):
    """The finance.v1.StatementService API over reconciliation."""

    def __init__(self, statements: StatementService, *, page_tokens: PageTokens) -> None:
        self._statements = statements
        self._page_tokens = page_tokens

    async def ReconcileAccount(
        self, request: pb.ReconcileAccountRequest, context: Context
    ) -> pb.ReconcileAccountResponse:
        reconcile = statement_requests.parse_reconcile(request, context.invocation_metadata())
        outcome = await self._statements.reconcile(
            reconcile.reconciliation, caller=reconcile.caller
        )
        return outcome_to_proto(outcome)

    async def GetStatement(self, request: pb.GetStatementRequest, context: Context) -> pb.Statement:
        key = names.parse_statement_name(request.name)
        statement = await self._statements.get(key, caller=caller(context.invocation_metadata()))
        return statement_to_proto(statement)

    async def ListStatements(
        self, request: pb.ListStatementsRequest, context: Context
    ) -> pb.ListStatementsResponse:
        account = names.parse_account_name(request.parent, "parent")
        paging = pagination.Paging(request, self._page_tokens, scope=request.parent)
        page = await self._statements.list(
            account, paging.query, caller=caller(context.invocation_metadata())
        )
        items, token = paging.fit(page, statement_to_proto)
        return pb.ListStatementsResponse(statements=items, next_page_token=token)

    async def UnreconcileStatement(
        self, request: pb.UnreconcileStatementRequest, context: Context
    ) -> pb.Statement:
        key, revision, change_caller = parse_named_change(
            names.parse_statement_name,
            request.name,
            request.etag,
            request.request_id,
            context.invocation_metadata(),
        )
        statement = await self._statements.unreconcile(
            key, expected_revision=revision, caller=change_caller
        )
        return statement_to_proto(statement)
