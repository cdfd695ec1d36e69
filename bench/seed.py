"""Seeding through the service's own use cases: users, categories, payees, accounts with
opening balances, and a few transactions each (which also create the system accounts)."""

import asyncio
import random
from dataclasses import dataclass
from datetime import timedelta

from service.db.database import Database
from service.db.unit_of_work import UnitOfWork
from service.domain.access import SYSTEM
from service.domain.audit import Caller
from service.domain.categories import CategoryKind, NewCategory
from service.domain.clock import utc_today
from service.domain.keys import UserKey
from service.domain.ledger import PostingDraft, TransactionDraft
from service.domain.models import AccountType, NewAccount, NewUser
from service.domain.movements import expense_draft, income_draft, transfer_draft
from service.domain.payees import NewPayee
from service.services.accounts import AccountService
from service.services.catalog import CategoryService, PayeeService
from service.services.ledger import LedgerService
from service.services.users import UserService

CURRENCY = "EUR"
EXPENSE_CATEGORIES = ("Groceries", "Rent", "Transport", "Dining out", "Utilities", "Leisure")
INCOME_CATEGORIES = ("Salary", "Interest")
PAYEES = ("Supermarket", "Landlord", "Railways", "Bistro", "Power company", "Cinema", "Employer")
SEEDER = Caller(SYSTEM, note="bench-seed")


@dataclass(frozen=True)
class SeededUser:
    """The ids of one user's seeded resources."""

    user_id: str
    checking: str
    savings: str
    card: str
    expense_categories: tuple[str, ...]
    income_categories: tuple[str, ...]
    payees: tuple[str, ...]


class Seeder:
    """Creates users and their resources with the service's use cases."""

    def __init__(self, database: Database) -> None:
        uow = UnitOfWork(database)
        self._users = UserService(uow)
        self._accounts = AccountService(uow, today=utc_today)
        self._categories = CategoryService(uow)
        self._payees = PayeeService(uow)
        self._ledger = LedgerService(uow)

    async def user(self, user_id: str, *, transactions: int, rng: random.Random) -> SeededUser:
        """One user with three accounts, categories, payees and `transactions` transactions
        recorded through the ledger (expenses, income and transfers)."""
        await self._users.create(
            NewUser(f"Bench {user_id}", f"{user_id}@example.com", user_id), caller=SEEDER
        )
        owner = UserKey(user_id)
        expense = [
            await self._categories.create(
                owner, NewCategory(n, CategoryKind.EXPENSE), caller=SEEDER
            )
            for n in EXPENSE_CATEGORIES
        ]
        income = [
            await self._categories.create(owner, NewCategory(n, CategoryKind.INCOME), caller=SEEDER)
            for n in INCOME_CATEGORIES
        ]
        payees = [await self._payees.create(owner, NewPayee(n), caller=SEEDER) for n in PAYEES]
        checking = await self._account(owner, "Checking", AccountType.ASSET, 2_500_00)
        savings = await self._account(owner, "Savings", AccountType.ASSET, 10_000_00)
        card = await self._account(owner, "Credit card", AccountType.LIABILITY, 0)
        seeded = SeededUser(
            user_id,
            checking,
            savings,
            card,
            tuple(c.category_id for c in expense),
            tuple(c.category_id for c in income),
            tuple(p.payee_id for p in payees),
        )
        for i in range(transactions):
            await self._ledger.record(owner, _draft(seeded, i, rng), caller=SEEDER)
        return seeded

    async def _account(self, owner: UserKey, name: str, kind: AccountType, opening: int) -> str:
        new = NewAccount(name, kind, CURRENCY, opening_balance=opening)
        return (await self._accounts.create(owner, new, caller=SEEDER)).account_id


def _draft(user: SeededUser, i: int, rng: random.Random) -> TransactionDraft:
    """The i-th everyday transaction of a user: mostly expenses, some income and transfers."""
    base = TransactionDraft(
        booking_date=utc_today() - timedelta(days=rng.randrange(365)),
        postings=(),
        payee_id=rng.choice(user.payees),
        description=f"seed {i}",
    )
    kind = i % 5
    if kind == 0:
        salary = PostingDraft(user.checking, rng.randrange(1_000_00, 4_000_00), CURRENCY)
        return income_draft(salary, base=base, category_id=user.income_categories[0])
    if kind == 1:
        amount = rng.randrange(10_00, 200_00)
        return transfer_draft(
            PostingDraft(user.checking, amount, CURRENCY),
            PostingDraft(user.savings, amount, CURRENCY),
            base=base,
        )
    account = user.card if kind == 2 else user.checking
    spent = PostingDraft(account, rng.randrange(1_00, 150_00), CURRENCY)
    return expense_draft(spent, base=base, category_id=rng.choice(user.expense_categories))


async def seed_users(
    database: Database, user_ids: list[str], *, transactions: int, parallel: int = 8
) -> list[SeededUser]:
    """Seed `user_ids` through the use cases, `parallel` users at a time."""
    seeder = Seeder(database)
    gate = asyncio.Semaphore(parallel)

    async def one(index: int, user_id: str) -> SeededUser:
        async with gate:
            return await seeder.user(
                user_id,
                transactions=transactions,
                rng=random.Random(index),
            )

    return list(await asyncio.gather(*(one(i, u) for i, u in enumerate(user_ids))))
