"""The resources the conformance suite runs over, each described once by the calls it makes."""

import builtins
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc
from finance.v1 import account_service_pb2 as apb
from finance.v1 import account_service_pb2_grpc as apb_grpc
from finance.v1 import budget_service_pb2 as bpb
from finance.v1 import budget_service_pb2_grpc as bpb_grpc
from finance.v1 import category_service_pb2 as cpb
from finance.v1 import category_service_pb2_grpc as cpb_grpc
from finance.v1 import exchange_rate_service_pb2_grpc as xpb_grpc
from finance.v1 import member_service_pb2_grpc as mpb_grpc
from finance.v1 import payee_service_pb2 as ppb
from finance.v1 import payee_service_pb2_grpc as ppb_grpc
from finance.v1 import recurring_transaction_service_pb2 as recpb
from finance.v1 import recurring_transaction_service_pb2_grpc as recpb_grpc
from finance.v1 import rule_service_pb2_grpc as rpb_grpc
from finance.v1 import statement_service_pb2_grpc as spb_grpc
from finance.v1 import transaction_service_pb2 as tpb
from finance.v1 import transaction_service_pb2_grpc as tpb_grpc
from finance.v1 import user_service_pb2 as upb
from finance.v1 import user_service_pb2_grpc as upb_grpc
from google.protobuf import field_mask_pb2
from google.type import date_pb2

from tests.builders import (
    EXPENSE,
    create_account,
    create_user,
    day,
    money,
    monthly_expense,
    own_id,
)

REQUIRED = "is required"
NOT_A_UUID = "must be a UUID"
NOT_A_USER = "'people/x' is not a resource name of the form users/{user}"


def mask(*paths: str) -> field_mask_pb2.FieldMask:
    """An update mask of `paths`."""
    return field_mask_pb2.FieldMask(paths=paths)


@dataclass(frozen=True)
class Clients:
    """The stubs the resources are driven through."""

    users: "upb_grpc.UserServiceAsyncStub"
    accounts: "apb_grpc.AccountServiceAsyncStub"
    categories: "cpb_grpc.CategoryServiceAsyncStub"
    payees: "ppb_grpc.PayeeServiceAsyncStub"
    transactions: "tpb_grpc.TransactionServiceAsyncStub"
    members: "mpb_grpc.MemberServiceAsyncStub"
    exchange_rates: "xpb_grpc.ExchangeRateServiceAsyncStub"
    rules: "rpb_grpc.RuleServiceAsyncStub"
    statements: "spb_grpc.StatementServiceAsyncStub"
    budgets: "bpb_grpc.BudgetServiceAsyncStub"
    recurring: "recpb_grpc.RecurringTransactionServiceAsyncStub"

    @classmethod
    def over(cls, channel: grpc.aio.Channel) -> "Clients":
        """A stub of each service over `channel`."""
        return cls(
            users=upb_grpc.UserServiceStub(channel),
            accounts=apb_grpc.AccountServiceStub(channel),
            categories=cpb_grpc.CategoryServiceStub(channel),
            payees=ppb_grpc.PayeeServiceStub(channel),
            transactions=tpb_grpc.TransactionServiceStub(channel),
            members=mpb_grpc.MemberServiceStub(channel),
            exchange_rates=xpb_grpc.ExchangeRateServiceStub(channel),
            rules=rpb_grpc.RuleServiceStub(channel),
            statements=spb_grpc.StatementServiceStub(channel),
            budgets=bpb_grpc.BudgetServiceStub(channel),
            recurring=recpb_grpc.RecurringTransactionServiceStub(channel),
        )


@dataclass(frozen=True)
class Page:
    """One page of a List call."""

    items: list[Any]
    next_page_token: str


@dataclass(frozen=True)
class Resource:
    """One resource type through its service, for the behaviours all resources share.

    A scope is where resources live: a user's name, or, for users (which have no parent), a
    tag in their display names that `list` filters on, so that a test sees its own users only.
    `label` is a descriptive field (a display name or description) that create and update set.
    """

    type: str  # the ResourceInfo type, e.g. "finance-tracker/Account"
    singular: str  # the request field the resource travels in, e.g. "account"
    new_scope: Callable[[], Awaitable[str]]
    create: Callable[..., Awaitable[Any]]  # (scope, label="One", request_id="")
    get: Callable[[str], Awaitable[Any]]
    list: Callable[..., Awaitable[Page]]  # (scope, page_size=0, page_token="", filter=...)
    update: Callable[..., Awaitable[Any]]  # (name, label, etag="")
    delete: Callable[..., Awaitable[Any]] | None  # (name, etag="")
    # A create with every field wrong, and what the server must say about each.
    create_invalid: Callable[[], Awaitable[Any]]
    invalid_create_fields: dict[str, str]
    filter: str  # a valid filter and order_by, for reusing a page token with other ones
    order_by: str
    # The items, created one after the other, in the order a List without order_by returns.
    default_order: Callable[[builtins.list[Any]], builtins.list[Any]] = builtins.list


def users(c: Clients) -> Resource:
    """Users: the roots, listed across all users (a tag in their names scopes a test's own)."""

    async def new_scope() -> str:
        return f"tag{uuid.uuid4().hex[:12]}"

    async def create(scope: str, label: str = "One", request_id: str = "") -> upb.User:
        user = upb.User(display_name=f"{scope} {label}")
        return await c.users.CreateUser(upb.CreateUserRequest(user=user, request_id=request_id))

    async def list_(scope: str, filter: str = "", **fields: Any) -> Page:
        own = f'display_name:"{scope}"' + (f" AND ({filter})" if filter else "")
        page = await c.users.ListUsers(upb.ListUsersRequest(filter=own, **fields))
        return Page(list(page.users), page.next_page_token)

    async def update(name: str, label: str, etag: str = "") -> upb.User:
        user = upb.User(name=name, display_name=label, etag=etag)
        return await c.users.UpdateUser(
            upb.UpdateUserRequest(user=user, update_mask=mask("display_name"))
        )

    return Resource(
        type="finance-tracker/User",
        singular="user",
        new_scope=new_scope,
        create=create,
        get=lambda name: c.users.GetUser(upb.GetUserRequest(name=name)),
        list=list_,
        update=update,
        delete=lambda name, etag="": c.users.DeleteUser(
            upb.DeleteUserRequest(name=name, etag=etag)
        ),
        create_invalid=lambda: c.users.CreateUser(
            upb.CreateUserRequest(
                user=upb.User(display_name="  ", email="not-an-email"),
                user_id="Bad_ID",
                request_id="not-a-uuid",
            )
        ),
        invalid_create_fields={
            "user.display_name": REQUIRED,
            "user.email": "'not-an-email' is not an e-mail address",
            "user_id": "must be 4 to 63 lowercase letters, digits or hyphens, starting with a"
            " letter and not ending with a hyphen, or a lowercase UUID",
            "request_id": NOT_A_UUID,
        },
        filter='email:"example.org"',
        order_by="display_name",
    )


def accounts(c: Clients) -> Resource:
    """Accounts of a user."""

    async def create(scope: str, label: str = "One", request_id: str = "") -> apb.Account:
        account = apb.Account(display_name=label, type=apb.Account.TYPE_ASSET, currency_code="EUR")
        request = apb.CreateAccountRequest(parent=scope, account=account, request_id=request_id)
        return await c.accounts.CreateAccount(request)

    async def list_(scope: str, **fields: Any) -> Page:
        page = await c.accounts.ListAccounts(apb.ListAccountsRequest(parent=scope, **fields))
        return Page(list(page.accounts), page.next_page_token)

    async def update(name: str, label: str, etag: str = "") -> apb.Account:
        account = apb.Account(name=name, display_name=label, etag=etag)
        request = apb.UpdateAccountRequest(account=account, update_mask=mask("display_name"))
        return await c.accounts.UpdateAccount(request)

    return Resource(
        type="finance-tracker/Account",
        singular="account",
        new_scope=lambda: new_user(c),
        create=create,
        get=lambda name: c.accounts.GetAccount(apb.GetAccountRequest(name=name)),
        list=list_,
        update=update,
        delete=lambda name, etag="": c.accounts.DeleteAccount(
            apb.DeleteAccountRequest(name=name, etag=etag)
        ),
        create_invalid=lambda: c.accounts.CreateAccount(
            apb.CreateAccountRequest(
                parent="people/x",
                account=apb.Account(display_name="", currency_code="eur"),
                request_id="nope",
            )
        ),
        invalid_create_fields={
            "parent": NOT_A_USER,
            "account.display_name": REQUIRED,
            "account.type": "is required: one of TYPE_ASSET, TYPE_LIABILITY, TYPE_INCOME,"
            " TYPE_EXPENSE, TYPE_EQUITY",
            "account.currency_code": "'eur' is not an ISO 4217 currency code",
            "request_id": NOT_A_UUID,
        },
        filter="type = TYPE_ASSET",
        order_by="display_name",
    )


def categories(c: Clients) -> Resource:
    """Categories of a user (top-level ones: the hierarchy is their own module's)."""

    async def create(scope: str, label: str = "One", request_id: str = "") -> cpb.Category:
        category = cpb.Category(display_name=label, kind=EXPENSE)
        request = cpb.CreateCategoryRequest(parent=scope, category=category, request_id=request_id)
        return await c.categories.CreateCategory(request)

    async def list_(scope: str, **fields: Any) -> Page:
        page = await c.categories.ListCategories(cpb.ListCategoriesRequest(parent=scope, **fields))
        return Page(list(page.categories), page.next_page_token)

    async def update(name: str, label: str, etag: str = "") -> cpb.Category:
        category = cpb.Category(name=name, display_name=label, etag=etag)
        request = cpb.UpdateCategoryRequest(category=category, update_mask=mask("display_name"))
        return await c.categories.UpdateCategory(request)

    return Resource(
        type="finance-tracker/Category",
        singular="category",
        new_scope=lambda: new_user(c),
        create=create,
        get=lambda name: c.categories.GetCategory(cpb.GetCategoryRequest(name=name)),
        list=list_,
        update=update,
        delete=lambda name, etag="": c.categories.DeleteCategory(
            cpb.DeleteCategoryRequest(name=name, etag=etag)
        ),
        create_invalid=lambda: c.categories.CreateCategory(
            cpb.CreateCategoryRequest(
                parent="people/x",
                category=cpb.Category(display_name="", parent="food"),
                request_id="nope",
            )
        ),
        invalid_create_fields={
            "parent": NOT_A_USER,
            "category.display_name": REQUIRED,
            "category.kind": "is required: one of KIND_INCOME, KIND_EXPENSE",
            "category.parent": "'food' is not a resource name of the form"
            " users/{user}/categories/{id}",
            "request_id": NOT_A_UUID,
        },
        filter="kind = KIND_EXPENSE",
        order_by="display_name",
    )


def payees(c: Clients) -> Resource:
    """Payees of a user."""

    async def create(scope: str, label: str = "One", request_id: str = "") -> ppb.Payee:
        payee = ppb.Payee(display_name=label)
        request = ppb.CreatePayeeRequest(parent=scope, payee=payee, request_id=request_id)
        return await c.payees.CreatePayee(request)

    async def list_(scope: str, **fields: Any) -> Page:
        page = await c.payees.ListPayees(ppb.ListPayeesRequest(parent=scope, **fields))
        return Page(list(page.payees), page.next_page_token)

    async def update(name: str, label: str, etag: str = "") -> ppb.Payee:
        payee = ppb.Payee(name=name, display_name=label, etag=etag)
        request = ppb.UpdatePayeeRequest(payee=payee, update_mask=mask("display_name"))
        return await c.payees.UpdatePayee(request)

    return Resource(
        type="finance-tracker/Payee",
        singular="payee",
        new_scope=lambda: new_user(c),
        create=create,
        get=lambda name: c.payees.GetPayee(ppb.GetPayeeRequest(name=name)),
        list=list_,
        update=update,
        delete=lambda name, etag="": c.payees.DeletePayee(
            ppb.DeletePayeeRequest(name=name, etag=etag)
        ),
        create_invalid=lambda: c.payees.CreatePayee(
            ppb.CreatePayeeRequest(
                parent="people/x", payee=ppb.Payee(display_name="  "), request_id="nope"
            )
        ),
        invalid_create_fields={
            "parent": NOT_A_USER,
            "payee.display_name": REQUIRED,
            "request_id": NOT_A_UUID,
        },
        filter='display_name = "One"',
        order_by="display_name",
    )


def transactions(c: Clients) -> Resource:
    """Transactions of a user, each moving 1 EUR between two accounts on one fixed date."""
    opened: dict[str, tuple[str, str]] = {}

    async def new_scope() -> str:
        user = await new_user(c)
        pair = [await create_account(c.accounts, user, display_name=n) for n in ("A", "B")]
        opened[user] = (pair[0].name, pair[1].name)
        return user

    async def create(scope: str, label: str = "One", request_id: str = "") -> tpb.Transaction:
        # A scope without accounts (an unknown user) names accounts that do not exist either.
        source, target = opened.get(scope, (f"{scope}/accounts/a", f"{scope}/accounts/b"))
        postings = [
            tpb.Posting(account=source, amount=money(-1)),
            tpb.Posting(account=target, amount=money(1)),
        ]
        transaction = tpb.Transaction(booking_date=day(15), description=label, postings=postings)
        return await c.transactions.CreateTransaction(
            tpb.CreateTransactionRequest(
                parent=scope, transaction=transaction, request_id=request_id
            )
        )

    async def list_(scope: str, **fields: Any) -> Page:
        request = tpb.ListTransactionsRequest(parent=scope, **fields)
        page = await c.transactions.ListTransactions(request)
        return Page(list(page.transactions), page.next_page_token)

    async def update(name: str, label: str, etag: str = "") -> tpb.Transaction:
        transaction = tpb.Transaction(name=name, description=label, etag=etag)
        request = tpb.UpdateTransactionRequest(
            transaction=transaction, update_mask=mask("description")
        )
        return await c.transactions.UpdateTransaction(request)

    return Resource(
        type="finance-tracker/Transaction",
        singular="transaction",
        new_scope=new_scope,
        create=create,
        get=lambda name: c.transactions.GetTransaction(tpb.GetTransactionRequest(name=name)),
        list=list_,
        update=update,
        delete=None,
        create_invalid=lambda: c.transactions.CreateTransaction(
            tpb.CreateTransactionRequest(
                parent="people/x",
                transaction=tpb.Transaction(
                    booking_date=date_pb2.Date(year=2024, month=2, day=30),
                    postings=[
                        tpb.Posting(account="nope", amount=money(1)),
                        tpb.Posting(account="users/x/accounts/y"),
                    ],
                    tags=["a", "a"],
                ),
                request_id="x",
            )
        ),
        invalid_create_fields={
            "parent": NOT_A_USER,
            "transaction.booking_date": "2024-02-30 is not a calendar date",
            "transaction.tags": "must not repeat a tag",
            "transaction.postings[0].account": "'nope' is not a resource name of the form"
            " users/{user}/accounts/{account}",
            "transaction.postings[1].amount": REQUIRED,
            "request_id": NOT_A_UUID,
        },
        filter='description:"One"',
        order_by="amount",
        # Newest first, and on one booking date the ID breaks ties in the same direction.
        default_order=lambda items: sorted(items, key=lambda t: own_id(t.name), reverse=True),
    )


def budgets(c: Clients) -> Resource:
    """Budgets of a user: monthly limits without lines."""

    async def create(scope: str, label: str = "One", request_id: str = "") -> bpb.Budget:
        budget = bpb.Budget(
            display_name=label,
            style=bpb.Budget.STYLE_PERIOD_LIMITS,
            currency_code="EUR",
            period=bpb.Budget.PERIOD_MONTH,
            start_date=day(1),
        )
        request = bpb.CreateBudgetRequest(parent=scope, budget=budget, request_id=request_id)
        return await c.budgets.CreateBudget(request)

    async def list_(scope: str, **fields: Any) -> Page:
        page = await c.budgets.ListBudgets(bpb.ListBudgetsRequest(parent=scope, **fields))
        return Page(list(page.budgets), page.next_page_token)

    async def update(name: str, label: str, etag: str = "") -> bpb.Budget:
        budget = bpb.Budget(name=name, display_name=label, etag=etag)
        request = bpb.UpdateBudgetRequest(budget=budget, update_mask=mask("display_name"))
        return await c.budgets.UpdateBudget(request)

    return Resource(
        type="finance-tracker/Budget",
        singular="budget",
        new_scope=lambda: new_user(c),
        create=create,
        get=lambda name: c.budgets.GetBudget(bpb.GetBudgetRequest(name=name)),
        list=list_,
        update=update,
        delete=lambda name, etag="": c.budgets.DeleteBudget(
            bpb.DeleteBudgetRequest(name=name, etag=etag)
        ),
        create_invalid=lambda: c.budgets.CreateBudget(
            bpb.CreateBudgetRequest(
                parent="people/x",
                budget=bpb.Budget(
                    display_name="",
                    currency_code="eur",
                    start_date=date_pb2.Date(year=2024, month=2, day=30),
                    lines=[bpb.Budget.Line(category="food")],
                    assignments=[bpb.Budget.Assignment(month=date_pb2.Date(year=2024))],
                ),
                request_id="nope",
            )
        ),
        invalid_create_fields={
            "parent": NOT_A_USER,
            "budget.display_name": REQUIRED,
            "budget.style": "must be one of STYLE_PERIOD_LIMITS, STYLE_ENVELOPES",
            "budget.currency_code": "'eur' is not an ISO 4217 currency code",
            "budget.start_date": "2024-02-30 is not a calendar date",
            "budget.lines[0].category": "'food' is not a resource name of the form"
            " users/{user}/categories/{id}",
            "budget.lines[0].amount": REQUIRED,
            "budget.assignments[0].month": "2024-00 is not a month",
            "budget.assignments[0].category": "is required, as users/{user}/categories/{id}",
            "budget.assignments[0].amount": REQUIRED,
            "request_id": NOT_A_UUID,
        },
        filter="style = STYLE_PERIOD_LIMITS",
        order_by="display_name",
    )


async def new_user(c: Clients) -> str:
    """The name of a new user: a scope of its own."""
    return (await create_user(c.users)).name


def recurring_transactions(c: Clients) -> Resource:
    """Recurring transactions of a user: monthly expenses from an account of its own, the
    template's description their label."""
    opened: dict[str, str] = {}

    async def new_scope() -> str:
        user = await new_user(c)
        opened[user] = (await create_account(c.accounts, user)).name
        return user

    def message(scope: str, label: str) -> recpb.RecurringTransaction:
        recurring = monthly_expense(opened.get(scope, f"{scope}/accounts/a"))
        recurring.template.description = label
        return recurring

    async def create(
        scope: str, label: str = "One", request_id: str = ""
    ) -> recpb.RecurringTransaction:
        return await c.recurring.CreateRecurringTransaction(
            recpb.CreateRecurringTransactionRequest(
                parent=scope, recurring_transaction=message(scope, label), request_id=request_id
            )
        )

    async def list_(scope: str, **fields: Any) -> Page:
        request = recpb.ListRecurringTransactionsRequest(parent=scope, **fields)
        page = await c.recurring.ListRecurringTransactions(request)
        return Page(list(page.recurring_transactions), page.next_page_token)

    async def update(name: str, label: str, etag: str = "") -> recpb.RecurringTransaction:
        scope = name.split("/recurringTransactions/")[0]
        recurring = message(scope, label)
        recurring.name, recurring.etag = name, etag
        return await c.recurring.UpdateRecurringTransaction(
            recpb.UpdateRecurringTransactionRequest(
                recurring_transaction=recurring, update_mask=mask("template")
            )
        )

    return Resource(
        type="finance-tracker/RecurringTransaction",
        singular="recurring_transaction",
        new_scope=new_scope,
        create=create,
        get=lambda name: c.recurring.GetRecurringTransaction(
            recpb.GetRecurringTransactionRequest(name=name)
        ),
        list=list_,
        update=update,
        delete=lambda name, etag="": c.recurring.DeleteRecurringTransaction(
            recpb.DeleteRecurringTransactionRequest(name=name, etag=etag)
        ),
        create_invalid=lambda: c.recurring.CreateRecurringTransaction(
            recpb.CreateRecurringTransactionRequest(
                parent="people/x",
                recurring_transaction=monthly_expense(
                    "nope", schedule=recpb.Schedule(start_date=day(1))
                ),
                request_id="nope",
            )
        ),
        invalid_create_fields={
            "parent": NOT_A_USER,
            "recurring_transaction.template.account": "'nope' is not a resource name of the"
            " form users/{user}/accounts/{account}",
            "recurring_transaction.schedule.frequency": "is required: FREQUENCY_DAILY,"
            " FREQUENCY_WEEKLY, FREQUENCY_MONTHLY or FREQUENCY_YEARLY",
            "request_id": NOT_A_UUID,
        },
        filter='description:"One"',
        order_by="description",
    )


RESOURCES = {
    "users": users,
    "accounts": accounts,
    "categories": categories,
    "payees": payees,
    "transactions": transactions,
    "budgets": budgets,
    "recurringTransactions": recurring_transactions,
}
