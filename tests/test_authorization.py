"""Who may do what on whose books: every RPC for every role (none, viewer, editor, owner,
administrator) over a real channel with real tokens, and what must not leak across users."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from enum import Enum

import grpc
import pytest
from finance.v1 import account_service_pb2 as apb
from finance.v1 import audit_service_pb2 as aupb
from finance.v1 import audit_service_pb2_grpc as aupb_grpc
from finance.v1 import budget_service_pb2 as bpb
from finance.v1 import category_service_pb2 as cpb
from finance.v1 import exchange_rate_service_pb2 as xpb
from finance.v1 import member_service_pb2 as mpb
from finance.v1 import payee_service_pb2 as ppb
from finance.v1 import recurring_transaction_service_pb2 as recpb
from finance.v1 import report_service_pb2 as reppb
from finance.v1 import rule_service_pb2 as rpb
from finance.v1 import statement_service_pb2 as spb
from finance.v1 import transaction_service_pb2 as tpb
from finance.v1 import user_service_pb2 as upb
from google.protobuf import field_mask_pb2
from google.protobuf.message import Message
from google.type import decimal_pb2

from service.server import SERVICE_NAMES, App
from tests.authorization import (
    ADMIN_SCOPE,
    Clients,
    SharedBooks,
    channel_as,
    jwt_server,
    share_books,
)
from tests.builders import day, money, monthly_expense
from tests.credentials import SigningKeys
from tests.helpers import field_violations, rpc_error

OK = grpc.StatusCode.OK
NOT_FOUND = grpc.StatusCode.NOT_FOUND
DENIED = grpc.StatusCode.PERMISSION_DENIED


class Need(Enum):
    """What an RPC takes on the user whose books it touches."""

    ANYONE = "any authenticated caller"
    VIEWER = "viewer"
    EDITOR = "editor"
    OWNER = "owner"


ROLES = ("none", "viewer", "editor", "owner", "admin")
RANK = {"viewer": 1, "editor": 2, "owner": 3}
NEEDED_RANK = {Need.VIEWER: 1, Need.EDITOR: 2, Need.OWNER: 3}


def expected(need: Need, role: str) -> grpc.StatusCode:
    """The status a caller of `role` gets for an RPC that takes `need`."""
    if need is Need.ANYONE or role in ("owner", "admin"):
        return OK
    if role == "none":
        return NOT_FOUND  # whether the user exists is not a stranger's to learn
    return OK if RANK[role] >= NEEDED_RANK[need] else DENIED


def mask(*paths: str) -> field_mask_pb2.FieldMask:
    return field_mask_pb2.FieldMask(paths=paths)


@dataclass(frozen=True)
class Case:
    """An RPC, what it takes, and a request that succeeds for a caller allowed to make it."""

    need: Need
    request: Callable[[SharedBooks], Message]


# Every RPC of every finance.v1 service; test_every_rpc_is_in_the_matrix keeps it whole.
MATRIX: dict[str, Case] = {
    "UserService/CreateUser": Case(
        Need.ANYONE, lambda b: upb.CreateUserRequest(user=upb.User(display_name="New"))
    ),
    "UserService/GetUser": Case(Need.VIEWER, lambda b: upb.GetUserRequest(name=b.user)),
    "UserService/ListUsers": Case(Need.ANYONE, lambda b: upb.ListUsersRequest()),
    "UserService/UpdateUser": Case(
        Need.OWNER,
        lambda b: upb.UpdateUserRequest(
            user=upb.User(name=b.user, display_name="Renamed"), update_mask=mask("display_name")
        ),
    ),
    "UserService/DeleteUser": Case(
        Need.OWNER, lambda b: upb.DeleteUserRequest(name=b.user, force=True)
    ),
    "MemberService/CreateMember": Case(
        Need.OWNER,
        lambda b: mpb.CreateMemberRequest(
            parent=b.user,
            member=mpb.Member(principal=f"new-{uuid.uuid4()}", role=mpb.Member.ROLE_VIEWER),
        ),
    ),
    "MemberService/GetMember": Case(
        Need.VIEWER, lambda b: mpb.GetMemberRequest(name=b.spare_member)
    ),
    "MemberService/ListMembers": Case(Need.VIEWER, lambda b: mpb.ListMembersRequest(parent=b.user)),
    "MemberService/UpdateMember": Case(
        Need.OWNER,
        lambda b: mpb.UpdateMemberRequest(
            member=mpb.Member(name=b.spare_member, role=mpb.Member.ROLE_EDITOR),
            update_mask=mask("role"),
        ),
    ),
    "MemberService/DeleteMember": Case(
        Need.OWNER, lambda b: mpb.DeleteMemberRequest(name=b.spare_member)
    ),
    "AccountService/CreateAccount": Case(
        Need.EDITOR,
        lambda b: apb.CreateAccountRequest(
            parent=b.user,
            account=apb.Account(
                display_name="Cash", type=apb.Account.TYPE_ASSET, currency_code="EUR"
            ),
        ),
    ),
    "AccountService/GetAccount": Case(Need.VIEWER, lambda b: apb.GetAccountRequest(name=b.account)),
    "AccountService/ListAccounts": Case(
        Need.VIEWER, lambda b: apb.ListAccountsRequest(parent=b.user)
    ),
    "AccountService/UpdateAccount": Case(
        Need.EDITOR,
        lambda b: apb.UpdateAccountRequest(
            account=apb.Account(name=b.account, display_name="Main"),
            update_mask=mask("display_name"),
        ),
    ),
    "AccountService/DeleteAccount": Case(
        Need.EDITOR, lambda b: apb.DeleteAccountRequest(name=b.empty_account)
    ),
    "AccountService/ArchiveAccount": Case(
        Need.EDITOR, lambda b: apb.ArchiveAccountRequest(name=b.empty_account)
    ),
    "AccountService/UnarchiveAccount": Case(
        Need.EDITOR, lambda b: apb.UnarchiveAccountRequest(name=b.account)
    ),
    "AccountService/GetAccountBalance": Case(
        Need.VIEWER, lambda b: apb.GetAccountBalanceRequest(name=b.account, as_of_date=day(31))
    ),
    "AccountService/GetBalanceHistory": Case(
        Need.VIEWER,
        lambda b: apb.GetBalanceHistoryRequest(name=b.account, start_date=day(1), end_date=day(31)),
    ),
    "AuditService/ListAuditEvents": Case(
        Need.VIEWER, lambda b: aupb.ListAuditEventsRequest(parent=b.user)
    ),
    "BudgetService/CreateBudget": Case(
        Need.EDITOR,
        lambda b: bpb.CreateBudgetRequest(
            parent=b.user,
            budget=bpb.Budget(
                display_name="Weekly",
                style=bpb.Budget.STYLE_PERIOD_LIMITS,
                currency_code="EUR",
                period=bpb.Budget.PERIOD_WEEK,
                start_date=day(1),
            ),
        ),
    ),
    "BudgetService/GetBudget": Case(Need.VIEWER, lambda b: bpb.GetBudgetRequest(name=b.budget)),
    "BudgetService/ListBudgets": Case(Need.VIEWER, lambda b: bpb.ListBudgetsRequest(parent=b.user)),
    "BudgetService/UpdateBudget": Case(
        Need.EDITOR,
        lambda b: bpb.UpdateBudgetRequest(
            budget=bpb.Budget(name=b.budget, display_name="Renamed"),
            update_mask=mask("display_name"),
        ),
    ),
    "BudgetService/DeleteBudget": Case(
        Need.EDITOR, lambda b: bpb.DeleteBudgetRequest(name=b.budget)
    ),
    "BudgetService/GetBudgetStatus": Case(
        Need.VIEWER, lambda b: bpb.GetBudgetStatusRequest(name=b.budget, as_of_date=day(31))
    ),
    "ExchangeRateService/CreateExchangeRate": Case(
        Need.EDITOR,
        lambda b: xpb.CreateExchangeRateRequest(
            parent=b.user,
            exchange_rate=xpb.ExchangeRate(
                base_currency_code="GBP",
                quote_currency_code="EUR",
                rate_date=day(2),
                rate=decimal_pb2.Decimal(value="1.17"),
            ),
        ),
    ),
    "ExchangeRateService/GetExchangeRate": Case(
        Need.VIEWER, lambda b: xpb.GetExchangeRateRequest(name=b.exchange_rate)
    ),
    "ExchangeRateService/ListExchangeRates": Case(
        Need.VIEWER, lambda b: xpb.ListExchangeRatesRequest(parent=b.user)
    ),
    "ExchangeRateService/UpdateExchangeRate": Case(
        Need.EDITOR,
        lambda b: xpb.UpdateExchangeRateRequest(
            exchange_rate=xpb.ExchangeRate(
                name=b.exchange_rate, rate=decimal_pb2.Decimal(value="1.2")
            ),
            update_mask=mask("rate"),
        ),
    ),
    "ExchangeRateService/DeleteExchangeRate": Case(
        Need.EDITOR, lambda b: xpb.DeleteExchangeRateRequest(name=b.exchange_rate)
    ),
    "ExchangeRateService/LookupExchangeRate": Case(
        Need.VIEWER,
        lambda b: xpb.LookupExchangeRateRequest(
            parent=b.user,
            base_currency_code="USD",
            quote_currency_code="EUR",
            as_of_date=day(5),
        ),
    ),
    "ReportService/GetCategoryReport": Case(
        Need.VIEWER,
        lambda b: reppb.GetCategoryReportRequest(
            parent=b.user,
            start_date=day(1),
            end_date=day(31),
            kind=cpb.Category.KIND_EXPENSE,
            filter=f'category = "{b.category}"',
        ),
    ),
    "ReportService/GetIncomeExpenseReport": Case(
        Need.VIEWER,
        lambda b: reppb.GetIncomeExpenseReportRequest(
            parent=b.user, start_date=day(1), end_date=day(31)
        ),
    ),
    "ReportService/GetNetWorthReport": Case(
        Need.VIEWER,
        lambda b: reppb.GetNetWorthReportRequest(
            parent=b.user, start_date=day(1), end_date=day(31), currency_code="USD"
        ),
    ),
    "ReportService/GetCashFlowReport": Case(
        Need.VIEWER,
        lambda b: reppb.GetCashFlowReportRequest(
            parent=b.user, start_date=day(1), end_date=day(31), filter=f'account = "{b.account}"'
        ),
    ),
    "ReportService/GetTopPayeesReport": Case(
        Need.VIEWER,
        lambda b: reppb.GetTopPayeesReportRequest(
            parent=b.user, start_date=day(1), end_date=day(31), max_payees=3
        ),
    ),
    "CategoryService/CreateCategory": Case(
        Need.EDITOR,
        lambda b: cpb.CreateCategoryRequest(
            parent=b.user,
            category=cpb.Category(display_name="Rent", kind=cpb.Category.KIND_EXPENSE),
        ),
    ),
    "CategoryService/GetCategory": Case(
        Need.VIEWER, lambda b: cpb.GetCategoryRequest(name=b.category)
    ),
    "CategoryService/ListCategories": Case(
        Need.VIEWER, lambda b: cpb.ListCategoriesRequest(parent=b.user)
    ),
    "CategoryService/UpdateCategory": Case(
        Need.EDITOR,
        lambda b: cpb.UpdateCategoryRequest(
            category=cpb.Category(name=b.category, display_name="Groceries"),
            update_mask=mask("display_name"),
        ),
    ),
    "CategoryService/DeleteCategory": Case(
        Need.EDITOR, lambda b: cpb.DeleteCategoryRequest(name=b.category)
    ),
    "PayeeService/CreatePayee": Case(
        Need.EDITOR,
        lambda b: ppb.CreatePayeeRequest(parent=b.user, payee=ppb.Payee(display_name="Landlord")),
    ),
    "PayeeService/GetPayee": Case(Need.VIEWER, lambda b: ppb.GetPayeeRequest(name=b.payee)),
    "PayeeService/ListPayees": Case(Need.VIEWER, lambda b: ppb.ListPayeesRequest(parent=b.user)),
    "PayeeService/UpdatePayee": Case(
        Need.EDITOR,
        lambda b: ppb.UpdatePayeeRequest(
            payee=ppb.Payee(name=b.payee, display_name="Bakery"), update_mask=mask("display_name")
        ),
    ),
    "PayeeService/DeletePayee": Case(Need.EDITOR, lambda b: ppb.DeletePayeeRequest(name=b.payee)),
    "RuleService/CreateRule": Case(
        Need.EDITOR,
        lambda b: rpb.CreateRuleRequest(
            parent=b.user,
            rule=rpb.Rule(
                display_name="Rent",
                conditions=rpb.RuleConditions(description_contains="rent"),
                actions=rpb.RuleActions(add_tags=["home"]),
            ),
        ),
    ),
    "RuleService/GetRule": Case(Need.VIEWER, lambda b: rpb.GetRuleRequest(name=b.rule)),
    "RuleService/ListRules": Case(Need.VIEWER, lambda b: rpb.ListRulesRequest(parent=b.user)),
    "RuleService/UpdateRule": Case(
        Need.EDITOR,
        lambda b: rpb.UpdateRuleRequest(
            rule=rpb.Rule(name=b.rule, priority=2), update_mask=mask("priority")
        ),
    ),
    "RuleService/DeleteRule": Case(Need.EDITOR, lambda b: rpb.DeleteRuleRequest(name=b.rule)),
    "RuleService/TestRule": Case(Need.VIEWER, lambda b: rpb.TestRuleRequest(name=b.rule)),
    "RuleService/ApplyRules": Case(Need.EDITOR, lambda b: rpb.ApplyRulesRequest(parent=b.user)),
    "TransactionService/CreateTransaction": Case(
        Need.EDITOR,
        lambda b: tpb.CreateTransactionRequest(
            parent=b.user,
            transaction=tpb.Transaction(
                booking_date=day(20),
                postings=[
                    tpb.Posting(account=b.account, amount=money(-1)),
                    tpb.Posting(account=b.empty_account, amount=money(1)),
                ],
            ),
        ),
    ),
    "RecurringTransactionService/CreateRecurringTransaction": Case(
        Need.EDITOR,
        lambda b: recpb.CreateRecurringTransactionRequest(
            parent=b.user, recurring_transaction=monthly_expense(b.account)
        ),
    ),
    "RecurringTransactionService/GetRecurringTransaction": Case(
        Need.VIEWER, lambda b: recpb.GetRecurringTransactionRequest(name=b.recurring)
    ),
    "RecurringTransactionService/ListRecurringTransactions": Case(
        Need.VIEWER, lambda b: recpb.ListRecurringTransactionsRequest(parent=b.user)
    ),
    "RecurringTransactionService/UpdateRecurringTransaction": Case(
        Need.EDITOR,
        lambda b: recpb.UpdateRecurringTransactionRequest(
            recurring_transaction=monthly_expense(b.account, units=12, name=b.recurring),
            update_mask=mask("template"),
        ),
    ),
    "RecurringTransactionService/DeleteRecurringTransaction": Case(
        Need.EDITOR, lambda b: recpb.DeleteRecurringTransactionRequest(name=b.recurring)
    ),
    "RecurringTransactionService/PauseRecurringTransaction": Case(
        Need.EDITOR, lambda b: recpb.PauseRecurringTransactionRequest(name=b.recurring)
    ),
    "RecurringTransactionService/ResumeRecurringTransaction": Case(
        Need.EDITOR, lambda b: recpb.ResumeRecurringTransactionRequest(name=b.recurring)
    ),
    "RecurringTransactionService/SkipOccurrence": Case(
        Need.EDITOR,
        lambda b: recpb.SkipOccurrenceRequest(name=b.recurring, occurrence_date=day(29, 2)),
    ),
    "RecurringTransactionService/ListUpcomingOccurrences": Case(
        Need.VIEWER,
        lambda b: recpb.ListUpcomingOccurrencesRequest(
            name=b.recurring, start_date=day(1), end_date=day(31, 12)
        ),
    ),
    "StatementService/ReconcileAccount": Case(
        Need.EDITOR,
        lambda b: spb.ReconcileAccountRequest(
            account=b.account, statement_date=day(31), closing_balance=money(0)
        ),
    ),
    "StatementService/GetStatement": Case(
        Need.VIEWER, lambda b: spb.GetStatementRequest(name=b.statement)
    ),
    "StatementService/ListStatements": Case(
        Need.VIEWER,
        lambda b: spb.ListStatementsRequest(parent=b.statement.split("/statements/")[0]),
    ),
    "StatementService/UnreconcileStatement": Case(
        Need.EDITOR, lambda b: spb.UnreconcileStatementRequest(name=b.statement)
    ),
    "TransactionService/GetTransaction": Case(
        Need.VIEWER, lambda b: tpb.GetTransactionRequest(name=b.posted)
    ),
    "TransactionService/ListTransactions": Case(
        Need.VIEWER, lambda b: tpb.ListTransactionsRequest(parent=b.user)
    ),
    "TransactionService/UpdateTransaction": Case(
        Need.EDITOR,
        lambda b: tpb.UpdateTransactionRequest(
            transaction=tpb.Transaction(name=b.pending, description="Checked"),
            update_mask=mask("description"),
        ),
    ),
    "TransactionService/PostTransaction": Case(
        Need.EDITOR, lambda b: tpb.PostTransactionRequest(name=b.pending)
    ),
    "TransactionService/VoidTransaction": Case(
        Need.EDITOR, lambda b: tpb.VoidTransactionRequest(name=b.pending)
    ),
    "TransactionService/ReverseTransaction": Case(
        Need.EDITOR, lambda b: tpb.ReverseTransactionRequest(name=b.posted, reason="Mistake")
    ),
    "TransactionService/RecordExpense": Case(
        Need.EDITOR,
        lambda b: tpb.RecordExpenseRequest(
            parent=b.user, account=b.account, amount=money(2), booking_date=day(21)
        ),
    ),
    "TransactionService/RecordIncome": Case(
        Need.EDITOR,
        lambda b: tpb.RecordIncomeRequest(
            parent=b.user, account=b.account, amount=money(3), booking_date=day(21)
        ),
    ),
    "TransactionService/TransferFunds": Case(
        Need.EDITOR,
        lambda b: tpb.TransferFundsRequest(
            parent=b.user,
            from_account=b.account,
            to_account=b.empty_account,
            amount=money(4),
            booking_date=day(21),
        ),
    ),
}


@dataclass(frozen=True)
class Principals:
    """The principals of one test, each with a client whose calls carry its token."""

    subjects: dict[str, str]
    clients: dict[str, Clients]


@pytest.fixture(scope="module")
def keys() -> SigningKeys:
    signing = SigningKeys()
    signing.add_key()
    return signing


@pytest.fixture(scope="module")
async def jwt_app(database, database_url, keys, tmp_path_factory) -> AsyncIterator[App]:
    async with jwt_server(database, database_url, keys, tmp_path_factory.mktemp("jwks")) as app:
        yield app


@pytest.fixture
async def principals(jwt_app, keys) -> AsyncIterator[Principals]:
    run = uuid.uuid4().hex[:8]
    subjects = {role: f"{role}-{run}" for role in ROLES}
    channels = {
        role: channel_as(
            jwt_app, keys.token(subject, scope=ADMIN_SCOPE if role == "admin" else "finance")
        )
        for role, subject in subjects.items()
    }
    yield Principals(subjects, {role: Clients.over(c) for role, c in channels.items()})
    for channel in channels.values():
        await channel.close()


async def _call(clients: Clients, rpc: str, request: Message) -> grpc.StatusCode:
    service, method = rpc.split("/")
    call = clients.channel.unary_unary(
        f"/finance.v1.{service}/{method}",
        request_serializer=type(request).SerializeToString,
        response_deserializer=lambda data: data,
    )
    try:
        await call(request)
    except grpc.aio.AioRpcError as error:
        return error.code()
    return OK


def test_every_rpc_is_in_the_matrix():
    from google.protobuf import descriptor_pool

    pool = descriptor_pool.Default()
    rpcs = {
        f"{name.rsplit('.', 1)[1]}/{method.name}"
        for name in SERVICE_NAMES
        for method in pool.FindServiceByName(name).methods
    }
    assert rpcs == set(MATRIX)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("rpc", sorted(MATRIX))
async def test_each_role_gets_what_its_grant_allows(principals, rpc, role):
    subjects, clients = principals.subjects, principals.clients
    books = await share_books(
        clients["owner"], editor=subjects["editor"], viewer=subjects["viewer"]
    )
    case = MATRIX[rpc]
    assert await _call(clients[role], rpc, case.request(books)) == expected(case.need, role)


class TestMembers:
    async def test_the_creator_is_the_first_owner(self, principals):
        owner = principals.clients["owner"]
        user = await owner.users.CreateUser(upb.CreateUserRequest(user=upb.User(display_name="A")))
        listed = await owner.members.ListMembers(mpb.ListMembersRequest(parent=user.name))
        assert [(m.principal, m.role) for m in listed.members] == [
            (principals.subjects["owner"], mpb.Member.ROLE_OWNER)
        ]

    async def _books(self, principals: Principals) -> tuple[SharedBooks, str]:
        """Shared books and the name of their owner's member."""
        owner = principals.clients["owner"]
        books = await share_books(
            owner, editor=principals.subjects["editor"], viewer=principals.subjects["viewer"]
        )
        listed = await owner.members.ListMembers(
            mpb.ListMembersRequest(parent=books.user, filter="role = ROLE_OWNER")
        )
        [me] = listed.members
        return books, me.name

    async def test_the_last_owner_can_be_neither_removed_nor_demoted(self, principals):
        owner = principals.clients["owner"].members
        _, me = await self._books(principals)
        for call in (
            owner.DeleteMember(mpb.DeleteMemberRequest(name=me)),
            owner.UpdateMember(
                mpb.UpdateMemberRequest(
                    member=mpb.Member(name=me, role=mpb.Member.ROLE_EDITOR),
                    update_mask=mask("role"),
                )
            ),
        ):
            error = await rpc_error(call, grpc.StatusCode.FAILED_PRECONDITION)
            assert "last owner" in (error.details() or "")

    async def test_an_owner_leaves_once_another_owner_remains(self, principals):
        owner = principals.clients["owner"].members
        books, me = await self._books(principals)
        await owner.UpdateMember(
            mpb.UpdateMemberRequest(
                member=mpb.Member(name=books.spare_member, role=mpb.Member.ROLE_OWNER),
                update_mask=mask("role"),
            )
        )
        await owner.DeleteMember(mpb.DeleteMemberRequest(name=me))
        # Gone: the former owner is a stranger to these books now.
        await rpc_error(
            principals.clients["owner"].users.GetUser(upb.GetUserRequest(name=books.user)),
            NOT_FOUND,
        )

    async def test_two_owners_removing_each_other_at_once_leave_one(
        self, principals, jwt_app, keys
    ):
        books, me = await self._books(principals)
        owner = principals.clients["owner"].members
        second_subject = f"second-{uuid.uuid4()}"
        second = await owner.CreateMember(
            mpb.CreateMemberRequest(
                parent=books.user,
                member=mpb.Member(principal=second_subject, role=mpb.Member.ROLE_OWNER),
            )
        )
        async with channel_as(jwt_app, keys.token(second_subject)) as channel:
            other = Clients.over(channel).members
            results = await asyncio.gather(
                owner.DeleteMember(mpb.DeleteMemberRequest(name=second.name)),
                other.DeleteMember(mpb.DeleteMemberRequest(name=me)),
                return_exceptions=True,
            )
        codes = sorted(
            r.code().name if isinstance(r, grpc.aio.AioRpcError) else "OK" for r in results
        )
        # The second removal sees one owner left, or finds its caller removed already.
        assert codes[1] == "OK"
        assert codes[0] in ("FAILED_PRECONDITION", "NOT_FOUND")
        admin = principals.clients["admin"].members
        listed = await admin.ListMembers(
            mpb.ListMembersRequest(parent=books.user, filter="role = ROLE_OWNER")
        )
        assert len(listed.members) == 1

    async def test_a_principal_is_a_member_once(self, principals):
        owner = principals.clients["owner"].members
        books, _ = await self._books(principals)
        error = await rpc_error(
            owner.CreateMember(
                mpb.CreateMemberRequest(
                    parent=books.user,
                    member=mpb.Member(
                        principal=principals.subjects["viewer"], role=mpb.Member.ROLE_EDITOR
                    ),
                )
            ),
            grpc.StatusCode.ALREADY_EXISTS,
        )
        listed = await owner.ListMembers(
            mpb.ListMembersRequest(
                parent=books.user, filter=f'principal = "{principals.subjects["viewer"]}"'
            )
        )
        [viewer] = listed.members
        assert viewer.name in (error.details() or "")

    async def test_a_removed_member_loses_access_at_once(self, principals):
        owner = principals.clients["owner"].members
        books, _ = await self._books(principals)
        viewer = principals.clients["viewer"]
        await viewer.users.GetUser(upb.GetUserRequest(name=books.user))
        listed = await owner.ListMembers(
            mpb.ListMembersRequest(
                parent=books.user, filter=f'principal = "{principals.subjects["viewer"]}"'
            )
        )
        await owner.DeleteMember(mpb.DeleteMemberRequest(name=listed.members[0].name))
        await rpc_error(viewer.users.GetUser(upb.GetUserRequest(name=books.user)), NOT_FOUND)

    async def test_a_role_is_required(self, principals):
        books, _ = await self._books(principals)
        error = await rpc_error(
            principals.clients["owner"].members.CreateMember(
                mpb.CreateMemberRequest(parent=books.user, member=mpb.Member(principal="x"))
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        assert "member.role" in field_violations(error)


class TestNothingLeaksAcrossUsers:
    async def test_list_users_shows_only_the_callers_books(self, principals):
        books = await share_books(
            principals.clients["owner"],
            editor=principals.subjects["editor"],
            viewer=principals.subjects["viewer"],
        )
        for role in ROLES:
            listed = await principals.clients[role].users.ListUsers(
                upb.ListUsersRequest(page_size=1000)
            )
            names = {u.name for u in listed.users}
            assert (books.user in names) is (role != "none"), role
        stranger = await principals.clients["none"].users.ListUsers(upb.ListUsersRequest())
        assert list(stranger.users) == []

    async def test_a_page_token_does_not_open_anothers_books(self, principals):
        books = await share_books(
            principals.clients["owner"],
            editor=principals.subjects["editor"],
            viewer=principals.subjects["viewer"],
        )
        first = await principals.clients["viewer"].accounts.ListAccounts(
            apb.ListAccountsRequest(parent=books.user, page_size=1)
        )
        assert first.next_page_token
        await rpc_error(
            principals.clients["none"].accounts.ListAccounts(
                apb.ListAccountsRequest(
                    parent=books.user, page_size=1, page_token=first.next_page_token
                )
            ),
            NOT_FOUND,
        )

    async def test_a_request_id_names_only_its_own_principals_request(self, principals):
        request_id = str(uuid.uuid4())
        request = upb.CreateUserRequest(user=upb.User(display_name="Mine"), request_id=request_id)
        mine = await principals.clients["owner"].users.CreateUser(request)
        assert (await principals.clients["owner"].users.CreateUser(request)).name == mine.name
        # The same request from another principal is not handed the first one's user.
        error = await rpc_error(
            principals.clients["none"].users.CreateUser(request), grpc.StatusCode.INVALID_ARGUMENT
        )
        assert mine.name not in (error.details() or "")

    async def test_a_viewer_reads_the_audit_trail_with_each_changes_principal(self, principals):
        books = await share_books(
            principals.clients["owner"],
            editor=principals.subjects["editor"],
            viewer=principals.subjects["viewer"],
        )
        await principals.clients["editor"].payees.UpdatePayee(
            ppb.UpdatePayeeRequest(
                payee=ppb.Payee(name=books.payee, display_name="Renamed"),
                update_mask=mask("display_name"),
            )
        )
        audit = aupb_grpc.AuditServiceStub(principals.clients["viewer"].channel)
        events = await audit.ListAuditEvents(
            aupb.ListAuditEventsRequest(parent=books.user, filter=f'resource = "{books.payee}"')
        )
        assert [(e.action, e.actor) for e in events.audit_events] == [
            ("create", principals.subjects["owner"]),
            ("update", principals.subjects["editor"]),
        ]
