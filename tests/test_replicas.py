"""Two server processes over one database, as stateless replicas behind a load balancer: a
request sent to both at once writes once, and transfers through both reconcile exactly."""

import asyncio
import os
import random
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from finance.v1 import transaction_service_pb2 as tpb
from grpc_health.v1 import health_pb2, health_pb2_grpc

from service.db.unit_of_work import UnitOfWork
from service.services.ledger import LedgerService
from tests.builders import day, leg
from tests.pgbouncer import free_port
from tests.workload import Clients, Ledger

pytestmark = pytest.mark.slow


async def _serving(process: asyncio.subprocess.Process, channel: grpc.aio.Channel) -> None:
    """Wait until the server of `process` answers SERVING."""
    stub = health_pb2_grpc.HealthStub(channel)
    async with asyncio.timeout(60):
        while process.returncode is None:
            try:
                # The stub sets Check in __init__; types-grpcio-health-checking does not declare it.
                response = await stub.Check(  # type: ignore[attr-defined]
                    health_pb2.HealthCheckRequest(), timeout=1
                )
                if response.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.aio.AioRpcError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"the server exited with status {process.returncode}")


async def _serve(port: int, database_url: str, cwd: Path) -> asyncio.subprocess.Process:
    """A `finance-tracker serve` process on `port` over `database_url`."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "service",
        "serve",
        cwd=cwd,
        env={
            **os.environ,
            "FINANCE_TRACKER_DATABASE_URL": database_url,
            "FINANCE_TRACKER_HOST": "127.0.0.1",
            "FINANCE_TRACKER_PORT": str(port),
            "FINANCE_TRACKER_DB_POOL_MAX_SIZE": "6",
            "FINANCE_TRACKER_LOG_LEVEL": "WARNING",
        },
    )


@pytest.fixture(scope="module")
async def replicas(database, database_url, tmp_path_factory) -> AsyncIterator[list[Clients]]:
    """Two `finance-tracker serve` processes on ports of their own over the test database."""
    cwd: Path = tmp_path_factory.mktemp("replicas")  # no .env of the developer's
    ports = [free_port(), free_port()]
    processes = [await _serve(port, database_url, cwd) for port in ports]
    channels = [grpc.aio.insecure_channel(f"127.0.0.1:{port}") for port in ports]
    try:
        await asyncio.gather(*(_serving(p, c) for p, c in zip(processes, channels, strict=True)))
        yield [Clients.of(channel) for channel in channels]
    finally:
        for channel in channels:
            await channel.close()
        for process in processes:
            if process.returncode is None:
                process.terminate()
        for process in processes:
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                process.kill()
                await process.wait()


class TestTheSameRequestIdSentToBothAtOnce:
    async def test_transfer_funds_writes_once_and_both_answer_it(self, replicas):
        a, b = replicas
        ledger = await Ledger.open(a)
        rng = random.Random(7)
        for _ in range(10):
            request = ledger.transfer(rng, source="hot")
            first, second = await asyncio.gather(
                a.transactions.TransferFunds(request), b.transactions.TransferFunds(request)
            )
            assert first == second
            ledger.note(request.request_id, ledger.move_of(request), first.name)
        await ledger.check_reconciled(replicas)

    async def test_create_transaction_writes_once_and_both_answer_it(self, replicas):
        a, b = replicas
        ledger = await Ledger.open(a)
        request = tpb.CreateTransactionRequest(
            parent=ledger.user_name,
            transaction=tpb.Transaction(
                booking_date=day(1, 3),
                postings=[leg(ledger.accounts["hot"], -25), leg(ledger.accounts["a"], 25)],
            ),
            request_id=str(uuid.uuid4()),
        )
        first, second = await asyncio.gather(
            a.transactions.CreateTransaction(request), b.transactions.CreateTransaction(request)
        )
        assert first == second
        ledger.note(request.request_id, ("hot", "a", 25), first.name)
        await ledger.check_reconciled(replicas)


async def test_concurrent_transfers_through_both_reconcile_exactly(replicas, database):
    ledger = await Ledger.open(replicas[0])
    await ledger.run(replicas, clients=8, transfers=15, seed=20261202)
    await ledger.check_reconciled(replicas)
    assert await LedgerService(UnitOfWork(database)).verify() == []
