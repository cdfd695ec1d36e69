"""Property-based tests of the ledger: random histories of transfers, expenses, two-phase
settlements, reversals and retries, checked against the invariants a ledger is judged by.

Each history runs on a database of its own module, so `verify()` sees only what they wrote.
"""

import asyncio
import contextlib
import os
import subprocess
import sys
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.db.database import Database
from service.db.migrate import apply_migrations
from service.db.unit_of_work import UnitOfWork
from service.domain.audit import Caller
from service.domain.errors import DomainError
from service.domain.keys import AccountKey, UserKey
from service.domain.ledger import (
    PostingDraft,
    SystemRole,
    Transaction,
    TransactionDraft,
    TransactionState,
)
from service.domain.models import AccountType, NewAccount, NewUser
from service.domain.movements import expense_draft, transfer_draft
from service.services.accounts import AccountService
from service.services.ledger import LedgerService
from service.services.users import UserService
from tests.conftest import with_database

START = date(2024, 1, 1)
OPENING_DAY = date(2025, 1, 1)
CURRENCIES = ("EUR", "USD")
CALLER = Caller("property-test")


@pytest.fixture(scope="module")
def ledger_url(server_url: str) -> Iterator[str]:
    """A migrated database of this module's own."""
    name = f"finance_props_{uuid.uuid4().hex[:12]}"

    async def create() -> None:
        admin = await asyncpg.connect(server_url)
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
        connection = await asyncpg.connect(with_database(server_url, name))
        await apply_migrations(connection)
        await connection.close()

    async def drop() -> None:
        admin = await asyncpg.connect(server_url)
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()

    asyncio.run(create())
    yield with_database(server_url, name)
    asyncio.run(drop())


@dataclass(frozen=True)
class Transfer:
    source: int
    target: int
    amount: int
    to_amount: int
    pending: bool
    day: int


@dataclass(frozen=True)
class Expense:
    account: int
    amount: int
    day: int


@dataclass(frozen=True)
class Settle:
    """post, void or reverse an earlier transaction, or retry recording it."""

    action: str
    index: int


# Indexes wrap around the accounts or transactions that exist when the operation runs.
operation = st.one_of(
    st.builds(
        Transfer,
        st.integers(0, 5),
        st.integers(0, 5),
        st.integers(1, 5_000),
        st.integers(1, 5_000),
        st.booleans(),
        st.integers(0, 40),
    ),
    st.builds(Expense, st.integers(0, 5), st.integers(1, 5_000), st.integers(0, 40)),
    st.builds(Settle, st.sampled_from(["post", "void", "reverse", "retry"]), st.integers(0, 30)),
)
history = st.lists(operation, min_size=1, max_size=25)
openings = st.lists(
    st.tuples(
        st.sampled_from(CURRENCIES),
        st.integers(-2_000, 10_000),
        st.one_of(st.none(), st.integers(0, 3_000)),
    ),
    min_size=2,
    max_size=6,
)


@dataclass
class Model:
    """What the history did, as the test saw it."""

    owner: str
    accounts: list[tuple[str, str]] = field(default_factory=list)  # (account id, currency)
    recorded: list[tuple[Transaction, TransactionDraft, uuid.UUID]] = field(default_factory=list)
    states: dict[str, Transaction] = field(default_factory=dict)


async def _open(url: str) -> Database:
    return await Database.connect(url, min_size=1, max_size=4)


async def _setup(db: Database, opening: list[tuple[str, int, int | None]]) -> Model:
    user = await UserService(UnitOfWork(db)).create(NewUser("Property", ""), caller=CALLER)
    model = Model(user.user_id)
    accounts = _accounts(db)
    for i, (currency, amount, limit) in enumerate(opening):
        if limit is not None and amount < -limit:
            amount = -limit  # an opening balance past the limit is refused; start at the limit
        account = await accounts.create(
            UserKey(user.user_id),
            NewAccount(f"A{i}", AccountType.ASSET, currency, amount, limit),
            caller=CALLER,
        )
        model.accounts.append((account.account_id, currency))
    return model


def _accounts(db: Database) -> AccountService:
    # Opening balances are booked after every day the history checks, as of which they are
    # not part of the balance the test replays.
    return AccountService(UnitOfWork(db), today=lambda: OPENING_DAY)


def _leg(model: Model, index: int, amount: int) -> PostingDraft:
    account_id, currency = model.accounts[index % len(model.accounts)]
    return PostingDraft(account_id, amount, currency)


def _draft(model: Model, op: Transfer | Expense) -> TransactionDraft:
    if isinstance(op, Expense):
        base = TransactionDraft(START + timedelta(days=op.day), ())
        return expense_draft(_leg(model, op.account, op.amount), base=base, category_id=None)
    source = _leg(model, op.source, op.amount)
    target = _leg(model, op.target, op.to_amount)
    if source.currency_code == target.currency_code:
        target = PostingDraft(target.account_id, source.amount, target.currency_code)
    base = TransactionDraft(START + timedelta(days=op.day), (), pending=op.pending)
    return transfer_draft(source, target, base=base)


async def _apply(ledger: LedgerService, model: Model, op: Transfer | Expense | Settle) -> None:
    owner = UserKey(model.owner)
    if not isinstance(op, Settle):
        draft = _draft(model, op)
        request_id = uuid.uuid4()
        created = await ledger.record(owner, draft, caller=Caller("p", request_id))
        model.recorded.append((created, draft, request_id))
        model.states[created.transaction_id] = created
        return
    if op.action == "retry":
        if model.recorded:
            transaction, draft, request_id = model.recorded[op.index % len(model.recorded)]
            again = await ledger.record(owner, draft, caller=Caller("p", request_id))
            assert again.transaction_id == transaction.transaction_id
        return
    # Settle what can be settled, so that most operations do something.
    wanted = TransactionState.POSTED if op.action == "reverse" else TransactionState.PENDING
    candidates = [t for t in model.states.values() if t.state is wanted]
    if not candidates:
        return
    key = candidates[op.index % len(candidates)].key
    if op.action in ("post", "void"):
        settle = ledger.post if op.action == "post" else ledger.void
        settled = await settle(key, expected_revision=None, caller=CALLER)
        model.states[settled.transaction_id] = settled
    else:
        reversal = await ledger.reverse(key, booking_date=None, reason="", caller=CALLER)
        model.states[reversal.transaction_id] = reversal


async def _check(db: Database, model: Model) -> None:
    """The invariants, read back from the database."""
    async with db.connection() as connection:
        accounts = await connection.fetch(
            "SELECT account_id, currency_code, balance, pending_balance, pending_outgoing,"
            " credit_limit FROM accounts WHERE user_id = $1",
            model.owner,
        )
    per_currency: dict[str, int] = defaultdict(int)
    pending_per_currency: dict[str, int] = defaultdict(int)
    for row in accounts:
        per_currency[row["currency_code"]] += row["balance"]
        pending_per_currency[row["currency_code"]] += row["pending_balance"]
        if row["credit_limit"] is not None:
            assert row["balance"] + row["pending_outgoing"] >= -row["credit_limit"], dict(row)
    assert all(total == 0 for total in per_currency.values()), per_currency
    assert all(total == 0 for total in pending_per_currency.values()), pending_per_currency

    # Replaying what the test saw posted gives every account's balance as of any day.
    posted = [t for t in model.states.values() if t.state is TransactionState.POSTED]
    account_service = _accounts(db)
    for days in (0, 10, 40):
        as_of = START + timedelta(days=days)
        for account_id, _ in model.accounts:
            expected = sum(
                p.amount
                for t in posted
                if t.booking_date <= as_of
                for p in t.postings
                if p.account_id == account_id
            )
            _, got = await account_service.balance(AccountKey(model.owner, account_id), as_of)
            assert got.amount == expected, (account_id, as_of)
    assert await LedgerService(UnitOfWork(db)).verify() == []


async def _run_history(
    url: str, opening: list[tuple[str, int, int | None]], ops: list[Transfer | Expense | Settle]
) -> None:
    db = await _open(url)
    try:
        model = await _setup(db, opening)
        ledger = LedgerService(UnitOfWork(db))
        for op in ops:
            # Limits, wrong states, same-account transfers are refused, writing nothing.
            with contextlib.suppress(DomainError):
                await _apply(ledger, model, op)
            await _check(db, model)
    finally:
        await db.close()


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(opening=openings, ops=history)
def test_random_histories_keep_the_books_balanced(ledger_url, opening, ops):
    asyncio.run(_run_history(ledger_url, opening, ops))


def test_verify_reports_a_balance_that_drifted_from_its_postings(ledger_url):
    async def scenario() -> None:
        db = await _open(ledger_url)
        try:
            model = await _setup(db, [("EUR", 100, None), ("EUR", 0, None)])
            account_id = model.accounts[0][0]
            async with db.connection() as connection:
                await connection.execute(
                    "UPDATE accounts SET balance = balance + 1"
                    " WHERE user_id = $1 AND account_id = $2",
                    model.owner,
                    account_id,
                )
            found = await LedgerService(UnitOfWork(db)).verify()
            subjects = {d.subject for d in found}
            assert AccountKey(model.owner, account_id) in subjects
            assert UserKey(model.owner) in subjects  # the books no longer sum to zero
            async with db.connection() as connection:
                await connection.execute(
                    "UPDATE accounts SET balance = balance - 1"
                    " WHERE user_id = $1 AND account_id = $2",
                    model.owner,
                    account_id,
                )
            assert await LedgerService(UnitOfWork(db)).verify() == []
        finally:
            await db.close()

    asyncio.run(scenario())


def test_system_accounts_exist_once_per_role_and_currency(ledger_url):
    async def scenario() -> None:
        db = await _open(ledger_url)
        try:
            model = await _setup(db, [("EUR", 1000, None), ("EUR", 1000, None)])
            ledger = LedgerService(UnitOfWork(db))
            drafts = [_draft(model, Expense(account=i, amount=1, day=0)) for i in range(2)]
            await asyncio.gather(
                *(ledger.record(UserKey(model.owner), d, caller=CALLER) for d in drafts * 3)
            )
            async with db.connection() as connection:
                count = await connection.fetchval(
                    "SELECT count(*) FROM accounts WHERE user_id = $1 AND system_role = $2",
                    model.owner,
                    SystemRole.EXPENSE.value,
                )
            assert count == 1
        finally:
            await db.close()

    asyncio.run(scenario())


def test_verify_command_exits_non_zero_on_a_difference(ledger_url):
    cli = Path(sys.executable).parent / "finance-tracker"
    env = {**os.environ, "FINANCE_TRACKER_DATABASE_URL": ledger_url}

    def verify() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(cli), "verify"], env=env, capture_output=True, text=True, timeout=60
        )

    async def shift(delta: int) -> str:
        db = await _open(ledger_url)
        try:
            model = await _setup(db, [("EUR", 5, None), ("EUR", 0, None)])
            account_id = model.accounts[0][0]
            async with db.connection() as connection:
                await connection.execute(
                    "UPDATE accounts SET balance = balance + $3"
                    " WHERE user_id = $1 AND account_id = $2",
                    model.owner,
                    account_id,
                    delta,
                )
            return f"users/{model.owner}/accounts/{account_id}"
        finally:
            await db.close()

    clean = verify()
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "0 discrepancies" in clean.stderr
    drifted = asyncio.run(shift(7))
    found = verify()
    assert found.returncode == 1
    assert drifted in found.stdout

    async def repair() -> None:
        db = await _open(ledger_url)
        try:
            async with db.connection() as connection:
                user_id, account_id = drifted.split("/")[1], drifted.split("/")[3]
                await connection.execute(
                    "UPDATE accounts SET balance = balance - 7"
                    " WHERE user_id = $1 AND account_id = $2",
                    user_id,
                    account_id,
                )
        finally:
            await db.close()

    asyncio.run(repair())
    assert verify().returncode == 0
