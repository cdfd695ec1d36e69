"""BudgetService: each RPC parses its request, calls the budget service once and converts the
result."""

from typing import Any

import grpc
from finance.v1 import budget_service_pb2 as pb
from finance.v1 import budget_service_pb2_grpc
from google.protobuf import empty_pb2

from service.api import budget_requests as requests
from service.api import names, pagination
from service.api.callers import caller
from service.api.convert_budgets import budget_to_proto, status_to_proto
from service.api.page_tokens import PageTokens
from service.api.validation import name_and_etag
from service.services.budgets import BudgetService

Context = grpc.aio.ServicerContext[Any, Any]


class BudgetServicer(budget_service_pb2_grpc.BudgetServiceServicer):
    """The finance.v1.BudgetService API over the budget service."""

    def __init__(self, budgets: BudgetService, *, page_tokens: PageTokens) -> None:
        self._budgets = budgets
        self._page_tokens = page_tokens

    async def CreateBudget(self, request: pb.CreateBudgetRequest, context: Context) -> pb.Budget:
        create = requests.parse_create(request)
        budget = await self._budgets.create(
            create.owner,
            create.plan,
            caller=caller(context.invocation_metadata(), create.request_id),
        )
        return budget_to_proto(budget)

    async def GetBudget(self, request: pb.GetBudgetRequest, context: Context) -> pb.Budget:
        key = names.parse_budget_name(request.name)
        budget = await self._budgets.get(key, caller=caller(context.invocation_metadata()))
        return budget_to_proto(budget)

    async def ListBudgets(
        self, request: pb.ListBudgetsRequest, context: Context
    ) -> pb.ListBudgetsResponse:
        owner = names.parse_user_name(request.parent, "parent")
        paging = pagination.Paging(request, self._page_tokens, scope=request.parent)
        page = await self._budgets.list(
            owner, paging.query, caller=caller(context.invocation_metadata())
        )
        items, token = paging.fit(page, budget_to_proto)
        return pb.ListBudgetsResponse(budgets=items, next_page_token=token)

    async def UpdateBudget(self, request: pb.UpdateBudgetRequest, context: Context) -> pb.Budget:
        update = requests.parse_update(request)
        budget = await self._budgets.update(
            update.key,
            update.given,
            update.paths,
            expected_revision=update.expected_revision,
            caller=caller(context.invocation_metadata()),
        )
        return budget_to_proto(budget)

    async def DeleteBudget(
        self, request: pb.DeleteBudgetRequest, context: Context
    ) -> empty_pb2.Empty:
        key, revision = name_and_etag(names.parse_budget_name, request.name, request.etag)
        await self._budgets.delete(
            key, expected_revision=revision, caller=caller(context.invocation_metadata())
        )
        return empty_pb2.Empty()

    async def GetBudgetStatus(
        self, request: pb.GetBudgetStatusRequest, context: Context
    ) -> pb.BudgetStatus:
        key, day = requests.parse_status(request)
        status = await self._budgets.status(key, day, caller=caller(context.invocation_metadata()))
        return status_to_proto(status)
