"""The service while its database fails under load: backends killed, PostgreSQL restarted.

Clients write (transfers, expenses, transactions, each with a request_id) and read through a
real gRPC server while the faults happen. A write answered UNAVAILABLE or ABORTED is sent again
with the same request_id until it is answered OK, as a well-behaved client does. Afterwards:
- every call was answered OK or with a retryable status, never INTERNAL or UNKNOWN;
- nothing was logged at ERROR (no traceback for these faults);
- every acknowledged write is there exactly once, and the balances add up to them;
- `verify` (what `finance-tracker verify` runs) finds nothing;
- the pool serves calls again.

Only the public gRPC API is used, apart from building the server as conftest does and running
verify, so that the test holds across refactors of the service's insides. The number of faults
hit varies from run to run; each test asserts that some did happen, so that it cannot pass
without faults.
"""

import asyncio
import logging
import random
import tempfile
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import grpc
import pytest
from finance.v1 import account_service_pb2 as apb
from finance.v1 import (
    account_service_pb2_grpc,
    transaction_service_pb2_grpc,
    user_service_pb2,
    user_service_pb2_grpc,
)
from finance.v1 import transaction_service_pb2 as tpb
from google.type import date_pb2, money_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from service.db.database import Database
from service.db.embedded import pgserver
from service.server import build_app, verify
from tests.conftest import make_settings, with_database

OK = grpc.StatusCode.OK
RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.ABORTED})
ALLOWED = RETRYABLE | {OK}
# A caller that sets a short deadline may also get DEADLINE_EXCEEDED: its own choice.
ALLOWED_IMPATIENT = ALLOWED | {grpc.StatusCode.DEADLINE_EXCEEDED}

OPENING_UNITS = 1_000_000
ACCOUNTS = 4
WRITERS = 6
READERS = 3
# Generous, so that no call of a patient client ends by its deadline; only a guard on hangs.
PATIENT_TIMEOUT = 20.0
# How long one write may take to get through, counting its retries.
WRITE_GIVE_UP_SECONDS = 30.0
# pgserver ships PostgreSQL's binaries in its package.
PG_BIN = Path(pgserver.__file__).parent / "pginstall" / "bin"
DAY = date_pb2.Date(year=2024, month=6, day=1)


def eur(units: int) -> money_pb2.Money:
    return money_pb2.Money(currency_code="EUR", units=units)


@dataclass
class Stubs:
    # The AsyncStub classes exist in the type stubs only.
    users: "user_service_pb2_grpc.UserServiceAsyncStub"
    accounts: "account_service_pb2_grpc.AccountServiceAsyncStub"
    transactions: "transaction_service_pb2_grpc.TransactionServiceAsyncStub"
    health: health_pb2_grpc.HealthStub

    @classmethod
    def over(cls, channel: grpc.aio.Channel) -> "Stubs":
        return cls(
            user_service_pb2_grpc.UserServiceStub(channel),
            account_service_pb2_grpc.AccountServiceStub(channel),
            transaction_service_pb2_grpc.TransactionServiceStub(channel),
            health_pb2_grpc.HealthStub(channel),
        )


@dataclass
class Write:
    """An acknowledged write: the transaction it made and what it did to each account."""

    name: str
    deltas: dict[str, int]


@dataclass
class Load:
    """What the clients saw."""

    codes: Counter[grpc.StatusCode] = field(default_factory=Counter)
    impatient_codes: Counter[grpc.StatusCode] = field(default_factory=Counter)
    writes: dict[str, Write] = field(default_factory=dict)  # by description, one per request
    failures: list[str] = field(default_factory=list)

    def record(self, code: grpc.StatusCode, *, impatient: bool) -> None:
        (self.impatient_codes if impatient else self.codes)[code] += 1


@asynccontextmanager
async def serving(url: str) -> AsyncIterator[Stubs]:
    """A migrated database pool at `url` and a gRPC server over it on a free port."""
    database = await Database.connect(url, min_size=2, max_size=8)
    await database.migrate()
    app = build_app(make_settings(url, health_check_interval_seconds=0.1), database)
    await app.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
            yield Stubs.over(channel)
    finally:
        await app.stop(grace=2)
        await database.close()


async def open_accounts(stubs: Stubs) -> tuple[str, list[str]]:
    """A new user with ACCOUNTS asset accounts holding OPENING_UNITS EUR each."""
    user = await stubs.users.CreateUser(
        user_service_pb2.CreateUserRequest(user=user_service_pb2.User(display_name="Faults"))
    )
    names = []
    for i in range(ACCOUNTS):
        account = await stubs.accounts.CreateAccount(
            apb.CreateAccountRequest(
                parent=user.name,
                account=apb.Account(
                    display_name=f"Account {i}",
                    type=apb.Account.TYPE_ASSET,
                    currency_code="EUR",
                    opening_balance=eur(OPENING_UNITS),
                ),
            )
        )
        names.append(account.name)
    return user.name, names


def next_write(
    stubs: Stubs, user: str, accounts: list[str], rng: random.Random, description: str
) -> tuple[Callable[..., Awaitable[tpb.Transaction]], Any, dict[str, int]]:
    """A random write: the method, its request (with a fresh request_id) and its effect."""
    units = rng.randint(1, 100)
    source, target = rng.sample(accounts, 2)
    request_id = str(uuid.uuid4())
    kind = rng.choice(("transfer", "expense", "create"))
    if kind == "transfer":
        request: Any = tpb.TransferFundsRequest(
            parent=user,
            from_account=source,
            to_account=target,
            amount=eur(units),
            booking_date=DAY,
            description=description,
            request_id=request_id,
        )
        return stubs.transactions.TransferFunds, request, {source: -units, target: units}
    if kind == "expense":
        request = tpb.RecordExpenseRequest(
            parent=user,
            account=source,
            amount=eur(units),
            booking_date=DAY,
            description=description,
            request_id=request_id,
        )
        return stubs.transactions.RecordExpense, request, {source: -units}
    request = tpb.CreateTransactionRequest(
        parent=user,
        transaction=tpb.Transaction(
            booking_date=DAY,
            description=description,
            postings=[
                tpb.Posting(account=source, amount=eur(-units)),
                tpb.Posting(account=target, amount=eur(units)),
            ],
        ),
        request_id=request_id,
    )
    return stubs.transactions.CreateTransaction, request, {source: -units, target: units}


async def writer(
    stubs: Stubs,
    user: str,
    accounts: list[str],
    load: Load,
    stop: asyncio.Event,
    seed: int,
    *,
    impatient: bool,
) -> None:
    """Write until `stop`, each write sent again with its request_id until it is answered OK.

    An impatient writer gives each first attempt a short deadline, so that some calls are
    cancelled in the middle of their queries (or of their COMMIT) by the server's deadline.
    """
    rng = random.Random(seed)
    sequence = 0
    while not stop.is_set():
        sequence += 1
        description = f"load {seed} {sequence}"
        method, request, deltas = next_write(stubs, user, accounts, rng, description)
        loop = asyncio.get_running_loop()
        give_up = loop.time() + WRITE_GIVE_UP_SECONDS
        attempt = 0
        while True:
            attempt += 1
            short = impatient and attempt == 1
            try:
                result = await method(
                    request, timeout=rng.uniform(0.01, 0.2) if short else PATIENT_TIMEOUT
                )
            except grpc.aio.AioRpcError as error:
                load.record(error.code(), impatient=short)
                retryable = RETRYABLE | ({grpc.StatusCode.DEADLINE_EXCEEDED} if short else set())
                if error.code() not in retryable:
                    load.failures.append(f"{description}: {error.code().name} {error.details()}")
                    return
                if loop.time() > give_up:
                    load.failures.append(f"{description}: not through in {attempt} attempts")
                    return
                await asyncio.sleep(rng.uniform(0.01, 0.05))
                continue
            load.record(OK, impatient=short)
            load.writes[description] = Write(result.name, deltas)
            break


async def reader(
    stubs: Stubs, user: str, accounts: list[str], load: Load, stop: asyncio.Event, seed: int
) -> None:
    """Read until `stop`; every third reader is impatient (short deadlines)."""
    rng = random.Random(seed)
    impatient = seed % 3 == 0
    while not stop.is_set():
        timeout = rng.uniform(0.005, 0.1) if impatient else PATIENT_TIMEOUT
        kind = rng.randrange(3)
        try:
            if kind == 0:
                name = rng.choice(accounts)
                await stubs.accounts.GetAccount(apb.GetAccountRequest(name=name), timeout=timeout)
            elif kind == 1:
                await stubs.transactions.ListTransactions(
                    tpb.ListTransactionsRequest(parent=user, page_size=20), timeout=timeout
                )
            else:
                await stubs.users.GetUser(
                    user_service_pb2.GetUserRequest(name=user), timeout=timeout
                )
        except grpc.aio.AioRpcError as error:
            load.record(error.code(), impatient=impatient)
            await asyncio.sleep(0.01)
        else:
            load.record(OK, impatient=impatient)


async def under_load(
    stubs: Stubs, faults: Callable[[], Awaitable[None]]
) -> tuple[Load, str, list[str]]:
    """Run writers and readers while `faults()` runs, then let every write get through."""
    user, accounts = await open_accounts(stubs)
    load = Load()
    stop = asyncio.Event()
    clients = [
        asyncio.create_task(
            writer(stubs, user, accounts, load, stop, seed, impatient=seed % 3 == 0)
        )
        for seed in range(WRITERS)
    ] + [
        asyncio.create_task(reader(stubs, user, accounts, load, stop, 100 + seed))
        for seed in range(READERS)
    ]
    try:
        await faults()
    finally:
        stop.set()
        await asyncio.gather(*clients)
    return load, user, accounts


async def list_all(stubs: Stubs, user: str) -> list[tpb.Transaction]:
    found: list[tpb.Transaction] = []
    token = ""
    while True:
        page = await stubs.transactions.ListTransactions(
            tpb.ListTransactionsRequest(parent=user, page_size=1000, page_token=token)
        )
        found.extend(page.transactions)
        token = page.next_page_token
        if not token:
            return found


async def wait_serving(stubs: Stubs) -> None:
    async with asyncio.timeout(15):
        while True:
            response = await stubs.health.Check(  # type: ignore[attr-defined]
                health_pb2.HealthCheckRequest()
            )
            if response.status == health_pb2.HealthCheckResponse.SERVING:
                return
            await asyncio.sleep(0.1)


def deadline_race(record: logging.LogRecord) -> bool:
    """Whether `record` is gRPC's own ERROR for an answer it could not send because the
    caller's deadline had passed (grpc/grpc#32551): the impatient clients cause that now and
    then with or without database faults; it is no error of the service's."""
    return record.name == "grpc._cython.cygrpc" and record.getMessage().startswith(
        "ExecuteBatchError raised in core by servicer method"
    )


async def check_outcome(
    stubs: Stubs, url: str, load: Load, user: str, accounts: list[str], caplog: Any
) -> None:
    """The assertions both tests share, on the load's statuses, the log and the ledger."""
    assert not load.failures, load.failures
    assert set(load.codes) <= ALLOWED, load.codes
    assert set(load.impatient_codes) <= ALLOWED_IMPATIENT, load.impatient_codes
    assert load.writes, "no write got through"

    await wait_serving(stubs)
    # The pool works again: a burst of calls, no retries, each answered OK.
    await asyncio.gather(
        *(
            stubs.accounts.GetAccount(apb.GetAccountRequest(name=name), timeout=10)
            for name in accounts * 5
        )
    )

    # Every acknowledged write is there once, with the name it was acknowledged with.
    listed = Counter(
        (t.description, t.name)
        for t in await list_all(stubs, user)
        if t.description.startswith("load ")
    )
    expected = Counter((d, w.name) for d, w in load.writes.items())
    assert listed == expected

    balances = dict.fromkeys(accounts, OPENING_UNITS)
    for write in load.writes.values():
        for account, units in write.deltas.items():
            balances[account] += units
    for account, units in balances.items():
        got = await stubs.accounts.GetAccount(apb.GetAccountRequest(name=account))
        assert got.balance.units == units, account

    assert await verify(make_settings(url)) == []

    errors = [r for r in caplog.records if r.levelno >= logging.ERROR and not deadline_race(r)]
    assert not errors, "\n".join(f"{r.name}: {r.getMessage()} {r.exc_text or ''}" for r in errors)


@pytest.fixture
async def own_database(server_url: str) -> AsyncIterator[str]:
    """A database of this test's own on the run's server, so that killing its backends
    touches no other test's connections."""
    name = f"finance_faults_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield with_database(server_url, name)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def test_backends_terminated_under_load(own_database: str, caplog: Any) -> None:
    caplog.set_level(logging.WARNING)
    killer = await asyncpg.connect(own_database)
    terminated = 0

    async def kill_backends() -> None:
        nonlocal terminated
        rng = random.Random(7)
        await asyncio.sleep(0.3)
        for _ in range(20):
            terminated += await killer.fetchval(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))"
                " FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            await asyncio.sleep(rng.uniform(0.1, 0.3))

    try:
        async with serving(own_database) as stubs:
            load, user, accounts = await under_load(stubs, kill_backends)
            assert terminated > 0
            await check_outcome(stubs, own_database, load, user, accounts, caplog)
    finally:
        await killer.close()


async def pg_ctl(server: Any, *args: str, check: bool = True) -> None:
    """Run pg_ctl on `server` (a pgserver instance) and wait for it; `check` asserts success.

    As root, pgserver runs PostgreSQL as a user of its own. `subprocess` can switch to that
    user only through fork() (no vfork), and in a process whose gRPC threads are busy, gRPC's
    fork handlers now and then crash the child (pg_ctl "died with SIGSEGV"). So the switch is
    left to runuser, and this process starts it without changing user.
    """
    command = [str(PG_BIN / "pg_ctl"), "-D", str(server.pgdata), "-w", *args]
    if server.system_user is not None:
        command = ["runuser", "-u", server.system_user, "--", *command]
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await process.communicate()
    assert process.returncode == 0 or not check, stderr.decode()


async def test_postgres_restarted_under_load(caplog: Any) -> None:
    caplog.set_level(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="finance-tracker-faults-") as tmp:
        server = pgserver.get_server(Path(tmp) / "pgdata", cleanup_mode="delete")
        try:
            url = server.get_uri()
            # Started again as pgserver started it: listening on the same socket (and port).
            socket_dir = parse_qs(urlsplit(url).query)["host"][0]
            start = ("-o", '-h ""', "-o", f"-k {socket_dir}", "-l", str(server.pgdata / "log"))

            async def restart_twice() -> None:
                for _ in range(2):
                    await asyncio.sleep(0.6)
                    await pg_ctl(server, "-m", "fast", "stop")
                    await asyncio.sleep(0.6)
                    await pg_ctl(server, *start, "start")
                await asyncio.sleep(0.6)

            async with serving(url) as stubs:
                load, user, accounts = await under_load(stubs, restart_twice)
                # Reads made while the server was down cannot have been answered OK.
                assert load.codes[grpc.StatusCode.UNAVAILABLE] > 0
                await check_outcome(stubs, url, load, user, accounts, caplog)
        finally:
            # Stopped here rather than by pgserver's cleanup, for the reason pg_ctl gives.
            await pg_ctl(server, "-m", "fast", "stop", check=False)
            server.cleanup()
