"""Server lifecycle: health follows the database, shutdown drains, deadlines cancel queries."""

import asyncio
import contextlib
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import grpc
import pytest
from finance.v1 import user_service_pb2, user_service_pb2_grpc
from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from service.db.database import Database
from service.db.embedded import pgserver
from service.server import build_app
from tests.conftest import make_settings
from tests.helpers import NOT_SERVING, SERVING, unpack, wait_for_status


def rename(user: user_service_pb2.User, display_name: str) -> user_service_pb2.UpdateUserRequest:
    return user_service_pb2.UpdateUserRequest(
        user=user_service_pb2.User(name=user.name, display_name=display_name),
        update_mask=field_mask_pb2.FieldMask(paths=["display_name"]),
    )


@contextlib.asynccontextmanager
async def user_row_locked(database_url: str, user: user_service_pb2.User) -> AsyncIterator[None]:
    """Hold a row lock on `user` from another connection for the duration of the block."""
    connection = await asyncpg.connect(database_url)
    try:
        async with connection.transaction():
            await connection.execute(
                "SELECT 1 FROM users WHERE user_id = $1 FOR UPDATE",
                user.name.removeprefix("users/"),
            )
            yield
    finally:
        await connection.close()


async def wait_for_blocked(database: Database, *, blocked: bool) -> None:
    async with asyncio.timeout(5):
        while (await blocked_queries(database) > 0) != blocked:
            await asyncio.sleep(0.05)


async def blocked_queries(database: Database) -> int:
    async with database.connection() as connection:
        count: int = await connection.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE application_name = 'finance-tracker' AND wait_event_type = 'Lock'"
        )
        return count


class TestHealth:
    async def test_serving_for_overall_and_each_service(self, health_stub):
        for service in ("", "finance.v1.UserService", "finance.v1.AccountService"):
            response = await health_stub.Check(health_pb2.HealthCheckRequest(service=service))
            assert response.status == SERVING

    async def test_not_serving_while_the_database_is_down_and_back_after(self):
        with tempfile.TemporaryDirectory(prefix="finance-tracker-health-") as tmp:
            server = pgserver.get_server(Path(tmp) / "pgdata", cleanup_mode="delete")
            url = server.get_uri()
            database = await Database.connect(url, min_size=2, max_size=4)
            await database.migrate()
            app = build_app(make_settings(url), database)
            await app.start()
            try:
                async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
                    health = health_pb2_grpc.HealthStub(channel)
                    users = user_service_pb2_grpc.UserServiceStub(channel)
                    await wait_for_status(health, SERVING)

                    await asyncio.to_thread(
                        pgserver.pg_ctl,  # type: ignore[attr-defined]  # pgserver defines it at import
                        ["-w", "-m", "fast", "stop"],
                        pgdata=server.pgdata,
                        user=server.system_user,
                    )
                    await wait_for_status(health, NOT_SERVING)
                    await wait_for_status(health, NOT_SERVING, "finance.v1.UserService")
                    with pytest.raises(grpc.aio.AioRpcError) as caught:
                        await users.GetUser(user_service_pb2.GetUserRequest(name="users/abcd"))
                    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
                    info = unpack(caught.value, error_details_pb2.ErrorInfo)
                    assert (info.reason, info.domain) == ("DATABASE_UNAVAILABLE", "finance-tracker")

                    await asyncio.to_thread(server.ensure_postgres_running)
                    await wait_for_status(health, SERVING)
                    created = await users.CreateUser(
                        user_service_pb2.CreateUserRequest(
                            user=user_service_pb2.User(display_name="Back")
                        )
                    )
                    assert created.display_name == "Back"
            finally:
                await app.stop(grace=1)
                await database.close()
                server.cleanup()


class TestGracefulShutdown:
    async def test_in_flight_rpc_completes_and_new_rpcs_are_refused(self, database, database_url):
        app = build_app(make_settings(database_url), database)
        await app.start()
        async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
            users = user_service_pb2_grpc.UserServiceStub(channel)
            user = await users.CreateUser(
                user_service_pb2.CreateUserRequest(user=user_service_pb2.User(display_name="Old"))
            )
            async with user_row_locked(database_url, user):
                in_flight = asyncio.ensure_future(users.UpdateUser(rename(user, "New")))
                await wait_for_blocked(database, blocked=True)
                stopping = asyncio.ensure_future(app.stop(grace=10))
                await asyncio.sleep(0.3)
                assert not stopping.done()
                async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as fresh:
                    with pytest.raises(grpc.aio.AioRpcError) as caught:
                        await user_service_pb2_grpc.UserServiceStub(fresh).GetUser(
                            user_service_pb2.GetUserRequest(name=user.name), timeout=2
                        )
                    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
            assert (await in_flight).display_name == "New"
            await stopping


class TestDeadlines:
    async def test_query_is_cancelled_when_the_deadline_passes(
        self, users, user, database, database_url
    ):
        async with user_row_locked(database_url, user):
            call = asyncio.ensure_future(users.UpdateUser(rename(user, "Too late"), timeout=1))
            await wait_for_blocked(database, blocked=True)
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await call
            assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
            # The lock is still held: only a cancelled statement stops waiting for it.
            await wait_for_blocked(database, blocked=False)
        current = await users.GetUser(user_service_pb2.GetUserRequest(name=user.name))
        assert current.display_name == user.display_name


class TestDatabaseFaults:
    async def kill_pool_backends(self, database_url: str) -> None:
        """Terminate every connection of the server's pool from outside, and wait until
        PostgreSQL has ended them (asyncpg #220/#385)."""
        admin = await asyncpg.connect(database_url)
        try:
            pids = await admin.fetch(
                "SELECT pg_terminate_backend(pid), pid FROM pg_stat_activity"
                " WHERE application_name = 'finance-tracker'"
            )
            assert pids
            async with asyncio.timeout(10):
                while await admin.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1::int[])",
                    [r["pid"] for r in pids],
                ):
                    await asyncio.sleep(0.05)
        finally:
            await admin.close()

    async def fill_pool(self, users, user) -> None:
        await asyncio.gather(
            *(users.GetUser(user_service_pb2.GetUserRequest(name=user.name)) for _ in range(20))
        )

    async def test_calls_succeed_once_killed_backends_are_gone(self, users, user, database_url):
        await self.fill_pool(users, user)
        await self.kill_pool_backends(database_url)
        await asyncio.sleep(0.2)  # the closed sockets reach the server's event loop
        for _ in range(12):
            got = await users.GetUser(user_service_pb2.GetUserRequest(name=user.name))
            assert got.name == user.name

    async def test_calls_racing_a_kill_are_ok_or_unavailable_never_internal(
        self, users, user, database_url
    ):
        await self.fill_pool(users, user)
        admin = await asyncpg.connect(database_url)
        try:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = 'finance-tracker'"
            )
        finally:
            await admin.close()

        async def get() -> grpc.StatusCode:
            try:
                await users.GetUser(user_service_pb2.GetUserRequest(name=user.name))
            except grpc.aio.AioRpcError as error:
                return error.code()
            return grpc.StatusCode.OK

        codes = set(await asyncio.gather(*(get() for _ in range(30))))
        assert codes <= {grpc.StatusCode.OK, grpc.StatusCode.UNAVAILABLE}, codes
        await asyncio.sleep(0.2)
        assert await get() == grpc.StatusCode.OK
