"""AccountService: each RPC parses its request, calls the account service once and converts
the result."""

from typing import Any

import grpc
from finance.v1 import account_service_pb2, account_service_pb2_grpc
from google.protobuf import empty_pb2

from service.api import account_requests, names, pagination
from service.api.callers import caller
from service.api.convert import account_to_proto
from service.api.convert_ledger import balance_to_proto
from service.api.page_tokens import PageTokens
from service.api.validation import name_and_etag
from service.domain.models import AccountState
from service.services.accounts import AccountService

Context = grpc.aio.ServicerContext[Any, Any]


class AccountServicer(account_service_pb2_grpc.AccountServiceServicer):
    """The finance.v1.AccountService API over the account service."""

    def __init__(self, accounts: AccountService, *, page_tokens: PageTokens) -> None:
        self._accounts = accounts
        self._page_tokens = page_tokens

    async def CreateAccount(
        self, request: account_service_pb2.CreateAccountRequest, context: Context
    ) -> account_service_pb2.Account:
        create = account_requests.parse_create(request)
        account = await self._accounts.create(
            create.owner,
            create.new,
            caller=caller(context.invocation_metadata(), create.request_id),
        )
        return account_to_proto(account)

    async def GetAccount(
        self, request: account_service_pb2.GetAccountRequest, context: Context
    ) -> account_service_pb2.Account:
        return account_to_proto(
            await self._accounts.get(
                names.parse_account_name(request.name), caller=caller(context.invocation_metadata())
            )
        )

    async def ListAccounts(
        self, request: account_service_pb2.ListAccountsRequest, context: Context
    ) -> account_service_pb2.ListAccountsResponse:
        owner = names.parse_user_name(request.parent, "parent")
        paging = pagination.Paging(request, self._page_tokens, scope=request.parent)
        page = await self._accounts.list(
            owner, paging.query, caller=caller(context.invocation_metadata())
        )
        items, token = paging.fit(page, account_to_proto)
        return account_service_pb2.ListAccountsResponse(accounts=items, next_page_token=token)

    async def UpdateAccount(
        self, request: account_service_pb2.UpdateAccountRequest, context: Context
    ) -> account_service_pb2.Account:
        update = account_requests.parse_update(request)
        account = await self._accounts.update(
            update.key,
            update.changes,
            expected_revision=update.expected_revision,
            caller=caller(context.invocation_metadata()),
        )
        return account_to_proto(account)

    async def DeleteAccount(
        self, request: account_service_pb2.DeleteAccountRequest, context: Context
    ) -> empty_pb2.Empty:
        key, revision = name_and_etag(names.parse_account_name, request.name, request.etag)
        await self._accounts.delete(
            key, expected_revision=revision, caller=caller(context.invocation_metadata())
        )
        return empty_pb2.Empty()

    async def ArchiveAccount(
        self, request: account_service_pb2.ArchiveAccountRequest, context: Context
    ) -> account_service_pb2.Account:
        return await self._set_state(request, AccountState.ARCHIVED, context)

    async def UnarchiveAccount(
        self, request: account_service_pb2.UnarchiveAccountRequest, context: Context
    ) -> account_service_pb2.Account:
        return await self._set_state(request, AccountState.ACTIVE, context)

    async def GetAccountBalance(
        self, request: account_service_pb2.GetAccountBalanceRequest, context: Context
    ) -> account_service_pb2.AccountBalance:
        query = account_requests.parse_balance(request)
        day, balance = await self._accounts.balance(
            query.key, query.day, caller=caller(context.invocation_metadata())
        )
        return balance_to_proto(query.key, day, balance)

    async def GetBalanceHistory(
        self, request: account_service_pb2.GetBalanceHistoryRequest, context: Context
    ) -> account_service_pb2.GetBalanceHistoryResponse:
        query = account_requests.parse_history(request)
        points = await self._accounts.history(
            query.key,
            query.start,
            query.end,
            monthly=query.monthly,
            caller=caller(context.invocation_metadata()),
        )
        return account_service_pb2.GetBalanceHistoryResponse(
            balances=[balance_to_proto(query.key, day, balance) for day, balance in points]
        )

    async def _set_state(
        self,
        request: account_service_pb2.ArchiveAccountRequest
        | account_service_pb2.UnarchiveAccountRequest,
        state: AccountState,
        context: Context,
    ) -> account_service_pb2.Account:
        key, revision = name_and_etag(names.parse_account_name, request.name, request.etag)
        account = await self._accounts.set_state(
            key, state, expected_revision=revision, caller=caller(context.invocation_metadata())
        )
        return account_to_proto(account)
