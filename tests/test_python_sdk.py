"""The Python SDK (clients/python) against the live test server: calls, request ids, decoded
errors, deadlines and retries, async and sync."""

import asyncio
import socket
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
import pytest
from finance.v1 import account_service_pb2 as apb
from finance.v1 import audit_service_pb2 as aupb
from finance.v1 import budget_service_pb2 as bpb
from finance.v1 import category_service_pb2 as cpb
from finance.v1 import exchange_rate_service_pb2 as xpb
from finance.v1 import recurring_transaction_service_pb2 as recpb
from finance.v1 import report_service_pb2 as reppb
from finance.v1 import statement_service_pb2 as spb
from finance.v1 import transaction_service_pb2 as tpb
from finance.v1 import user_service_pb2 as upb
from finance.v1 import user_service_pb2_grpc
from finance_tracker_client import (
    AbortedError,
    AlreadyExistsError,
    AsyncFinanceClient,
    EtagMismatchError,
    FailedPreconditionError,
    FinanceClient,
    InvalidArgumentError,
    NotFoundError,
    PreconditionViolation,
    ResourceExhaustedError,
    RetryPolicy,
    UnavailableError,
    apaginate,
    paginate,
)
from google.protobuf import any_pb2, field_mask_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from google.type import date_pb2, decimal_pb2
from grpc_status import rpc_status

from service.server import build_app
from tests.builders import account_request, day, money, monthly_expense
from tests.conftest import make_settings

ACTOR = "python-sdk-test"
FAST_RETRIES = RetryPolicy(max_attempts=20, initial_backoff=0.05, max_backoff=0.3)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Recorder(grpc.aio.UnaryUnaryClientInterceptor):
    """Notes the method and deadline of every attempt a client makes."""

    def __init__(self) -> None:
        self.attempts: list[tuple[str, float | None]] = []

    async def intercept_unary_unary(self, continuation, client_call_details, request):
        method = client_call_details.method
        name = method.decode() if isinstance(method, bytes) else method
        self.attempts.append((name.rsplit("/", 1)[-1], client_call_details.timeout))
        return await continuation(client_call_details, request)

    def count(self, method: str) -> int:
        return sum(1 for name, _ in self.attempts if name == method)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def client(app, recorder) -> AsyncIterator[AsyncFinanceClient]:
    async with AsyncFinanceClient(
        f"127.0.0.1:{app.port}", actor=ACTOR, interceptors=[recorder]
    ) as client:
        yield client


@pytest.fixture
async def owner(client):
    return await client.users.create_user(upb.CreateUserRequest(user=upb.User(display_name="SDK")))


class TestCalls:
    async def test_creates_a_user_an_account_and_an_expense(self, client):
        user_id = f"sdk-{uuid.uuid4().hex[:12]}"
        user = await client.users.create_user(
            upb.CreateUserRequest(user=upb.User(display_name="Ada"), user_id=user_id)
        )
        assert user.name == f"users/{user_id}"
        account = await client.accounts.create_account(
            account_request(user.name, opening_balance=money(100))
        )
        expense = await client.transactions.record_expense(
            tpb.RecordExpenseRequest(
                parent=user.name,
                account=account.name,
                amount=money(30),
                booking_date=date_pb2.Date(year=2024, month=1, day=31),
                description="Lunch",
            )
        )
        assert expense.description == "Lunch"
        balance = await client.accounts.get_account(apb.GetAccountRequest(name=account.name))
        assert balance.balance == money(70)
        report = await client.reports.get_category_report(
            reppb.GetCategoryReportRequest(
                parent=user.name,
                start_date=date_pb2.Date(year=2024, month=1, day=1),
                end_date=date_pb2.Date(year=2024, month=1, day=31),
                kind=cpb.Category.KIND_EXPENSE,
            )
        )
        assert list(report.totals) == [money(30)]

    async def test_schedules_a_recurring_expense_and_lists_its_occurrences(self, client, owner):
        account = await client.accounts.create_account(account_request(owner.name))
        recurring = await client.recurring_transactions.create_recurring_transaction(
            recpb.CreateRecurringTransactionRequest(
                parent=owner.name, recurring_transaction=monthly_expense(account.name)
            )
        )
        upcoming = await client.recurring_transactions.list_upcoming_occurrences(
            recpb.ListUpcomingOccurrencesRequest(
                name=recurring.name, start_date=day(1), end_date=day(31, 12)
            )
        )
        assert [o.booking_date for o in upcoming.occurrences] == [
            day(31),
            day(29, 2),
            day(31, 3),
        ]

    async def test_records_an_exchange_rate_and_looks_up_its_inverse(self, client, owner):
        await client.exchange_rates.create_exchange_rate(
            xpb.CreateExchangeRateRequest(
                parent=owner.name,
                exchange_rate=xpb.ExchangeRate(
                    base_currency_code="USD",
                    quote_currency_code="EUR",
                    rate_date=date_pb2.Date(year=2024, month=3, day=1),
                    rate=decimal_pb2.Decimal(value="0.8"),
                ),
            )
        )
        found = await client.exchange_rates.lookup_exchange_rate(
            xpb.LookupExchangeRateRequest(
                parent=owner.name,
                base_currency_code="EUR",
                quote_currency_code="USD",
                as_of_date=date_pb2.Date(year=2024, month=3, day=31),
            )
        )
        assert (found.rate.value, found.inverted) == ("1.25", True)

    async def test_reconciles_an_account_and_reads_its_statement(self, client, owner):
        account = await client.accounts.create_account(account_request(owner.name))
        response = await client.statements.reconcile_account(
            spb.ReconcileAccountRequest(
                account=account.name,
                statement_date=date_pb2.Date(year=2024, month=1, day=31),
                closing_balance=money(0),
            )
        )
        assert response.reconciled
        listed = await client.statements.list_statements(
            spb.ListStatementsRequest(parent=account.name)
        )
        assert list(listed.statements) == [response.statement]

    async def test_sends_the_actor_to_the_audit_trail(self, client, owner):
        account = await client.accounts.create_account(
            account_request(owner.name, opening_balance=money(5))
        )
        request = tpb.RecordExpenseRequest(
            parent=owner.name,
            account=account.name,
            amount=money(2),
            booking_date=date_pb2.Date(year=2024, month=3, day=1),
        )
        expense = await client.transactions.record_expense(request)
        listed = await client.audit.list_audit_events(
            aupb.ListAuditEventsRequest(parent=owner.name)
        )
        [event] = [e for e in listed.audit_events if e.resource == expense.name]
        assert (event.actor_note, event.request_id) == (ACTOR, request.request_id)

    async def test_plans_a_budget_and_reads_its_status(self, client, owner):
        category = await client.categories.create_category(
            cpb.CreateCategoryRequest(
                parent=owner.name,
                category=cpb.Category(display_name="Food", kind=cpb.Category.KIND_EXPENSE),
            )
        )
        budget = await client.budgets.create_budget(
            bpb.CreateBudgetRequest(
                parent=owner.name,
                budget=bpb.Budget(
                    display_name="Monthly",
                    style=bpb.Budget.STYLE_PERIOD_LIMITS,
                    currency_code="EUR",
                    period=bpb.Budget.PERIOD_MONTH,
                    start_date=date_pb2.Date(year=2024, month=1, day=1),
                    lines=[bpb.Budget.Line(category=category.name, amount=money(200))],
                ),
            )
        )
        status = await client.budgets.get_budget_status(
            bpb.GetBudgetStatusRequest(
                name=budget.name, as_of_date=date_pb2.Date(year=2024, month=1, day=31)
            )
        )
        assert [(line.category, line.available) for line in status.lines] == [
            (category.name, money(200))
        ]

    async def test_paginates_a_list(self, client, owner):
        for name in ("A", "B", "C"):
            await client.accounts.create_account(account_request(owner.name, display_name=name))
        request = apb.ListAccountsRequest(parent=owner.name, page_size=2, order_by="display_name")
        pages = [page async for page in apaginate(client.accounts.list_accounts, request)]
        assert [[a.display_name for a in p.accounts] for p in pages] == [["A", "B"], ["C"]]
        assert request.page_token == ""


class TestRequestIds:
    async def test_a_resent_create_makes_one_account(self, client, owner):
        request = account_request(owner.name)
        first = await client.accounts.create_account(request)
        assert uuid.UUID(request.request_id).version == 4
        second = await client.accounts.create_account(request)
        assert second.name == first.name
        listed = await client.accounts.list_accounts(apb.ListAccountsRequest(parent=owner.name))
        assert [a.name for a in listed.accounts] == [first.name]

    async def test_keeps_the_callers_request_id(self, client, owner):
        request = account_request(owner.name)
        request.request_id = str(uuid.uuid4())
        chosen = request.request_id
        await client.accounts.create_account(request)
        assert request.request_id == chosen

    async def test_each_new_request_gets_its_own_id(self, client, owner):
        first = await client.accounts.create_account(account_request(owner.name, display_name="A"))
        second = await client.accounts.create_account(account_request(owner.name, display_name="B"))
        assert first.name != second.name


class TestErrors:
    async def test_decodes_field_violations(self, client, owner):
        request = apb.CreateAccountRequest(
            parent=owner.name, account=apb.Account(currency_code="EUX")
        )
        with pytest.raises(InvalidArgumentError) as caught:
            await client.accounts.create_account(request)
        violations = caught.value.field_violations
        assert violations["account.display_name"] == "is required"
        assert "ISO 4217" in violations["account.currency_code"]
        assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT
        assert caught.value.reason == "INVALID_ARGUMENT"

    async def test_decodes_not_found(self, client):
        name = f"users/missing-{uuid.uuid4().hex[:8]}"
        with pytest.raises(NotFoundError) as caught:
            await client.users.get_user(upb.GetUserRequest(name=name))
        error = caught.value
        assert (error.resource_name, error.resource_type) == (name, "finance-tracker/User")
        assert error.reason == "RESOURCE_NOT_FOUND"
        assert isinstance(error.__cause__, grpc.aio.AioRpcError)

    async def test_decodes_already_exists(self, client):
        user_id = f"sdk-{uuid.uuid4().hex[:12]}"
        await client.users.create_user(
            upb.CreateUserRequest(user=upb.User(display_name="First"), user_id=user_id)
        )
        with pytest.raises(AlreadyExistsError) as caught:
            await client.users.create_user(
                upb.CreateUserRequest(user=upb.User(display_name="Second"), user_id=user_id)
            )
        assert caught.value.resource_name == f"users/{user_id}"

    async def test_decodes_precondition_failures(self, client, owner):
        account = await client.accounts.create_account(
            account_request(owner.name, opening_balance=money(10))
        )
        with pytest.raises(FailedPreconditionError) as caught:
            await client.accounts.delete_account(apb.DeleteAccountRequest(name=account.name))
        assert caught.value.violations == [
            PreconditionViolation(
                "ACCOUNT_BALANCE_NOT_ZERO",
                account.name,
                "the account's balance is not zero; archive it instead",
            )
        ]

    async def test_stale_etag_raises_etag_mismatch_and_is_not_retried(
        self, client, recorder, owner
    ):
        account = await client.accounts.create_account(
            account_request(owner.name, opening_balance=money(10))
        )
        other = await client.accounts.create_account(
            account_request(owner.name, display_name="Savings")
        )
        transfer = await client.transactions.transfer_funds(
            tpb.TransferFundsRequest(
                parent=owner.name,
                from_account=account.name,
                to_account=other.name,
                amount=money(1),
                booking_date=date_pb2.Date(year=2024, month=2, day=1),
            )
        )
        mask = field_mask_pb2.FieldMask(paths=["description"])
        stale = tpb.Transaction(name=transfer.name, description="First", etag=transfer.etag)
        await client.transactions.update_transaction(
            tpb.UpdateTransactionRequest(transaction=stale, update_mask=mask)
        )
        stale.description = "Second"
        request = tpb.UpdateTransactionRequest(transaction=stale, update_mask=mask)
        with pytest.raises(EtagMismatchError) as caught:
            await client.transactions.update_transaction(request)
        assert request.request_id, "a request_id makes the call safe to retry: still not retried"
        assert caught.value.resource_name == transfer.name
        assert recorder.count("UpdateTransaction") == 2  # one per call: no retry


class TestDeadlines:
    async def test_every_call_gets_the_default_deadline(self, app):
        recorder = Recorder()
        target = f"127.0.0.1:{app.port}"
        async with AsyncFinanceClient(target, timeout=3.5, interceptors=[recorder]) as client:
            await client.users.list_users(upb.ListUsersRequest(page_size=1))
            await client.users.list_users(upb.ListUsersRequest(page_size=1), timeout=1.0)
        [(_, default), (_, own)] = recorder.attempts
        assert default is not None
        assert 3.0 < default <= 3.5
        assert own is not None
        assert 0.5 < own <= 1.0

    async def test_retries_stop_at_the_deadline(self):
        recorder = Recorder()
        target = f"127.0.0.1:{free_port()}"  # nothing listens there
        async with AsyncFinanceClient(
            target, timeout=0.6, retries=FAST_RETRIES, interceptors=[recorder]
        ) as client:
            start = time.monotonic()
            with pytest.raises(UnavailableError):
                await client.users.get_user(upb.GetUserRequest(name="users/nobody"))
            assert time.monotonic() - start < 1.5
        assert len(recorder.attempts) > 1
        assert all(t is not None and t <= 0.6 for _, t in recorder.attempts)


class TestRetries:
    async def test_retries_unavailable_until_a_server_starts(self, database, database_url):
        port = free_port()
        recorder = Recorder()
        async with AsyncFinanceClient(
            f"127.0.0.1:{port}", retries=FAST_RETRIES, interceptors=[recorder]
        ) as client:
            request = upb.CreateUserRequest(user=upb.User(display_name="Late"))
            call = asyncio.create_task(client.users.create_user(request))
            await asyncio.sleep(0.5)
            late = build_app(make_settings(database_url, port=port), database)
            await late.start()
            try:
                user = await asyncio.wait_for(call, timeout=10)
                fetched = await client.users.get_user(upb.GetUserRequest(name=user.name))
            finally:
                await late.stop(grace=1)
        assert fetched.display_name == "Late"
        assert recorder.count("CreateUser") > 1

    async def test_does_not_retry_a_write_without_request_id(self):
        recorder = Recorder()
        target = f"127.0.0.1:{free_port()}"
        async with AsyncFinanceClient(
            target, retries=FAST_RETRIES, interceptors=[recorder]
        ) as client:
            with pytest.raises(UnavailableError):
                await client.users.delete_user(upb.DeleteUserRequest(name="users/nobody"))
        assert len(recorder.attempts) == 1


def status(
    code: int, reason: str, retry_delay_ms: int | None = None, domain: str = "finance-tracker"
) -> status_pb2.Status:
    """A google.rpc.Status with an ErrorInfo (and a RetryInfo when a delay is given)."""
    details: list[Message] = [error_details_pb2.ErrorInfo(reason=reason, domain=domain)]
    if retry_delay_ms is not None:
        retry = error_details_pb2.RetryInfo()
        retry.retry_delay.FromMilliseconds(retry_delay_ms)
        details.append(retry)
    packed = []
    for detail in details:
        packed.append(any_pb2.Any())
        packed[-1].Pack(detail)
    return status_pb2.Status(code=code, message=reason.lower(), details=packed)


class FlakyUsers(user_service_pb2_grpc.UserServiceServicer):
    """A UserService that fails with the given statuses first, then answers (the methods the
    tests do not call are the base class's UNIMPLEMENTED)."""

    def __init__(self, failures: list[status_pb2.Status]) -> None:
        self.failures = failures
        self.calls = 0

    async def _answer(self, context, user: upb.User) -> upb.User:
        self.calls += 1
        if self.failures:
            await context.abort_with_status(rpc_status.to_status(self.failures.pop(0)))
        return user

    async def GetUser(self, request, context):
        return await self._answer(context, upb.User(name=request.name))

    async def CreateUser(self, request, context):
        return await self._answer(context, upb.User(name="users/x", display_name=request.user_id))

    async def UpdateUser(self, request, context):
        return await self._answer(context, request.user)


@dataclass(frozen=True)
class FlakyServer:
    """A UserService that fails as told, and the address it listens on."""

    users: FlakyUsers
    target: str


@pytest.fixture
async def flaky() -> AsyncIterator[FlakyServer]:
    users = FlakyUsers([])  # type: ignore[abstract]
    server = grpc.aio.server()
    user_service_pb2_grpc.add_UserServiceServicer_to_server(users, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield FlakyServer(users, f"127.0.0.1:{port}")
    await server.stop(0)


CONFLICT = status(code_pb2.ABORTED, "CONCURRENT_UPDATE")
STALE = status(code_pb2.ABORTED, "ETAG_MISMATCH")
DOWN = status(code_pb2.UNAVAILABLE, "DATABASE_UNAVAILABLE")
BUSY = status(code_pb2.RESOURCE_EXHAUSTED, "CONCURRENCY_LIMIT_EXCEEDED", retry_delay_ms=10)
RATE_LIMITED = status(code_pb2.RESOURCE_EXHAUSTED, "RATE_LIMIT_EXCEEDED", retry_delay_ms=10)
# What gRPC answers a message too large: no RetryInfo, and the same request would fail again.
TOO_LARGE = status_pb2.Status(code=code_pb2.RESOURCE_EXHAUSTED, message="message too large")


async def get(client: AsyncFinanceClient) -> object:
    return await client.users.get_user(upb.GetUserRequest(name="users/a"))


async def create(client: AsyncFinanceClient) -> object:
    return await client.users.create_user(upb.CreateUserRequest(user_id="a"))


async def update(client: AsyncFinanceClient) -> object:
    return await client.users.update_user(upb.UpdateUserRequest(user=upb.User(name="users/a")))


class TestRetryPolicy:
    @pytest.mark.parametrize(
        ("send", "failures", "calls"),
        [
            pytest.param(get, [CONFLICT, DOWN], 3, id="read: conflict and unavailable"),
            pytest.param(create, [CONFLICT, DOWN], 3, id="write with request_id"),
            pytest.param(create, [STALE], 1, id="never a stale etag"),
            pytest.param(update, [CONFLICT], 1, id="no conflict without request_id"),
            pytest.param(update, [DOWN], 1, id="no unavailable without request_id"),
            pytest.param(get, [BUSY, RATE_LIMITED], 3, id="limits that say when to retry"),
            pytest.param(create, [RATE_LIMITED], 2, id="a limit, on a write with request_id"),
            pytest.param(update, [RATE_LIMITED], 1, id="no limit without request_id"),
            pytest.param(get, [TOO_LARGE], 1, id="never a message too large"),
        ],
    )
    async def test_retries_only_what_is_safe(self, flaky, send, failures, calls):
        flaky.users.failures = list(failures)
        async with AsyncFinanceClient(flaky.target, retries=FAST_RETRIES) as client:
            if calls > len(failures):
                await send(client)
            else:
                with pytest.raises((AbortedError, UnavailableError, ResourceExhaustedError)):
                    await send(client)
        assert flaky.users.calls == calls

    async def test_waits_as_long_as_the_server_asks(self, flaky):
        flaky.users.failures = [
            status(code_pb2.UNAVAILABLE, "DATABASE_UNAVAILABLE", retry_delay_ms=400)
        ]
        async with AsyncFinanceClient(flaky.target, retries=FAST_RETRIES) as client:
            start = time.monotonic()
            await client.users.get_user(upb.GetUserRequest(name="users/a"))
        assert time.monotonic() - start >= 0.4
        assert flaky.users.calls == 2

    async def test_a_stale_etag_of_another_domain_is_a_plain_aborted(self, flaky):
        flaky.users.failures = [status(code_pb2.ABORTED, "ETAG_MISMATCH", domain="elsewhere")]
        async with AsyncFinanceClient(flaky.target, retries=None) as client:
            with pytest.raises(AbortedError) as caught:
                await client.users.get_user(upb.GetUserRequest(name="users/a"))
        assert not isinstance(caught.value, EtagMismatchError)


class TestSyncClient:
    async def test_works_like_the_async_one(self, app):
        def scenario() -> tuple[str, str, dict[str, str], list[str]]:
            with FinanceClient(f"127.0.0.1:{app.port}", actor=ACTOR) as client:
                user = client.users.create_user(
                    upb.CreateUserRequest(user=upb.User(display_name="Sync"))
                )
                request = account_request(user.name)
                first = client.accounts.create_account(request)
                again = client.accounts.create_account(request)
                assert again.name == first.name
                with pytest.raises(NotFoundError) as missing:
                    client.users.get_user(upb.GetUserRequest(name=f"{user.name}-gone"))
                with pytest.raises(InvalidArgumentError) as invalid:
                    client.accounts.create_account(
                        apb.CreateAccountRequest(parent=user.name, account=apb.Account())
                    )
                pages = paginate(
                    client.accounts.list_accounts,
                    apb.ListAccountsRequest(parent=user.name, page_size=1),
                )
                names = [a.name for page in pages for a in page.accounts]
                scheduled = client.recurring_transactions.list_recurring_transactions(
                    recpb.ListRecurringTransactionsRequest(parent=user.name)
                )
                assert list(scheduled.recurring_transactions) == []
                return (
                    first.name,
                    missing.value.resource_name,
                    invalid.value.field_violations,
                    names,
                )

        account, missing, violations, listed = await asyncio.to_thread(scenario)
        assert missing.endswith("-gone")
        assert violations["account.display_name"] == "is required"
        assert listed == [account]

    async def test_retries_unavailable_with_a_deadline(self):
        def scenario() -> float:
            target = f"127.0.0.1:{free_port()}"
            with FinanceClient(target, timeout=0.5, retries=FAST_RETRIES) as client:
                start = time.monotonic()
                with pytest.raises(UnavailableError):
                    client.users.get_user(upb.GetUserRequest(name="users/nobody"))
                return time.monotonic() - start

        assert await asyncio.to_thread(scenario) < 1.5
