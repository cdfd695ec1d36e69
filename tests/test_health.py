"""Health when the database hangs rather than fails, and when a check itself goes wrong."""

import asyncio
import logging
import os
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2_grpc

from service.db.database import Database
from service.db.embedded import pgserver
from service.server import build_app
from tests.conftest import make_settings
from tests.helpers import NOT_SERVING, SERVING, wait_for_status


def postgres_processes(pgdata: Path) -> list[int]:
    """The postmaster of `pgdata` and every process it started (backends, checkpointer...)."""
    postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # The fields after the command name, which is in parentheses: state, then ppid.
            if int(stat.rsplit(")", 1)[1].split()[1]) == postmaster:
                children.append(int(entry.name))
    return [postmaster, *children]


@contextmanager
def frozen(pgdata: Path) -> Iterator[None]:
    """PostgreSQL stopped with SIGSTOP for the duration of the block: it neither answers nor
    closes connections, as when its host hangs. Always resumed with SIGCONT."""
    stopped = []
    try:
        for pid in postgres_processes(pgdata):
            os.kill(pid, signal.SIGSTOP)
            stopped.append(pid)
        yield
    finally:
        for pid in stopped:
            os.kill(pid, signal.SIGCONT)


class TestHealthOfAHungDatabase:
    async def test_not_serving_while_the_database_is_frozen_and_back_after(self):
        with tempfile.TemporaryDirectory(prefix="finance-tracker-frozen-") as tmp:
            server = pgserver.get_server(Path(tmp) / "pgdata", cleanup_mode="delete")
            database = await Database.connect(server.get_uri(), min_size=2, max_size=4)
            app = build_app(make_settings(server.get_uri()), database)
            await app.start()
            try:
                async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
                    health = health_pb2_grpc.HealthStub(channel)
                    await wait_for_status(health, SERVING)
                    with frozen(server.pgdata):
                        await wait_for_status(health, NOT_SERVING)
                        await wait_for_status(health, NOT_SERVING, "finance.v1.UserService")
                    await wait_for_status(health, SERVING)
            finally:
                await app.stop(grace=1)
                await database.close(timeout=1)
                server.cleanup()


class TestHealthCheckFailures:
    async def test_a_failing_check_reports_not_serving_and_checks_go_on(self, database_url, caplog):
        database = await Database.connect(database_url, min_size=1, max_size=2)
        app = build_app(make_settings(database_url), database)
        await app.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
                health = health_pb2_grpc.HealthStub(channel)
                await wait_for_status(health, SERVING)
                with caplog.at_level(logging.ERROR, logger="service.health"):
                    # Pinging a closed database is an error the check does not expect.
                    await database.close()
                    await wait_for_status(health, NOT_SERVING)
                    async with asyncio.timeout(10):
                        while len(failures(caplog)) < 2:  # the checks go on
                            await asyncio.sleep(0.05)
                assert failures(caplog)[0].exc_info is not None
        finally:
            await app.stop(grace=1)


def failures(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if "health check failed" in r.getMessage()]
