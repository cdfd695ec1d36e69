"""The synchronous client (grpc): one wrapper per finance.v1 service over one channel."""

import copy
import time
from collections.abc import Iterator, Sequence
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
    BearerInterceptor,
    Tls,
    TokenProvider,
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

ClientInterceptor = (
    grpc.UnaryUnaryClientInterceptor
    | grpc.UnaryStreamClientInterceptor
    | grpc.StreamUnaryClientInterceptor
    | grpc.StreamStreamClientInterceptor
)


class Call(Generic[RequestT, ResponseT]):
    """One RPC: `call(request)` sends it with the client's deadline, metadata, retries and, on
    a write, a `request_id`; a failure raises a FinanceError subclass."""

    def __init__(
        self,
        method: "grpc.UnaryUnaryMultiCallable[RequestT, ResponseT]",
        settings: CallSettings,
        *,
        read: bool = False,
    ) -> None:
        self._method = method
        self._settings = settings
        self._read = read

    def __call__(
        self, request: RequestT, *, timeout: float | None = None, metadata: Metadata = ()
    ) -> ResponseT:
        """Send `request`; `timeout` (seconds, retries included) replaces the default."""
        attempts = self._settings.start(request, read=self._read, timeout=timeout)
        metadata = self._settings.merged(metadata)
        while True:
            try:
                return self._method(request, timeout=attempts.remaining(), metadata=metadata)
            except grpc.RpcError as rpc_error:
                error = from_rpc_error(rpc_error)
                delay = attempts.next_delay(error)
                if delay is None:
                    raise error from rpc_error
            time.sleep(delay)


class UserService:
    """finance.v1.UserService: users, the root of every other resource."""

    def __init__(self, channel: grpc.Channel, settings: CallSettings) -> None:
        self.stub = user_service_pb2_grpc.UserServiceStub(channel)
        self.create_user = Call(self.stub.CreateUser, settings)
        self.get_user = Call(self.stub.GetUser, settings, read=True)
        self.list_users = Call(self.stub.ListUsers, settings, read=True)
        self.update_user = Call(self.stub.UpdateUser, settings)
        self.delete_user = Call(self.stub.DeleteUser, settings)


class ExchangeRateService:
    """finance.v1.ExchangeRateService: a user's exchange rates by pair and day."""

    def __init__(self, channel: grpc.Channel, settings: CallSettings) -> None:
        self.stub = exchange_rate_service_pb2_grpc.ExchangeRateServiceStub(channel)
        self.create_exchange_rate = Call(self.stub.CreateExchangeRate, settings)
        self.get_exchange_rate = Call(self.stub.GetExchangeRate, settings, read=True)
        self.list_exchange_rates = Call(self.stub.ListExchangeRates, settings, read=True)
        self.update_exchange_rate = Call(self.stub.UpdateExchangeRate, settings)
        self.delete_exchange_rate = Call(self.stub.DeleteExchangeRate, settings)
        self.lookup_exchange_rate = Call(self.stub.LookupExchangeRate, settings, read=True)


class MemberService:
    """finance.v1.MemberService: who may read or change a user's books, in which role."""

    def __init__(self, channel: grpc.Channel, settings: CallSettings) -> None:
        self.stub = member_service_pb2_grpc.MemberServiceStub(channel)
        self.create_member = Call(self.stub.CreateMember, settings)
        self.get_member = Call(self.stub.GetMember, settings, read=True)
        self.list_members = Call(self.stub.ListMembers, settings, read=True)
        self.update_member = Call(self.stub.UpdateMember, settings)
        self.delete_member = Call(self.stub.DeleteMember, settings)


class BudgetService:
    """finance.v1.BudgetService: a user's budgets and how spending measures up to them."""

    def __init__(self, channel: grpc.Channel, settings: CallSettings) -> None:
        self.stub = budget_service_pb2_grpc.BudgetServiceStub(channel)
        self.create_budget = Call(self.stub.CreateBudget, settings)
        self.get_budget = Call(self.stub.GetBudget, settings, read=True)
        self.list_budgets = Call(self.stub.ListBudgets, settings, read=True)
        self.update_budget = Call(self.stub.UpdateBudget, settings)
        self.delete_budget = Call(self.stub.DeleteBudget, settings)
        self.get_budget_status = Call(self.stub.GetBudgetStatus, settings, read=True)


class AccountService:
    """finance.v1.AccountService: a user's accounts and their balances."""

    def __init__(self, channel: grpc.Channel, settings: CallSettings) -> None:
        self.stub = account_service_pb2_grpc.AccountServiceStub(channel)
        self.create_account = Call(self.stub.CreateAccount, settings)
        self.get_account = Call(self.stub.GetAccount, settings, read=True)
        self.list_accounts = Call(self.stub.ListAccounts, settings, read=True)
        self.update_account = Call(self.stub.UpdateAccount, settings)
        self.delete_account = Call(self.stub.DeleteAccount, settings)
        self.archive_account = Call(self.stub.ArchiveAccount, settings)
        self.unarchive_account = Call(self.stub.UnarchiveAccount, settings)
        self.get_account_balance = Call(self.stub.GetAccountBalance, settings, read=True)
        self.get_balance_history = Call(self.stub.GetBalanceHistory, settings, read=True)


class CategoryService:
    """finance.v1.CategoryService: a user's trees of income and expense categories."""

    def __init__(self, channel: grpc.Channel, settings: CallSettings) -> None:
        self.stub = category_service_pb2_grpc.CategoryServiceStub(channel)
        self.create_category = Call(self.stub.CreateCategory, settings)
        self.get_category = Call(self.stub.GetCategory, settings, read=True)
        self.list_categories = Call(self.stub.ListCategories, settings, read=True)
        self.update_category = Call(self.stub.UpdateCategory, settings)
        self.delete_category = Call(self.stub.DeleteCategory, settings)


class PayeeService:
    """finance.v1.PayeeService: the people and businesses a user pays or is paid by."""

    def __init__(self, channel: grpc.Channel, settings: CallSettings) -> None:
        self.stub = payee_service_pb2_grpc.PayeeServiceStub(channel)
        self.create_payee = Call(self.stub.CreatePayee, settings)
        self.get_payee = Call(self.stub.GetPayee, settings, read=True)
        self.list_payees = Call(self.stub.ListPayees, settings, read=True)
        self.update_payee = Call(self.stub.UpdatePayee, settings)
        self.delete_payee = Call(self.stub.DeletePayee, settings)


class RuleService:
    """finance.v1.RuleService: rules that file a user's transactions."""

    def __init__(self, channel: grpc.Channel, settings: CallSettings) -> None:
        self.stub = rule_service_pb2_grpc.RuleServiceStub(channel)
        self.create_rule = Call(self.stub.CreateRule, settings)
        self.get_rule = Call(self.stub.GetRule, settings, read=True)
        self.list_rules = Call(self.stub.ListRules, settings, read=True)
        self.update_rule = Call(self.stub.UpdateRule, settings)
        self.delete_rule = Call(self.stub.DeleteRule, settings)
        self.test_rule = Call(self.stub.TestRule, settings, read=True)
        self.apply_rules = Call(self.stub.ApplyRules, settings)


class TransactionService:
    """finance.v1.TransactionService: the double-entry ledger."""

    def __init__(self, channel: grpc.Channel, settings: CallSettings) -> None:
        self.stub = transaction_service_pb2_grpc.TransactionServiceStub(channel)
        self.create_transaction = Call(self.stub.CreateTransaction, settings)
        self.get_transaction = Call(self.stub.GetTransaction, settings, read=True)
        self.list_transactions = Call(self.stub.ListTransactions, settings, read=True)
        self.update_transaction = Call(self.stub.UpdateTransaction, settings)
        self.post_transaction = Call(self.stub.PostTransaction, settings)
        self.void_transaction = Call(self.stub.VoidTransaction, settings)
        self.reverse_transaction = Call(self.stub.ReverseTransaction, settings)
        self.record_expense = Call(self.stub.RecordExpense, settings)
        self.record_income = Call(self.stub.RecordIncome, settings)
        self.transfer_funds = Call(self.stub.TransferFunds, settings)


class RecurringTransactionService:
    """finance.v1.RecurringTransactionService: expenses, income and transfers on a schedule."""

    def __init__(self, channel: grpc.Channel, settings: CallSettings) -> None:
        self.stub = recurring_transaction_service_pb2_grpc.RecurringTransactionServiceStub(channel)
        self.create_recurring_transaction = Call(self.stub.CreateRecurringTransaction, settings)
        self.get_recurring_transaction = Call(
            self.stub.GetRecurringTransaction, settings, read=True
        )
        self.list_recurring_transactions = Call(
            self.stub.ListRecurringTransactions, settings, read=True
        )
        self.update_recurring_transaction = Call(self.stub.UpdateRecurringTransaction, settings)
        self.delete_recurring_transaction = Call(self.stub.DeleteRecurringTransaction, settings)
        self.pause_recurring_transaction = Call(self.stub.PauseRecurringTransaction, settings)
        self.resume_recurring_transaction = Call(self.stub.ResumeRecurringTransaction, settings)
        self.skip_occurrence = Call(self.stub.SkipOccurrence, settings)
        self.list_upcoming_occurrences = Call(
            self.stub.ListUpcomingOccurrences, settings, read=True
        )


class StatementService:
    """finance.v1.StatementService: reconciling accounts against their bank statements."""

    def __init__(self, channel: grpc.Channel, settings: CallSettings) -> None:
        self.stub = statement_service_pb2_grpc.StatementServiceStub(channel)
        self.reconcile_account = Call(self.stub.ReconcileAccount, settings)
        self.get_statement = Call(self.stub.GetStatement, settings, read=True)
        self.list_statements = Call(self.stub.ListStatements, settings, read=True)
        self.unreconcile_statement = Call(self.stub.UnreconcileStatement, settings)


class ReportService:
    """finance.v1.ReportService: category, income and expense, net worth, cash flow and top
    payee reports over a period."""

    def __init__(self, channel: grpc.Channel, settings: CallSettings) -> None:
        self.stub = report_service_pb2_grpc.ReportServiceStub(channel)
        self.get_category_report = Call(self.stub.GetCategoryReport, settings, read=True)
        self.get_income_expense_report = Call(self.stub.GetIncomeExpenseReport, settings, read=True)
        self.get_net_worth_report = Call(self.stub.GetNetWorthReport, settings, read=True)
        self.get_cash_flow_report = Call(self.stub.GetCashFlowReport, settings, read=True)
        self.get_top_payees_report = Call(self.stub.GetTopPayeesReport, settings, read=True)


class AuditService:
    """finance.v1.AuditService: the trail of every change."""

    def __init__(self, channel: grpc.Channel, settings: CallSettings) -> None:
        self.stub = audit_service_pb2_grpc.AuditServiceStub(channel)
        self.list_audit_events = Call(self.stub.ListAuditEvents, settings, read=True)


class FinanceClient:
    """A client for every finance.v1 service over one synchronous grpc channel.

    Use it as `with FinanceClient("127.0.0.1:50051") as client:`. Each call gets `timeout`
    seconds (retries included) unless it passes its own, `actor` is sent as `x-actor` (the
    actor in the audit trail), and `retries=None` turns retries off. `interceptors` see every
    attempt.

    Credentials: `tls` makes the channel a TLS one (`Tls(ca=..., cert=..., key=...)`; a cert
    and key make it mutual TLS), or `credentials` with grpc's own channel credentials;
    `token` (fixed) or `token_provider` (a function, asked before every attempt so that
    tokens can be renewed) is sent as `authorization: Bearer <token>`.
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
        interceptors: Sequence[ClientInterceptor] = (),
        tls: Tls | None = None,
        token: str | None = None,
        token_provider: TokenProvider | None = None,
    ) -> None:
        credentials, options = channel_settings(
            tls=tls, credentials=credentials, options=channel_options
        )
        provider = token_source(token, token_provider)
        bearer = [BearerInterceptor(provider)] if provider is not None else []
        self._raw_channel = (
            grpc.secure_channel(target, credentials, options)
            if credentials is not None
            else grpc.insecure_channel(target, options)
        )
        self.channel = grpc.intercept_channel(self._raw_channel, *bearer, *interceptors)
        settings = CallSettings(
            timeout=timeout,
            retries=retries or NO_RETRIES,
            metadata=((ACTOR_METADATA, actor),) if actor else (),
        )
        self.users = UserService(self.channel, settings)
        self.members = MemberService(self.channel, settings)
        self.exchange_rates = ExchangeRateService(self.channel, settings)
        self.accounts = AccountService(self.channel, settings)
        self.categories = CategoryService(self.channel, settings)
        self.payees = PayeeService(self.channel, settings)
        self.transactions = TransactionService(self.channel, settings)
        self.recurring_transactions = RecurringTransactionService(self.channel, settings)
        self.rules = RuleService(self.channel, settings)
        self.statements = StatementService(self.channel, settings)
        self.budgets = BudgetService(self.channel, settings)
        self.reports = ReportService(self.channel, settings)
        self.audit = AuditService(self.channel, settings)

    def close(self) -> None:
        """Close the channel, cancelling calls still running."""
        self._raw_channel.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def paginate(
    call: Call[PageRequestT, PageT],
    request: PageRequestT,
    *,
    timeout: float | None = None,
    metadata: Metadata = (),
) -> Iterator[PageT]:
    """Every page of a List call, following `next_page_token` until it is empty:
    `for page in paginate(client.accounts.list_accounts, request)`. Each page is one call
    with its own deadline; `request` itself is left as it is."""
    page_request = copy.deepcopy(request)
    while True:
        page = call(page_request, timeout=timeout, metadata=metadata)
        yield page
        if not page.next_page_token:
            return
        page_request.page_token = page.next_page_token
