"""Property-based tests of the ledger: random histories of transfers, expenses, two-phase
settlements, reversals and retries, checked against the invariants a ledger is judged by and
against a model of what the test asked for (the postings, states and refusals it expects),
never of what the service answered.

Each history runs on a database of its own module, so `verify()` sees only what they wrote.
"""

import asyncio
import os
import subprocess
import sys
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Iterator
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
from service.domain.access import ANONYMOUS
from service.domain.audit import Caller
from service.domain.errors import FailedPrecondition, InvalidArgument
from service.domain.keys import AccountKey, TransactionKey, UserKey
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
CALLER = Caller(ANONYMOUS)


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


# A posting as the test expects it: the account (its id, or for an account the service keeps,
# its role), the amount and the currency.
Leg = tuple[str, int, str]


@dataclass
class Expected:
    """A transaction as the test expects it, from what the test asked for."""

    transaction_id: str
    booking_date: date
    legs: tuple[Leg, ...]
    state: TransactionState
    reverses: str | None = None
    reversed: bool = False
    # The request that recorded it, to send again.
    request: tuple[TransactionDraft, uuid.UUID] | None = None


@dataclass
class Model:
    """What the history did, as the test expects it: never read back from the service."""

    owner: str
    accounts: list[tuple[str, str]] = field(default_factory=list)  # (account id, currency)
    openings: dict[str, int] = field(default_factory=dict)
    limits: dict[str, int] = field(default_factory=dict)  # of the accounts with a limit
    transactions: dict[str, Expected] = field(default_factory=dict)

    def figures(self) -> tuple[dict[str, int], dict[str, int]]:
        """Each account's posted balance and pending spending (negative)."""
        posted: dict[str, int] = defaultdict(int, self.openings)
        outgoing: dict[str, int] = defaultdict(int)
        for t in self.transactions.values():
            for account, amount, _ in t.legs:
                if t.state is TransactionState.POSTED:
                    posted[account] += amount
                elif t.state is TransactionState.PENDING:
                    outgoing[account] += min(amount, 0)
        return posted, outgoing

    def past_limits(self, legs: tuple[Leg, ...], *, pending: bool) -> set[str]:
        """The accounts `legs` would take past their limits: a spend may not leave the posted
        balance plus pending spending below minus the limit."""
        posted, outgoing = self.figures()
        past = set()
        for account, amount, _ in legs:
            limit = self.limits.get(account)
            spent = min(amount, 0)
            after = posted[account] + outgoing[account] + (spent if pending else amount)
            if limit is not None and spent < 0 and after < -limit:
                past.add(account)
        return past


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
        model.openings[account.account_id] = amount
        if limit is not None:
            model.limits[account.account_id] = limit
    return model


def _accounts(db: Database) -> AccountService:
    # Opening balances are booked after every day the history checks, as of which they are
    # not part of the balance the test replays.
    return AccountService(UnitOfWork(db), today=lambda: OPENING_DAY)


def _account(model: Model, index: int) -> tuple[str, str]:
    return model.accounts[index % len(model.accounts)]


def _leg(model: Model, index: int, amount: int) -> PostingDraft:
    account_id, currency = _account(model, index)
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


def _legs(model: Model, op: Transfer | Expense) -> tuple[Leg, ...] | None:
    """The postings `op` asks for, worked out here rather than by the service's drafts; None
    for a transfer from an account to itself, which is refused."""
    if isinstance(op, Expense):
        account, currency = _account(model, op.account)
        return (account, -op.amount, currency), (SystemRole.EXPENSE, op.amount, currency)
    (source, paid), (target, received) = _account(model, op.source), _account(model, op.target)
    if source == target:
        return None
    if paid == received:
        return (source, -op.amount, paid), (target, op.amount, paid)
    trading = SystemRole.TRADING
    return (
        (source, -op.amount, paid),
        (trading, op.amount, paid),
        (trading, -op.to_amount, received),
        (target, op.to_amount, received),
    )


def _draft_legs(draft: TransactionDraft) -> tuple[Leg, ...]:
    return tuple((p.system_role or p.account_id, p.amount, p.currency_code) for p in draft.postings)


async def _legs_of(db: Database, model: Model, transaction: Transaction) -> tuple[Leg, ...]:
    """The postings the service recorded, its own accounts named by their roles."""
    async with db.connection() as connection:
        rows = await connection.fetch(
            "SELECT account_id, system_role FROM accounts"
            " WHERE user_id = $1 AND system_role IS NOT NULL",
            model.owner,
        )
    roles = {r["account_id"]: r["system_role"] for r in rows}
    return tuple(
        (roles.get(p.account_id, p.account_id), p.amount, p.currency_code)
        for p in transaction.postings
    )


async def _refused_by_limits(call: Awaitable[Transaction], model: Model, past: set[str]) -> None:
    with pytest.raises(FailedPrecondition) as caught:
        await call
    violation = caught.value.violation
    assert violation.type == "CREDIT_LIMIT_EXCEEDED"
    assert violation.subject in {AccountKey(model.owner, a) for a in past}


async def _record(
    db: Database, ledger: LedgerService, model: Model, op: Transfer | Expense
) -> None:
    legs = _legs(model, op)
    if legs is None:
        with pytest.raises(InvalidArgument):
            _draft(model, op)
        return
    draft = _draft(model, op)
    assert _draft_legs(draft) == legs  # the request is what the test means
    request_id = uuid.uuid4()
    call = ledger.record(UserKey(model.owner), draft, caller=Caller(ANONYMOUS, request_id))
    past = model.past_limits(legs, pending=draft.pending)
    if past:
        await _refused_by_limits(call, model, past)
        return
    created = await call
    assert created.state is draft.state
    assert await _legs_of(db, model, created) == legs
    model.transactions[created.transaction_id] = Expected(
        created.transaction_id, draft.booking_date, legs, draft.state, request=(draft, request_id)
    )


async def _settle(db: Database, ledger: LedgerService, model: Model, op: Settle) -> None:
    """Post, void or reverse an earlier transaction that can be, or send a request again."""
    expected = list(model.transactions.values())
    if op.action == "retry":
        expected = [t for t in expected if t.request is not None]
    else:
        wanted = TransactionState.POSTED if op.action == "reverse" else TransactionState.PENDING
        expected = [t for t in expected if t.state is wanted]
    if not expected:
        return
    chosen = expected[op.index % len(expected)]
    key = TransactionKey(model.owner, chosen.transaction_id)
    if op.action == "retry":
        assert chosen.request is not None
        draft, request_id = chosen.request
        again = await ledger.record(
            UserKey(model.owner), draft, caller=Caller(ANONYMOUS, request_id)
        )
        assert again.transaction_id == chosen.transaction_id
    elif op.action in ("post", "void"):
        settle = ledger.post if op.action == "post" else ledger.void
        settled = await settle(key, expected_revision=None, caller=CALLER)
        chosen.state = TransactionState.POSTED if op.action == "post" else TransactionState.VOIDED
        assert settled.state is chosen.state
    else:
        await _reverse(db, ledger, model, chosen)


async def _reverse(db: Database, ledger: LedgerService, model: Model, original: Expected) -> None:
    key = TransactionKey(model.owner, original.transaction_id)
    call = ledger.reverse(key, booking_date=None, reason="", caller=CALLER)
    if original.reverses is not None or original.reversed:
        with pytest.raises(FailedPrecondition):
            await call
        return
    legs = tuple((account, -amount, currency) for account, amount, currency in original.legs)
    past = model.past_limits(legs, pending=False)
    if past:
        await _refused_by_limits(call, model, past)
        return
    reversal = await call
    assert await _legs_of(db, model, reversal) == legs
    original.reversed = True
    model.transactions[reversal.transaction_id] = Expected(
        reversal.transaction_id,
        original.booking_date,
        legs,
        TransactionState.POSTED,
        reverses=original.transaction_id,
    )


async def _check(db: Database, model: Model) -> None:
    """The invariants, read back from the database and held against the model."""
    async with db.connection() as connection:
        accounts = await connection.fetch(
            "SELECT account_id, currency_code, balance, pending_balance, pending_outgoing,"
            " credit_limit FROM accounts WHERE user_id = $1",
            model.owner,
        )
    per_currency: dict[str, int] = defaultdict(int)
    pending_per_currency: dict[str, int] = defaultdict(int)
    posted, outgoing = model.figures()
    for row in accounts:
        per_currency[row["currency_code"]] += row["balance"]
        pending_per_currency[row["currency_code"]] += row["pending_balance"]
        if row["credit_limit"] is not None:
            assert row["balance"] + row["pending_outgoing"] >= -row["credit_limit"], dict(row)
        if row["account_id"] in model.openings:
            assert (row["balance"], row["pending_outgoing"]) == (
                posted[row["account_id"]],
                outgoing[row["account_id"]],
            ), dict(row)
    assert all(total == 0 for total in per_currency.values()), per_currency
    assert all(total == 0 for total in pending_per_currency.values()), pending_per_currency

    # Replaying what the test asked for gives every account's balance as of any day.
    account_service = _accounts(db)
    for days in (0, 10, 40):
        as_of = START + timedelta(days=days)
        for account_id, _ in model.accounts:
            expected = sum(
                amount
                for t in model.transactions.values()
                if t.state is TransactionState.POSTED and t.booking_date <= as_of
                for account, amount, _ in t.legs
                if account == account_id
            )
            _, got = await account_service.balance(
                AccountKey(model.owner, account_id), as_of, caller=CALLER
            )
            assert got.amount == expected, (account_id, as_of)
    assert await LedgerService(UnitOfWork(db)).verify() == []


async def _check_transactions(db: Database, ledger: LedgerService, model: Model) -> None:
    """Every transaction is stored as the test expects it."""
    for t in model.transactions.values():
        stored = await ledger.get(TransactionKey(model.owner, t.transaction_id), caller=CALLER)
        assert (stored.state, stored.booking_date, stored.reverses_id) == (
            t.state,
            t.booking_date,
            t.reverses,
        )
        assert await _legs_of(db, model, stored) == t.legs
        assert (stored.reversed_by_id is not None) == t.reversed


async def _run_history(
    url: str, opening: list[tuple[str, int, int | None]], ops: list[Transfer | Expense | Settle]
) -> None:
    db = await _open(url)
    try:
        model = await _setup(db, opening)
        ledger = LedgerService(UnitOfWork(db))
        for op in ops:
            # Every refusal is one the model expects: a transfer from an account to itself, a
            # limit, a reversal of a reversal or of a reversed transaction.
            if isinstance(op, Settle):
                await _settle(db, ledger, model, op)
            else:
                await _record(db, ledger, model, op)
            await _check(db, model)
        await _check_transactions(db, ledger, model)
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
