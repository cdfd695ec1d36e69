"""Row-level security, the second wall: a unit of work sees and writes only the rows of the
user it runs for, even through a query that forgets its user condition."""

import uuid
from datetime import date

import asyncpg
import pytest

from service.db.unit_of_work import UnitOfWork, Work
from service.domain.access import ANONYMOUS, Principal, Role
from service.domain.audit import Caller
from service.domain.keys import MemberKey, UserKey
from service.domain.members import NewMember
from service.domain.models import AccountType, NewAccount, NewUser
from service.services.accounts import AccountService
from service.services.users import UserService

ADMIN = Caller(ANONYMOUS)


async def _user_with_accounts(database, count: int) -> UserKey:
    owner = f"person-{uuid.uuid4()}"
    user = await UserService(UnitOfWork(database)).create(
        NewUser("Rows", ""), caller=Caller(Principal(owner))
    )
    key = UserKey(user.user_id)
    accounts = AccountService(UnitOfWork(database), today=lambda: date(2024, 1, 1))
    for n in range(count):
        await accounts.create(key, NewAccount(f"A{n}", AccountType.ASSET, "EUR"), caller=ADMIN)
    return key


async def test_a_query_without_its_user_condition_sees_that_users_rows_only(database):
    mine = await _user_with_accounts(database, 2)
    await _user_with_accounts(database, 3)

    async def every_account(work: Work) -> set[str]:
        rows = await work._connection.fetch("SELECT user_id FROM accounts")
        return {r["user_id"] for r in rows}

    seen = await UnitOfWork(database).read(every_account, caller=ADMIN, user=mine)
    assert seen == {mine.user_id}


@pytest.mark.parametrize(
    "table",
    ["users", "accounts", "postings", "transactions", "members", "audit_events"],
)
async def test_every_tenant_table_shows_one_user(database, table):
    mine = await _user_with_accounts(database, 1)
    await _user_with_accounts(database, 1)

    async def owners(work: Work) -> set[str]:
        rows = await work._connection.fetch(f"SELECT DISTINCT user_id FROM {table}")
        return {r["user_id"] for r in rows}

    assert await UnitOfWork(database).read(owners, caller=ADMIN, user=mine) <= {mine.user_id}


async def test_a_write_for_another_user_is_refused(database):
    mine = await _user_with_accounts(database, 0)
    theirs = await _user_with_accounts(database, 0)

    async def add_member_to_theirs(work: Work) -> None:
        key = MemberKey(theirs.user_id, str(uuid.uuid4()))
        await work.members.insert(key, NewMember("intruder", Role.OWNER))

    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await UnitOfWork(database).run(add_member_to_theirs, caller=ADMIN, user=mine)


async def test_every_table_with_a_user_id_has_row_security(database):
    async with database.connection() as connection:
        unprotected = await connection.fetch(
            """
            SELECT c.relname
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relkind = 'r'
              AND EXISTS (SELECT 1 FROM pg_attribute a
                          WHERE a.attrelid = c.oid AND a.attname = 'user_id')
              AND NOT (c.relrowsecurity
                       AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid))
            """
        )
    assert [r["relname"] for r in unprotected] == []
