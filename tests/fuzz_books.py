"""The books the fuzzer works on: the caller's, and another user's that it must never reach."""

import uuid
from dataclasses import dataclass

from finance.v1 import account_service_pb2 as apb
from finance.v1 import audit_service_pb2_grpc as audit_grpc
from finance.v1 import category_service_pb2 as cpb
from finance.v1 import exchange_rate_service_pb2 as xpb
from finance.v1 import member_service_pb2 as mpb
from finance.v1 import rule_service_pb2 as rpb
from finance.v1 import statement_service_pb2 as spb
from finance.v1 import transaction_service_pb2 as tpb
from finance.v1 import user_service_pb2 as upb
from google.type import decimal_pb2

from tests.builders import create_category, create_payee, day, leg, money
from tests.fuzz_names import COLLECTIONS, USER, Pools
from tests.resources import Clients
from tests.tenancy import snapshot

POSTED, PENDING = tpb.Transaction.STATE_POSTED, tpb.Transaction.STATE_PENDING
NOT_SECRET = {"finance-tracker/ExchangeRate"}


@dataclass(frozen=True)
class Books:
    """A user with accounts in three currencies (one archived), categories, payees, and
    posted, pending, reversed and cross-currency transactions: every resource's name, etag
    and text carries the user's `label`."""

    user: upb.User
    label: str
    accounts: list[tuple[str, str]]  # (name, currency), system accounts included
    names: dict[str, list[str]]  # resource type -> names
    etags: list[str]
    request_ids: list[str]


async def open_books(
    c: Clients,
    audit: "audit_grpc.AuditServiceAsyncStub",
    label: str,
    user: upb.User,
    user_id: str = "",
) -> Books:
    """`user`, created (as `user_id` when given), with one resource of every kind and state,
    each saying `label`."""
    user = await c.users.CreateUser(upb.CreateUserRequest(user=user, user_id=user_id))
    accounts = await _open_accounts(c, user.name, label)
    request_ids = await _record(c, user.name, label, accounts)
    await _share_and_plan(c, user.name, label)
    return await _collect(c, audit, user, label, request_ids)


# (title, currency, type, opening balance) of each account the books open.
_ACCOUNTS = (
    ("Checking", "EUR", apb.Account.TYPE_ASSET, 1000),
    ("Cash", "EUR", apb.Account.TYPE_ASSET, 50),
    ("Savings", "USD", apb.Account.TYPE_ASSET, 500),
    ("Card", "JPY", apb.Account.TYPE_LIABILITY, 0),
    ("Old", "EUR", apb.Account.TYPE_ASSET, 0),
)


async def _open_accounts(c: Clients, parent: str, label: str) -> list[apb.Account]:
    """The accounts of _ACCOUNTS, the card with a credit limit, the old one archived."""
    opened = []
    for title, currency, kind, opening in _ACCOUNTS:
        account = apb.Account(
            display_name=f"{label} {title}", type=kind, currency_code=currency, opening_date=day(1)
        )
        if kind == apb.Account.TYPE_LIABILITY:
            account.credit_limit.CopyFrom(money(90_000, currency))
        if opening:
            account.opening_balance.CopyFrom(money(opening, currency))
        request = apb.CreateAccountRequest(parent=parent, account=account)
        opened.append(await c.accounts.CreateAccount(request))
    await c.accounts.ArchiveAccount(apb.ArchiveAccountRequest(name=opened[-1].name))
    return opened


async def _record(c: Clients, parent: str, label: str, accounts: list[apb.Account]) -> list[str]:
    """Categories, payees and transactions of every state between `accounts`; returns the
    request IDs the transactions were created with."""
    checking, cash, savings = accounts[:3]
    food = await create_category(c.categories, parent, f"{label} Food")
    groceries = await create_category(c.categories, parent, f"{label} Groceries", under=food.name)
    income = cpb.Category.KIND_INCOME
    salary = await create_category(c.categories, parent, f"{label} Salary", income)
    bakery = await create_payee(c.payees, parent, f"{label} Bakery")
    employer = await create_payee(c.payees, parent, f"{label} Employer")
    request_ids = [str(uuid.uuid4()) for _ in range(2)]
    t = c.transactions
    for state, request_id in zip((POSTED, PENDING), request_ids, strict=True):
        transaction = tpb.Transaction(
            booking_date=day(10), description=f"{label} rent", notes=f"{label}\nnotes",
            tags=[label.lower()], external_id=f"{label}-{state}", payee=bakery.name, state=state,
            postings=[leg(checking, -10), leg(cash, 10, memo=f"{label} memo")],
        )  # fmt: skip
        await t.CreateTransaction(
            tpb.CreateTransactionRequest(
                parent=parent, transaction=transaction, request_id=request_id
            )
        )
    expense = await t.RecordExpense(tpb.RecordExpenseRequest(
        parent=parent, account=checking.name, amount=money(3), category=groceries.name,
        payee=bakery.name, booking_date=day(12), description=f"{label} bread",
    ))  # fmt: skip
    await t.ReverseTransaction(tpb.ReverseTransactionRequest(name=expense.name, reason=label))
    await t.RecordIncome(tpb.RecordIncomeRequest(
        parent=parent, account=savings.name, amount=money(100, "USD"), category=salary.name,
        payee=employer.name, booking_date=day(14), description=f"{label} pay",
    ))  # fmt: skip
    await t.TransferFunds(tpb.TransferFundsRequest(
        parent=parent, from_account=checking.name, to_account=savings.name, amount=money(20),
        to_amount=money(22, "USD"), booking_date=day(16), description=f"{label} exchange",
    ))  # fmt: skip
    return request_ids


async def _share_and_plan(c: Clients, parent: str, label: str) -> None:
    """A member, an exchange rate, a rule and a reconciled statement of its own account."""
    await c.members.CreateMember(mpb.CreateMemberRequest(
        parent=parent, member=mpb.Member(principal=f"{label} partner", role=mpb.Member.ROLE_EDITOR),
    ))  # fmt: skip
    await c.exchange_rates.CreateExchangeRate(xpb.CreateExchangeRateRequest(
        parent=parent, exchange_rate=xpb.ExchangeRate(
            base_currency_code="EUR", quote_currency_code="USD", rate_date=day(5),
            rate=decimal_pb2.Decimal(value="1.1"),
        ),
    ))  # fmt: skip
    await c.rules.CreateRule(rpb.CreateRuleRequest(parent=parent, rule=rpb.Rule(
        display_name=f"{label} rule",
        conditions=rpb.RuleConditions(description_contains=label.lower()),
        actions=rpb.RuleActions(add_tags=[label.lower()]),
    )))  # fmt: skip
    account = await c.accounts.CreateAccount(apb.CreateAccountRequest(
        parent=parent, account=apb.Account(
            display_name=f"{label} Reconciled", type=apb.Account.TYPE_ASSET, currency_code="EUR"
        ),
    ))  # fmt: skip
    await c.statements.ReconcileAccount(spb.ReconcileAccountRequest(
        account=account.name, statement_date=day(31), closing_balance=money(0)
    ))  # fmt: skip


async def _collect(
    c: Clients,
    audit: "audit_grpc.AuditServiceAsyncStub",
    user: upb.User,
    label: str,
    request_ids: list[str],
) -> Books:
    found = await snapshot(c, audit, user.name)
    accounts, categories, payees, transactions, members, rates, rules, statements = found[:8]
    statements = [s for per_account in statements for s in per_account]
    names = {
        "finance-tracker/Account": [a.name for a in accounts],
        "finance-tracker/Category": [x.name for x in categories],
        "finance-tracker/Payee": [p.name for p in payees],
        "finance-tracker/Transaction": [x.name for x in transactions],
        "finance-tracker/Member": [m.name for m in members],
        "finance-tracker/ExchangeRate": [r.name for r in rates],
        "finance-tracker/Rule": [r.name for r in rules],
        "finance-tracker/Statement": [s.name for s in statements],
        USER: [user.name],
    }
    everything = [
        user, *accounts, *categories, *payees, *transactions, *members, *rates, *rules,
        *statements,
    ]  # fmt: skip
    return Books(
        user=user,
        label=label,
        accounts=[(a.name, a.currency_code) for a in accounts],
        names=names,
        etags=[m.etag for m in everything],
        request_ids=request_ids,
    )


def pools(
    mine: Books, theirs: Books, tokens: dict[str, list[str]], their_tokens: dict[str, list[str]]
) -> Pools:
    """What the fuzzer draws from, acting for the owner of `mine`."""
    return Pools(
        user=mine.user.name,
        own=mine.names,
        foreign=theirs.names,
        accounts=mine.accounts,
        etags=mine.etags,
        request_ids=[*mine.request_ids, *theirs.request_ids],
        user_ids=[mine.user.name.split("/")[1], theirs.user.name.split("/")[1]],
        page_tokens=tokens,
        foreign_page_tokens=their_tokens,
    )


def secrets(books: Books, *, with_user: bool = True) -> set[str]:
    """Strings that only `books`' own data holds: its label and the IDs of its resources (and,
    `with_user`, its user's ID)."""
    found = {books.label}
    for kind, names in books.names.items():
        # A rate's ID is its pair and day, which both users' rates may share.
        if kind in COLLECTIONS and kind not in NOT_SECRET:
            found.update(n.rsplit("/", 1)[1] for n in names)
    if with_user:
        found.add(books.user.name.split("/")[1])
    return found
