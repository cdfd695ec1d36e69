"""The unit of work against a real PostgreSQL: one transaction, retries, request ids."""

import asyncio
import uuid

import asyncpg
import pytest

from service.db.connections import ConnectionLost
from service.db.unit_of_work import UnitOfWork, Work
from service.domain.access import ANONYMOUS
from service.domain.audit import Caller
from service.domain.errors import Aborted, InvalidArgument, Unavailable
from service.domain.keys import UserKey

CALLER = Caller(ANONYMOUS)


async def _insert_user(work: Work, user_id: str) -> None:
    await work._connection.execute(
        "INSERT INTO users (user_id, display_name) VALUES ($1, 'x')", user_id
    )


async def _count(database, user_id: str) -> int:
    async with database.connection() as connection:
        found: int = await connection.fetchval(
            "SELECT count(*) FROM users WHERE user_id = $1", user_id
        )
    return found


def _user_id() -> str:
    return f"uow-{uuid.uuid4().hex[:8]}"


class TestRun:
    async def test_commits_what_the_work_wrote(self, database):
        user_id = _user_id()
        await UnitOfWork(database).run(lambda w: _insert_user(w, user_id), caller=CALLER, user=None)
        assert await _count(database, user_id) == 1

    async def test_rolls_back_when_the_work_raises(self, database):
        user_id = _user_id()

        async def insert_then_fail(work: Work) -> None:
            await _insert_user(work, user_id)
            raise RuntimeError("abort")

        with pytest.raises(RuntimeError):
            await UnitOfWork(database).run(insert_then_fail, caller=CALLER, user=None)
        assert await _count(database, user_id) == 0

    async def test_rolls_back_when_cancelled(self, database):
        user_id = _user_id()
        inserted = asyncio.Event()

        async def insert_then_wait(work: Work) -> None:
            await _insert_user(work, user_id)
            inserted.set()
            await asyncio.sleep(60)

        task = asyncio.ensure_future(
            UnitOfWork(database).run(insert_then_wait, caller=CALLER, user=None)
        )
        await inserted.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await _count(database, user_id) == 0

    async def test_runs_again_after_a_conflict_and_writes_once(self, database):
        user_id = _user_id()
        attempts = []

        async def conflict_once(work: Work) -> str:
            await _insert_user(work, user_id)
            attempts.append(1)
            if len(attempts) == 1:
                raise asyncpg.SerializationError("could not serialize access")
            return "done"

        assert await UnitOfWork(database).run(conflict_once, caller=CALLER, user=None) == "done"
        assert len(attempts) == 2
        assert await _count(database, user_id) == 1

    async def test_persisting_conflicts_are_aborted(self, database):
        attempts = []

        async def always_conflict(work: Work) -> None:
            attempts.append(1)
            raise asyncpg.DeadlockDetectedError("deadlock detected")

        with pytest.raises(Aborted):
            await UnitOfWork(database, attempts=3).run(always_conflict, caller=CALLER, user=None)
        assert len(attempts) == 3

    async def test_runs_again_after_the_connection_is_lost_before_commit(self, database):
        user_id = _user_id()
        attempts = []

        async def lose_connection_once(work: Work) -> None:
            await _insert_user(work, user_id)
            attempts.append(1)
            if len(attempts) == 1:
                pid = await work._connection.fetchval("SELECT pg_backend_pid()")
                async with database.connection() as other:
                    await other.execute("SELECT pg_terminate_backend($1)", pid)
                await work._connection.execute("SELECT 1")

        await UnitOfWork(database).run(lose_connection_once, caller=CALLER, user=None)
        assert len(attempts) == 2
        assert await _count(database, user_id) == 1

    async def test_a_database_that_stays_unreachable_is_unavailable(self, database):
        attempts = []

        async def unreachable(work: Work) -> None:
            attempts.append(1)
            raise ConnectionLost

        with pytest.raises(Unavailable):
            await UnitOfWork(database, attempts=2).run(unreachable, caller=CALLER, user=None)
        assert len(attempts) == 2


class TestClaim:
    async def _user(self, database) -> UserKey:
        user_id = _user_id()
        await UnitOfWork(database).run(lambda w: _insert_user(w, user_id), caller=CALLER, user=None)
        return UserKey(user_id)

    async def test_a_retry_finds_the_first_result(self, database):
        owner = await self._user(database)
        caller = Caller(ANONYMOUS, uuid.uuid4())
        uow = UnitOfWork(database)

        async def claim(result_id: str) -> str | None:
            return await uow.run(
                lambda w: w.claim(owner, "create", {"a": 1}, result_id=result_id),
                caller=caller,
                user=owner,
            )

        assert await claim("first") is None
        assert await claim("second") == "first"

    async def test_a_reuse_for_another_request_is_rejected(self, database):
        owner = await self._user(database)
        caller = Caller(ANONYMOUS, uuid.uuid4())
        uow = UnitOfWork(database)
        await uow.run(
            lambda w: w.claim(owner, "create", {"a": 1}, result_id="x"), caller=caller, user=owner
        )
        with pytest.raises(InvalidArgument) as caught:
            await uow.run(
                lambda w: w.claim(owner, "create", {"a": 2}, result_id="y"),
                caller=caller,
                user=owner,
            )
        assert [v.field for v in caught.value.violations] == ["request_id"]

    async def test_a_claim_rolls_back_with_its_work(self, database):
        owner = await self._user(database)
        caller = Caller(ANONYMOUS, uuid.uuid4())
        uow = UnitOfWork(database)

        async def claim_then_fail(work: Work) -> None:
            await work.claim(owner, "create", {"a": 1}, result_id="lost")
            raise RuntimeError("abort")

        with pytest.raises(RuntimeError):
            await uow.run(claim_then_fail, caller=caller, user=owner)
        again = await uow.run(
            lambda w: w.claim(owner, "create", {"a": 1}, result_id="kept"),
            caller=caller,
            user=owner,
        )
        assert again is None

    async def test_without_a_request_id_nothing_is_claimed(self, database):
        owner = await self._user(database)
        uow = UnitOfWork(database)

        async def claim(result_id: str) -> str | None:
            return await uow.run(
                lambda w: w.claim(owner, "create", {}, result_id=result_id),
                caller=CALLER,
                user=owner,
            )

        assert [await claim("a"), await claim("b")] == [None, None]


class TestRetryCounts:
    async def test_each_retry_is_counted_by_its_cause(self, database):
        uow = UnitOfWork(database)
        attempts = []

        async def deadlock_once(work: Work) -> None:
            attempts.append(1)
            if len(attempts) == 1:
                raise asyncpg.DeadlockDetectedError("deadlock detected")

        await uow.run(deadlock_once, caller=CALLER, user=None)
        assert uow.retries == {"DeadlockDetectedError": 1}
