"""Many clients moving money among a few accounts at once, through real gRPC channels."""

import asyncio
import random
import uuid
from collections import Counter
from typing import Any

import asyncpg
import grpc
import pytest
from finance.v1 import account_service_pb2 as apb
from finance.v1 import transaction_service_pb2 as tpb
from finance.v1 import transaction_service_pb2_grpc

from tests.builders import create_account, day, money

CLIENTS = 8
TRANSFERS_PER_CLIENT = 25


async def test_concurrent_transfers_with_retries_reconcile_exactly(
    app, accounts, transactions, user
):
    opening = {"hot": 5_000, "a": 300, "b": 300, "c": 300}
    created = {}
    for name, units in opening.items():
        created[name] = await create_account(
            accounts,
            user.name,
            display_name=name,
            opening_balance=money(units),
            credit_limit=money(0),
        )
    rng = random.Random(20241125)
    moved: dict[str, tuple[str, str, int]] = {}
    names: dict[str, set[str]] = {}
    codes: Counter[grpc.StatusCode] = Counter()

    async def client(stub: Any, seed: int) -> None:
        own = random.Random(seed)
        for _ in range(TRANSFERS_PER_CLIENT):
            source, target = own.sample(["hot", "hot", "a", "b", "c"], 2)
            if source == target:
                continue
            units = own.randint(1, 200)
            request = tpb.TransferFundsRequest(
                parent=user.name,
                from_account=created[source].name,
                to_account=created[target].name,
                amount=money(units),
                booking_date=day(1, 3),
                request_id=str(uuid.uuid4()),
            )
            # A third of the calls are sent twice at once, as a client retrying a timeout would.
            attempts = 2 if own.random() < 0.33 else 1
            results = await asyncio.gather(
                *(stub.TransferFunds(request) for _ in range(attempts)), return_exceptions=True
            )
            for result in results:
                if isinstance(result, grpc.aio.AioRpcError):
                    codes[result.code()] += 1
                    continue
                assert isinstance(result, tpb.Transaction)
                codes[grpc.StatusCode.OK] += 1
                moved[request.request_id] = (source, target, units)
                names.setdefault(request.request_id, set()).add(result.name)

    channels = [grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") for _ in range(4)]
    try:
        stubs = [transaction_service_pb2_grpc.TransactionServiceStub(c) for c in channels]
        await asyncio.gather(
            *(client(stubs[i % len(stubs)], rng.randint(0, 10**9)) for i in range(CLIENTS))
        )
    finally:
        for own_channel in channels:
            await own_channel.close()

    assert set(codes) <= {grpc.StatusCode.OK, grpc.StatusCode.FAILED_PRECONDITION}, codes
    assert codes[grpc.StatusCode.OK] > CLIENTS * TRANSFERS_PER_CLIENT // 2
    # A retried request was recorded once: both answers name the same transaction.
    assert all(len(found) == 1 for found in names.values())

    expected = dict(opening)
    for source, target, units in moved.values():
        expected[source] -= units
        expected[target] += units
    for name, account in created.items():
        got = await accounts.GetAccount(apb.GetAccountRequest(name=account.name))
        assert got.balance.units == expected[name], name
        assert got.balance.units >= 0
    listed = await transactions.ListTransactions(
        tpb.ListTransactionsRequest(
            parent=user.name, filter='booking_date = "2024-03-01"', page_size=1000
        )
    )
    assert len(listed.transactions) == len(moved)


async def test_opposite_transfers_at_once_never_deadlock(app, accounts, transactions, user):
    a, b = [await create_account(accounts, user.name, display_name=name) for name in ("A", "B")]
    deadlocks = app.uow.retries["DeadlockDetectedError"]

    def transfer(source: apb.Account, target: apb.Account) -> tpb.TransferFundsRequest:
        return tpb.TransferFundsRequest(
            parent=user.name,
            from_account=source.name,
            to_account=target.name,
            amount=money(1),
            booking_date=day(4, 3),
        )

    channels = [grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") for _ in range(4)]
    try:
        stubs = [transaction_service_pb2_grpc.TransactionServiceStub(c) for c in channels]
        await asyncio.gather(
            *(
                stubs[i % len(stubs)].TransferFunds(transfer(a, b) if i % 2 else transfer(b, a))
                for i in range(80)
            )
        )
    finally:
        for own_channel in channels:
            await own_channel.close()

    # Every transaction locks its accounts in the same (key) order, so none waits for another
    # that waits for it: a deadlock, even one retried away, means the order is not kept.
    assert app.uow.retries["DeadlockDetectedError"] - deadlocks == 0
    for account in (a, b):
        got = await accounts.GetAccount(apb.GetAccountRequest(name=account.name))
        assert got.balance.units == 0


async def test_racing_spends_never_break_the_limit(transactions, accounts, user):
    account = await create_account(
        accounts,
        user.name,
        display_name="Wallet",
        opening_balance=money(100),
        credit_limit=money(0),
    )

    async def spend() -> grpc.StatusCode:
        try:
            await transactions.RecordExpense(
                tpb.RecordExpenseRequest(
                    parent=user.name,
                    account=account.name,
                    amount=money(7),
                    booking_date=day(2, 3),
                )
            )
        except grpc.aio.AioRpcError as error:
            return error.code()
        return grpc.StatusCode.OK

    codes = Counter(await asyncio.gather(*(spend() for _ in range(30))))
    assert codes == {grpc.StatusCode.OK: 14, grpc.StatusCode.FAILED_PRECONDITION: 16}
    final = await accounts.GetAccount(apb.GetAccountRequest(name=account.name))
    assert final.balance.units == 2


async def test_a_cancelled_transfer_leaves_nothing_behind(
    transactions, accounts, user, database_url
):
    source, target = [
        await create_account(accounts, user.name, display_name=name, opening_balance=money(50))
        for name in ("from", "to")
    ]
    request = tpb.TransferFundsRequest(
        parent=user.name,
        from_account=source.name,
        to_account=target.name,
        amount=money(20),
        booking_date=day(3, 3),
        request_id=str(uuid.uuid4()),
    )
    # Another session holds the target's row: the transfer gets as far as locking it, mid-
    # transaction, when its deadline passes.
    blocker = await asyncpg.connect(database_url)
    try:
        async with blocker.transaction():
            await blocker.execute(
                "SELECT 1 FROM accounts WHERE account_id = $1 FOR UPDATE",
                target.name.rsplit("/", 1)[1],
            )
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await transactions.TransferFunds(request, timeout=0.5)
            assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    finally:
        await blocker.close()
    for account in (source, target):
        got = await accounts.GetAccount(apb.GetAccountRequest(name=account.name))
        assert got.balance.units == 50
    # The request id was not used up by the cancelled attempt: the retry does the transfer.
    done = await transactions.TransferFunds(request)
    assert done.state == tpb.Transaction.STATE_POSTED
    got = await accounts.GetAccount(apb.GetAccountRequest(name=target.name))
    assert got.balance.units == 70
