"""Servers that authenticate, channels that carry a principal's credentials, and a user's
books shared with members of every role: what the authorization tests run against."""

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from finance.v1 import account_service_pb2_grpc as apb_grpc
from finance.v1 import budget_service_pb2 as bpb
from finance.v1 import budget_service_pb2_grpc as bpb_grpc
from finance.v1 import category_service_pb2_grpc as cpb_grpc
from finance.v1 import exchange_rate_service_pb2 as xpb
from finance.v1 import member_service_pb2 as mpb
from finance.v1 import member_service_pb2_grpc as mpb_grpc
from finance.v1 import payee_service_pb2_grpc as ppb_grpc
from finance.v1 import recurring_transaction_service_pb2_grpc as recpb_grpc
from finance.v1 import rule_service_pb2 as rpb
from finance.v1 import rule_service_pb2_grpc as rpb_grpc
from finance.v1 import statement_service_pb2 as spb
from finance.v1 import statement_service_pb2_grpc as spb_grpc
from finance.v1 import transaction_service_pb2 as tpb
from finance.v1 import transaction_service_pb2_grpc as tpb_grpc
from finance.v1 import user_service_pb2 as upb
from finance.v1 import user_service_pb2_grpc as upb_grpc
from finance.v1.exchange_rate_service_pb2_grpc import ExchangeRateServiceStub
from google.type import decimal_pb2

from service.db.database import Database
from service.server import App, build_app
from tests.builders import (
    Books,
    create_category,
    create_payee,
    create_recurring,
    day,
    leg,
    money,
    monthly_expense,
)
from tests.conftest import make_settings
from tests.credentials import SigningKeys

ADMIN_SCOPE = "finance.admin"


class Bearer(grpc.aio.UnaryUnaryClientInterceptor):
    """Adds `authorization: Bearer <token>` to every call of a channel."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def intercept_unary_unary(
        self, continuation: Callable[..., Awaitable[Any]], details: Any, request: Any
    ) -> Any:
        metadata = [*(details.metadata or ()), ("authorization", f"Bearer {self._token}")]
        return await continuation(details._replace(metadata=metadata), request)


def jwt_settings(keys: SigningKeys, **overrides: Any) -> dict[str, Any]:
    """Settings that take bearer tokens of `keys`' issuer and audience; `overrides` say where
    the keys are (jwt_jwks_file or jwt_jwks_url) and anything else."""
    return {"auth": "jwt", "jwt_issuer": keys.issuer, "jwt_audience": keys.audience, **overrides}


@asynccontextmanager
async def jwt_server(
    database: Database, database_url: str, keys: SigningKeys, directory: Path, **settings: Any
) -> AsyncIterator[App]:
    """A running server that takes bearer tokens signed by `keys`."""
    jwks = keys.write_jwks(directory / "jwks.json")
    app = build_app(
        make_settings(
            database_url,
            **jwt_settings(keys, jwt_jwks_file=jwks, jwks_refresh_seconds=0, **settings),
        ),
        database,
    )
    await app.start()
    try:
        yield app
    finally:
        await app.stop(grace=1)


@dataclass(frozen=True)
class Clients:
    """Every finance.v1 stub over one channel."""

    channel: grpc.aio.Channel
    users: "upb_grpc.UserServiceAsyncStub"
    members: "mpb_grpc.MemberServiceAsyncStub"
    accounts: "apb_grpc.AccountServiceAsyncStub"
    categories: "cpb_grpc.CategoryServiceAsyncStub"
    payees: "ppb_grpc.PayeeServiceAsyncStub"
    transactions: "tpb_grpc.TransactionServiceAsyncStub"
    recurring: "recpb_grpc.RecurringTransactionServiceAsyncStub"
    rules: "rpb_grpc.RuleServiceAsyncStub"
    statements: "spb_grpc.StatementServiceAsyncStub"

    @classmethod
    def over(cls, channel: grpc.aio.Channel) -> "Clients":
        """The stubs of `channel`."""
        return cls(
            channel,
            upb_grpc.UserServiceStub(channel),
            mpb_grpc.MemberServiceStub(channel),
            apb_grpc.AccountServiceStub(channel),
            cpb_grpc.CategoryServiceStub(channel),
            ppb_grpc.PayeeServiceStub(channel),
            tpb_grpc.TransactionServiceStub(channel),
            recpb_grpc.RecurringTransactionServiceStub(channel),
            rpb_grpc.RuleServiceStub(channel),
            spb_grpc.StatementServiceStub(channel),
        )


def channel_as(app: App, token: str) -> grpc.aio.Channel:
    """A channel to `app` whose calls carry `token`."""
    return grpc.aio.insecure_channel(f"127.0.0.1:{app.port}", interceptors=[Bearer(token)])


@dataclass(frozen=True)
class SharedBooks:
    """A user created by its owner and shared with an editor and a viewer, with something of
    every kind to read, change or delete."""

    user: str
    account: str
    empty_account: str
    category: str
    payee: str
    pending: str
    posted: str
    spare_member: str
    recurring: str
    exchange_rate: str
    rule: str
    # A statement of an account of its own, reconciled on the 31st of January 2024.
    statement: str
    budget: str


async def share_books(owner: Clients, *, editor: str, viewer: str) -> SharedBooks:
    """New books of `owner`'s, with `editor` and `viewer` as members in those roles."""
    user = await owner.users.CreateUser(
        upb.CreateUserRequest(user=upb.User(display_name="Household"))
    )
    for principal, role in (
        (editor, mpb.Member.ROLE_EDITOR),
        (viewer, mpb.Member.ROLE_VIEWER),
    ):
        await owner.members.CreateMember(
            mpb.CreateMemberRequest(
                parent=user.name, member=mpb.Member(principal=principal, role=role)
            )
        )
    spare = await owner.members.CreateMember(
        mpb.CreateMemberRequest(
            parent=user.name,
            member=mpb.Member(principal=f"spare-{uuid.uuid4()}", role=mpb.Member.ROLE_VIEWER),
        )
    )
    books = Books(user, owner.accounts, owner.transactions)
    checking = await books.account("Checking", opening_balance=money(100))
    savings = await books.account("Savings")
    empty = await books.account("Empty")
    pending = await books.create(
        leg(checking, -5), leg(savings, 5), state=tpb.Transaction.STATE_PENDING
    )
    posted = await books.create(leg(checking, -7), leg(savings, 7))
    rate = await ExchangeRateServiceStub(owner.channel).CreateExchangeRate(
        xpb.CreateExchangeRateRequest(
            parent=user.name,
            exchange_rate=xpb.ExchangeRate(
                base_currency_code="EUR",
                quote_currency_code="USD",
                rate_date=day(1),
                rate=decimal_pb2.Decimal(value="1.1"),
            ),
        )
    )
    category = await create_category(owner.categories, user.name)
    payee = await create_payee(owner.payees, user.name)
    recurring = await create_recurring(owner.recurring, user.name, monthly_expense(checking.name))
    rule = await owner.rules.CreateRule(
        rpb.CreateRuleRequest(
            parent=user.name,
            rule=rpb.Rule(
                display_name="Bakery",
                conditions=rpb.RuleConditions(description_contains="bakery"),
                actions=rpb.RuleActions(add_tags=["bread"]),
            ),
        )
    )
    reconciled = await books.account("Reconciled")
    statement = await owner.statements.ReconcileAccount(
        spb.ReconcileAccountRequest(
            account=reconciled.name, statement_date=day(31), closing_balance=money(0)
        )
    )
    # Its own category: one a budget names cannot be deleted.
    budgeted = await create_category(owner.categories, user.name, "Budgeted")
    budget = await bpb_grpc.BudgetServiceStub(owner.channel).CreateBudget(
        bpb.CreateBudgetRequest(
            parent=user.name,
            budget=bpb.Budget(
                display_name="Monthly",
                style=bpb.Budget.STYLE_PERIOD_LIMITS,
                currency_code="EUR",
                period=bpb.Budget.PERIOD_MONTH,
                start_date=day(1),
                lines=[bpb.Budget.Line(category=budgeted.name, amount=money(50))],
            ),
        )
    )
    return SharedBooks(
        user=user.name,
        account=checking.name,
        empty_account=empty.name,
        category=category.name,
        payee=payee.name,
        pending=pending.name,
        posted=posted.name,
        spare_member=spare.name,
        recurring=recurring.name,
        exchange_rate=rate.name,
        rule=rule.name,
        statement=statement.statement.name,
        budget=budget.name,
    )
