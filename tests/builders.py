"""Factories for RPC tests: money, dates, users, accounts, categories, payees, transactions
and recurring transactions."""

from dataclasses import dataclass
from typing import Any

from finance.v1 import account_service_pb2 as apb
from finance.v1 import account_service_pb2_grpc as apb_grpc
from finance.v1 import category_service_pb2 as cpb
from finance.v1 import category_service_pb2_grpc as cpb_grpc
from finance.v1 import payee_service_pb2 as ppb
from finance.v1 import payee_service_pb2_grpc as ppb_grpc
from finance.v1 import recurring_transaction_service_pb2 as recpb
from finance.v1 import recurring_transaction_service_pb2_grpc as recpb_grpc
from finance.v1 import transaction_service_pb2 as tpb
from finance.v1 import transaction_service_pb2_grpc as tpb_grpc
from finance.v1 import user_service_pb2 as upb
from finance.v1 import user_service_pb2_grpc as upb_grpc
from google.type import date_pb2, money_pb2

EXPENSE = cpb.Category.KIND_EXPENSE
INCOME = cpb.Category.KIND_INCOME


def money(units: int, currency: str = "EUR", *, nanos: int = 0) -> money_pb2.Money:
    """`units` and `nanos` of `currency`."""
    return money_pb2.Money(currency_code=currency, units=units, nanos=nanos)


def day(d: int, month: int = 1, year: int = 2024) -> date_pb2.Date:
    """A fixed date (January 2024 unless told): no test depends on today's."""
    return date_pb2.Date(year=year, month=month, day=d)


def own_id(name: str) -> str:
    """The last segment of resource name `name`: the ID of the resource itself."""
    return name.rsplit("/", 1)[1]


def new_user(display_name: str = "Ada Lovelace", **fields: Any) -> upb.User:
    """A User message named `display_name`, with `fields`."""
    return upb.User(display_name=display_name, **fields)


async def create_user(
    users: "upb_grpc.UserServiceAsyncStub", display_name: str = "Test", **fields: Any
) -> upb.User:
    """A new user named `display_name`, with `fields` of the User message."""
    return await users.CreateUser(upb.CreateUserRequest(user=new_user(display_name, **fields)))


def new_account(**fields: Any) -> apb.Account:
    """An Account message: a EUR asset account named Checking unless `fields` say otherwise."""
    values: dict[str, Any] = {
        "display_name": "Checking",
        "type": apb.Account.TYPE_ASSET,
        "currency_code": "EUR",
        **fields,
    }
    return apb.Account(**values)


def account_request(parent: str, **fields: Any) -> apb.CreateAccountRequest:
    """A request to create `new_account(**fields)` for user `parent`."""
    return apb.CreateAccountRequest(parent=parent, account=new_account(**fields))


async def create_account(
    accounts: "apb_grpc.AccountServiceAsyncStub", parent: str, **fields: Any
) -> apb.Account:
    """A new account of user `parent`: `new_account(**fields)`."""
    return await accounts.CreateAccount(account_request(parent, **fields))


async def create_category(
    categories: "cpb_grpc.CategoryServiceAsyncStub",
    parent: str,
    display_name: str = "Food",
    kind: Any = EXPENSE,
    under: str = "",
) -> cpb.Category:
    """A new category of user `parent`, under category `under` (top-level when empty)."""
    category = cpb.Category(display_name=display_name, kind=kind, parent=under)
    return await categories.CreateCategory(
        cpb.CreateCategoryRequest(parent=parent, category=category)
    )


async def create_payee(
    payees: "ppb_grpc.PayeeServiceAsyncStub", parent: str, display_name: str = "Corner Bakery"
) -> ppb.Payee:
    """A new payee of user `parent`."""
    return await payees.CreatePayee(
        ppb.CreatePayeeRequest(parent=parent, payee=ppb.Payee(display_name=display_name))
    )


def leg(account: apb.Account, units: int, **fields: Any) -> tpb.Posting:
    """A posting of `units` to or from `account`, in its currency."""
    return tpb.Posting(account=account.name, amount=money(units, account.currency_code), **fields)


async def record_expense(
    accounts: "apb_grpc.AccountServiceAsyncStub",
    transactions: "tpb_grpc.TransactionServiceAsyncStub",
    parent: str,
    *,
    category: str = "",
    payee: str = "",
) -> tpb.Transaction:
    """Open an account for user `parent` and record a 1 EUR expense from it under `category`
    and `payee` (resource names, either may be empty): something for records to refer to."""
    account = await create_account(accounts, parent)
    return await transactions.RecordExpense(
        tpb.RecordExpenseRequest(
            parent=parent,
            account=account.name,
            amount=money(1),
            category=category,
            payee=payee,
            booking_date=day(31),
        )
    )


def monthly_expense(account: str, units: int = 10, **fields: Any) -> recpb.RecurringTransaction:
    """A recurring expense of `units` EUR from `account` on the 31st (each month's last day)
    of 2024, three times from January, unless `fields` (of the message) say otherwise."""
    values: dict[str, Any] = {
        "template": recpb.TransactionTemplate(
            kind=recpb.TransactionTemplate.KIND_EXPENSE,
            account=account,
            amount=money(units),
            description="Rent",
        ),
        "schedule": recpb.Schedule(
            frequency=recpb.Schedule.FREQUENCY_MONTHLY, start_date=day(31), count=3
        ),
        **fields,
    }
    return recpb.RecurringTransaction(**values)


async def create_recurring(
    recurring: "recpb_grpc.RecurringTransactionServiceAsyncStub",
    parent: str,
    message: recpb.RecurringTransaction,
    **fields: Any,
) -> recpb.RecurringTransaction:
    """A new recurring transaction of user `parent`."""
    return await recurring.CreateRecurringTransaction(
        recpb.CreateRecurringTransactionRequest(
            parent=parent, recurring_transaction=message, **fields
        )
    )


@dataclass(frozen=True)
class Books:
    """A user's books: open accounts, move money between them, read balances."""

    user: upb.User
    accounts: "apb_grpc.AccountServiceAsyncStub"
    transactions: "tpb_grpc.TransactionServiceAsyncStub"

    async def account(
        self, display_name: str = "Checking", currency: str = "EUR", **fields: Any
    ) -> apb.Account:
        """A new account of this user."""
        return await create_account(
            self.accounts,
            self.user.name,
            display_name=display_name,
            currency_code=currency,
            **fields,
        )

    async def get(self, account: apb.Account) -> apb.Account:
        """`account` as it is now."""
        return await self.accounts.GetAccount(apb.GetAccountRequest(name=account.name))

    async def balance(self, account: apb.Account) -> int:
        """The whole units of `account`'s balance now."""
        return (await self.get(account)).balance.units

    async def create(
        self,
        *postings: tpb.Posting,
        booking_date: date_pb2.Date | None = None,
        request_id: str = "",
        **fields: Any,
    ) -> tpb.Transaction:
        """Record `postings` on `booking_date` (the 15th of January 2024 unless told), with
        `fields` of the Transaction message (description, tags, state...)."""
        transaction = tpb.Transaction(
            booking_date=booking_date or day(15), postings=postings, **fields
        )
        return await self.transactions.CreateTransaction(
            tpb.CreateTransactionRequest(
                parent=self.user.name, transaction=transaction, request_id=request_id
            )
        )
