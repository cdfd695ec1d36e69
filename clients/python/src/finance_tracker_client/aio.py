"""The asyncio client (grpc.aio): one wrapper per finance.v1 service over one channel."""

import asyncio
import copy
from collections.abc import AsyncIterator, Sequence
from types import TracebackType
from typing import Any, Generic, Self

import grpc
from finance.v1 import (
    account_service_pb2_grpc,
    audit_service_pb2_grpc,
    budget_service_pb2_grpc,
    category_service_pb2_grpc,
    exchange_rate_service_pb2_grpc,
    member_service_pb2_grpc,
    payee_service_pb2_grpc,
    recurring_transaction_service_pb2_grpc,
    report_service_pb2_grpc,
    rule_service_pb2_grpc,
    statement_service_pb2_grpc,
    transaction_service_pb2_grpc,
    user_service_pb2_grpc,
)

from finance_tracker_client.credentials import (
    AsyncBearerInterceptor,
    AsyncTokenProvider,
    Tls,
    channel_settings,
    token_source,
)
from finance_tracker_client.errors import from_rpc_error
from finance_tracker_client.messages import PageRequestT, PageT, RequestT, ResponseT
from finance_tracker_client.policy import (
    ACTOR_METADATA,
    DEFAULT_CHANNEL_OPTIONS,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    NO_RETRIES,
    CallSettings,
    Metadata,
    RetryPolicy,
)


class AsyncCall(Generic[RequestT, ResponseT]):
    """One RPC: `await call(request)` sends it with the client's deadline, metadata, retries
    and, on a write, a `request_id`; a failure raises a FinanceError subclass."""

    def __init__(
        self,
        method: "grpc.aio.UnaryUnaryMultiCallable[RequestT, ResponseT]",
        settings: CallSettings,
        *,
        read: bool = False,
    ) -> None:
        self._method = method
        self._settings = settings
        self._read = read

    async def __call__(
        self, request: RequestT, *, timeout: float | None = None, metadata: Metadata = ()
    ) -> ResponseT:
        """Send `request`; `timeout` (seconds, retries included) replaces the default."""
        attempts = self._settings.start(request, read=self._read, timeout=timeout)
        metadata = self._settings.merged(metadata)
        while True:
            try:
                return await self._method(request, timeout=attempts.remaining(), metadata=metadata)
            except grpc.aio.AioRpcError as rpc_error:
                error = from_rpc_error(rpc_error)
                delay = attempts.next_delay(error)
                if delay is None:
                    raise error from rpc_error
            await asyncio.sleep(delay)


class AsyncUserService:
    """finance.v1.UserService: users, the root of every other resource."""

    def __init__(self, channel: grpc.aio.Channel, settings: CallSettings) -> None:
        self.stub = user_service_pb2_grpc.UserServiceStub(channel)
        self.create_user = AsyncCall(self.stub.CreateUser, settings)
        self.get_user = AsyncCall(self.stub.GetUser, settings, read=True)
        self.list_users = AsyncCall(self.stub.ListUsers, settings, read=True)
        self.update_user = AsyncCall(self.stub.UpdateUser, settings)
        self.delete_user = AsyncCall(self.stub.DeleteUser, settings)


class AsyncExchangeRateService:
    """finance.v1.ExchangeRateService: a user's exchange rates by pair and day."""

    def __init__(self, channel: grpc.aio.Channel, settings: CallSettings) -> None:
        self.stub = exchange_rate_service_pb2_grpc.ExchangeRateServiceStub(channel)
        self.create_exchange_rate = AsyncCall(self.stub.CreateExchangeRate, settings)
        self.get_exchange_rate = AsyncCall(self.stub.GetExchangeRate, settings, read=True)
        self.list_exchange_rates = AsyncCall(self.stub.ListExchangeRates, settings, read=True)
        self.update_exchange_rate = AsyncCall(self.stub.UpdateExchangeRate, settings)
        self.delete_exchange_rate = AsyncCall(self.stub.DeleteExchangeRate, settings)
        self.lookup_exchange_rate = AsyncCall(self.stub.LookupExchangeRate, settings, read=True)


class AsyncMemberService:
    """finance.v1.MemberService: who may read or change a user's books, in which role."""

    def __init__(self, channel: grpc.aio.Channel, settings: CallSettings) -> None:
        self.stub = member_service_pb2_grpc.MemberServiceStub(channel)
        self.create_member = AsyncCall(self.stub.CreateMember, settings)
        self.get_member = AsyncCall(self.stub.GetMember, settings, read=True)
        self.list_members = AsyncCall(self.stub.ListMembers, settings, read=True)
        self.update_member = AsyncCall(self.stub.UpdateMember, settings)
        self.delete_member = AsyncCall(self.stub.DeleteMember, settings)


class AsyncBudgetService:
    """finance.v1.BudgetService: a user's budgets and how spending measures up to them."""

    def __init__(self, channel: grpc.aio.Channel, settings: CallSettings) -> None:
        self.stub = budget_service_pb2_grpc.BudgetServiceStub(channel)
        self.create_budget = AsyncCall(self.stub.CreateBudget, settings)
        self.get_budget = AsyncCall(self.stub.GetBudget, settings, read=True)
        self.list_budgets = AsyncCall(self.stub.ListBudgets, settings, read=True)
        self.update_budget = AsyncCall(self.stub.UpdateBudget, settings)
        self.delete_budget = AsyncCall(self.stub.DeleteBudget, settings)
        self.get_budget_status = AsyncCall(self.stub.GetBudgetStatus, settings, read=True)


class AsyncAccountService:
    """finance.v1.AccountService: a user's accounts and their balances."""

    def __init__(self, channel: grpc.aio.Channel, settings: CallSettings) -> None:
        self.stub = account_service_pb2_grpc.AccountServiceStub(channel)
        self.create_account = AsyncCall(self.stub.CreateAccount, settings)
        self.get_account = AsyncCall(self.stub.GetAccount, settings, read=True)
        self.list_accounts = AsyncCall(self.stub.ListAccounts, settings, read=True)
        self.update_account = AsyncCall(self.stub.UpdateAccount, settings)
        self.delete_account = AsyncCall(self.stub.DeleteAccount, settings)
        self.archive_account = AsyncCall(self.stub.ArchiveAccount, settings)
        self.unarchive_account = AsyncCall(self.stub.UnarchiveAccount, settings)
        self.get_account_balance = AsyncCall(self.stub.GetAccountBalance, settings, read=True)
        self.get_balance_history = AsyncCall(self.stub.GetBalanceHistory, settings, read=True)


class AsyncCategoryService:
    """finance.v1.CategoryService: a user's trees of income and expense categories."""

    def __init__(self, channel: grpc.aio.Channel, settings: CallSettings) -> None:
        self.stub = category_service_pb2_grpc.CategoryServiceStub(channel)
        self.create_category = AsyncCall(self.stub.CreateCategory, settings)
        self.get_category = AsyncCall(self.stub.GetCategory, settings, read=True)
        self.list_categories = AsyncCall(self.stub.ListCategories, settings, read=True)
        self.update_category = AsyncCall(self.stub.UpdateCategory, settings)
        self.delete_category = AsyncCall(self.stub.DeleteCategory, settings)


class AsyncPayeeService:
    """finance.v1.PayeeService: the people and businesses a user pays or is paid by."""

    def __init__(self, channel: grpc.aio.Channel, settings: CallSettings) -> None:
        self.stub = payee_service_pb2_grpc.PayeeServiceStub(channel)
        self.create_payee = AsyncCall(self.stub.CreatePayee, settings)
        self.get_payee = AsyncCall(self.stub.GetPayee, settings, read=True)
        self.list_payees = AsyncCall(self.stub.ListPayees, settings, read=True)
        self.update_payee = AsyncCall(self.stub.UpdatePayee, settings)
        self.delete_payee = AsyncCall(self.stub.DeletePayee, settings)


class AsyncRuleService:
    """finance.v1.RuleService: rules that file a user's transactions."""

    def __init__(self, channel: grpc.aio.Channel, settings: CallSettings) -> None:
        self.stub = rule_service_pb2_grpc.RuleServiceStub(channel)
        self.create_rule = AsyncCall(self.stub.CreateRule, settings)
        self.get_rule = AsyncCall(self.stub.GetRule, settings, read=True)
        self.list_rules = AsyncCall(self.stub.ListRules, settings, read=True)
        self.update_rule = AsyncCall(self.stub.UpdateRule, settings)
        self.delete_rule = AsyncCall(self.stub.DeleteRule, settings)
        self.test_rule = AsyncCall(self.stub.TestRule, settings, read=True)
        self.apply_rules = AsyncCall(self.stub.ApplyRules, settings)


class AsyncTransactionService:
    """finance.v1.TransactionService: the double-entry ledger."""

    def __init__(self, channel: grpc.aio.Channel, settings: CallSettings) -> None:
        self.stub = transaction_service_pb2_grpc.TransactionServiceStub(channel)
        self.create_transaction = AsyncCall(self.stub.CreateTransaction, settings)
        self.get_transaction = AsyncCall(self.stub.GetTransaction, settings, read=True)
        self.list_transactions = AsyncCall(self.stub.ListTransactions, settings, read=True)
        self.update_transaction = AsyncCall(self.stub.UpdateTransaction, settings)
        self.post_transaction = AsyncCall(self.stub.PostTransaction, settings)
        self.void_transaction = AsyncCall(self.stub.VoidTransaction, settings)
        self.reverse_transaction = AsyncCall(self.stub.ReverseTransaction, settings)
        self.record_expense = AsyncCall(self.stub.RecordExpense, settings)
        self.record_income = AsyncCall(self.stub.RecordIncome, settings)
        self.transfer_funds = AsyncCall(self.stub.TransferFunds, settings)


class AsyncRecurringTransactionService:
    """finance.v1.RecurringTransactionService: expenses, income and transfers on a schedule."""

    def __init__(self, channel: grpc.aio.Channel, settings: CallSettings) -> None:
        self.stub = recurring_transaction_service_pb2_grpc.RecurringTransactionServiceStub(channel)
        self.create_recurring_transaction = AsyncCall(
            self.stub.CreateRecurringTransaction, settings
        )
        self.get_recurring_transaction = AsyncCall(
            self.stub.GetRecurringTransaction, settings, read=True
        )
        self.list_recurring_transactions = AsyncCall(
            self.stub.ListRecurringTransactions, settings, read=True
        )
        self.update_recurring_transaction = AsyncCall(
            self.stub.UpdateRecurringTransaction, settings
        )
        self.delete_recurring_transaction = AsyncCall(
            self.stub.DeleteRecurringTransaction, settings
        )
        self.pause_recurring_transaction = AsyncCall(self.stub.PauseRecurringTransaction, settings)
        self.resume_recurring_transaction = AsyncCall(
            self.stub.ResumeRecurringTransaction, settings
        )
        self.skip_occurrence = AsyncCall(self.stub.SkipOccurrence, settings)
        self.list_upcoming_occurrences = AsyncCall(
            self.stub.ListUpcomingOccurrences, settings, read=True
        )


class AsyncStatementService:
    """finance.v1.StatementService: reconciling accounts against their bank statements."""

    def __init__(self, channel: grpc.aio.Channel, settings: CallSettings) -> None:
        self.stub = statement_service_pb2_grpc.StatementServiceStub(channel)
        self.reconcile_account = AsyncCall(self.stub.ReconcileAccount, settings)
        self.get_statement = AsyncCall(self.stub.GetStatement, settings, read=True)
        self.list_statements = AsyncCall(self.stub.ListStatements, settings, read=True)
        self.unreconcile_statement = AsyncCall(self.stub.UnreconcileStatement, settings)


class AsyncReportService:
    """finance.v1.ReportService: category, income and expense, net worth, cash flow and top
    payee reports over a period."""

    def __init__(self, channel: grpc.aio.Channel, settings: CallSettings) -> None:
        self.stub = report_service_pb2_grpc.ReportServiceStub(channel)
        self.get_category_report = AsyncCall(self.stub.GetCategoryReport, settings, read=True)
        self.get_income_expense_report = AsyncCall(
            self.stub.GetIncomeExpenseReport, settings, read=True
        )
        self.get_net_worth_report = AsyncCall(self.stub.GetNetWorthReport, settings, read=True)
        self.get_cash_flow_report = AsyncCall(self.stub.GetCashFlowReport, settings, read=True)
        self.get_top_payees_report = AsyncCall(self.stub.GetTopPayeesReport, settings, read=True)


class AsyncAuditService:
    """finance.v1.AuditService: the trail of every change."""

    def __init__(self, channel: grpc.aio.Channel, settings: CallSettings) -> None:
        self.stub = audit_service_pb2_grpc.AuditServiceStub(channel)
        self.list_audit_events = AsyncCall(self.stub.ListAuditEvents, settings, read=True)


class AsyncFinanceClient:
    """A client for every finance.v1 service over one grpc.aio channel.

    Use it as `async with AsyncFinanceClient("127.0.0.1:50051") as client:` inside a running
    event loop. Each call gets `timeout` seconds (retries included) unless it passes its own,
    `actor` is sent as `x-actor` (the actor in the audit trail), and `retries=None` turns
    retries off. `interceptors` see every attempt.

    Credentials: `tls` makes the channel a TLS one (`Tls(ca=..., cert=..., key=...)`; a cert
    and key make it mutual TLS), or `credentials` with grpc's own channel credentials;
    `token` (fixed) or `token_provider` (a function or coroutine function, asked before every
    attempt so that tokens can be renewed) is sent as `authorization: Bearer <token>`.
    """

    def __init__(
        self,
        target: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retries: RetryPolicy | None = DEFAULT_RETRIES,
        actor: str | None = None,
        channel_options: Sequence[tuple[str, Any]] = DEFAULT_CHANNEL_OPTIONS,
        credentials: grpc.ChannelCredentials | None = None,
        interceptors: Sequence[grpc.aio.ClientInterceptor] = (),
        tls: Tls | None = None,
        token: str | None = None,
        token_provider: AsyncTokenProvider | None = None,
    ) -> None:
        credentials, options = channel_settings(
            tls=tls, credentials=credentials, options=channel_options
        )
        provider = token_source(token, token_provider)
        bearer = [AsyncBearerInterceptor(provider)] if provider is not None else []
        chained: list[grpc.aio.ClientInterceptor] = [*bearer, *interceptors]
        self.channel = (
            grpc.aio.secure_channel(target, credentials, options, interceptors=chained)
            if credentials is not None
            else grpc.aio.insecure_channel(target, options, interceptors=chained)
        )
        settings = CallSettings(
            timeout=timeout,
            retries=retries or NO_RETRIES,
            metadata=((ACTOR_METADATA, actor),) if actor else (),
        )
        self.users = AsyncUserService(self.channel, settings)
        self.members = AsyncMemberService(self.channel, settings)
        self.exchange_rates = AsyncExchangeRateService(self.channel, settings)
        self.accounts = AsyncAccountService(self.channel, settings)
        self.categories = AsyncCategoryService(self.channel, settings)
        self.payees = AsyncPayeeService(self.channel, settings)
        self.transactions = AsyncTransactionService(self.channel, settings)
        self.recurring_transactions = AsyncRecurringTransactionService(self.channel, settings)
        self.rules = AsyncRuleService(self.channel, settings)
        self.statements = AsyncStatementService(self.channel, settings)
        self.budgets = AsyncBudgetService(self.channel, settings)
        self.reports = AsyncReportService(self.channel, settings)
        self.audit = AsyncAuditService(self.channel, settings)

    async def close(self, grace: float | None = None) -> None:
        """Close the channel; calls still running get `grace` seconds (None: cancelled)."""
        await self.channel.close(grace)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()


async def paginate(
    call: AsyncCall[PageRequestT, PageT],
    request: PageRequestT,
    *,
    timeout: float | None = None,
    metadata: Metadata = (),
) -> AsyncIterator[PageT]:
    """Every page of a List call, following `next_page_token` until it is empty:
    `async for page in paginate(client.accounts.list_accounts, request)`. Each page is one
    call with its own deadline; `request` itself is left as it is."""
    page_request = copy.deepcopy(request)
    while True:
        page = await call(page_request, timeout=timeout, metadata=metadata)
        yield page
        if not page.next_page_token:
            return
        page_request.page_token = page.next_page_token
