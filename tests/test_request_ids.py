"""One request_id names one request of a user, whatever the method (AIP-155)."""

import uuid
from datetime import date

import asyncpg
from finance.v1 import account_service_pb2 as apb
from finance.v1 import category_service_pb2 as cpb
from finance.v1 import payee_service_pb2 as ppb
from finance.v1 import user_service_pb2 as upb

from service.db.database import Database
from service.db.migrate import MIGRATION_LOCK_KEY, load_migrations
from service.db.unit_of_work import UnitOfWork
from service.domain.access import ANONYMOUS
from service.domain.audit import Caller
from service.domain.keys import UserKey
from service.domain.models import AccountType, NewAccount
from service.repositories.idempotency import fingerprint
from service.services.accounts import AccountService
from tests.conftest import with_database
from tests.helpers import invalid_fields


async def test_a_request_id_reused_for_another_method_is_rejected(payees, categories, user):
    request_id = str(uuid.uuid4())
    await payees.CreatePayee(
        ppb.CreatePayeeRequest(
            parent=user.name, payee=ppb.Payee(display_name="Shop"), request_id=request_id
        )
    )
    violations = await invalid_fields(
        categories.CreateCategory(
            cpb.CreateCategoryRequest(
                parent=user.name,
                category=cpb.Category(display_name="Food", kind=cpb.Category.KIND_EXPENSE),
                request_id=request_id,
            )
        )
    )
    assert set(violations) == {"request_id"}
    listed = await categories.ListCategories(cpb.ListCategoriesRequest(parent=user.name))
    assert list(listed.categories) == []


async def test_the_same_request_id_of_two_users_is_two_requests(accounts, users, user):
    other = await users.CreateUser(upb.CreateUserRequest(user=upb.User(display_name="Other")))
    request_id = str(uuid.uuid4())
    made = []
    for owner in (user, other):
        made.append(
            await accounts.CreateAccount(
                apb.CreateAccountRequest(
                    parent=owner.name,
                    account=apb.Account(
                        display_name="Cash", type=apb.Account.TYPE_ASSET, currency_code="EUR"
                    ),
                    request_id=request_id,
                )
            )
        )
    assert made[0].name.startswith(user.name + "/")
    assert made[1].name.startswith(other.name + "/")


async def test_a_create_of_before_the_claims_table_is_still_found_on_retry(server_url):
    """Accounts created before migration 0004 kept their request_id on their row; a retry
    after the upgrade returns that account instead of creating another."""
    name = f"finance_claims_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = with_database(server_url, name)
        connection = await asyncpg.connect(url)
        try:
            await _apply_up_to(connection, 3)
            owner, new, request_id = UserKey("early-user"), _new_account(), uuid.uuid4()
            await connection.execute(
                "INSERT INTO users (user_id, display_name) VALUES ($1, 'Early')", owner.user_id
            )
            account_id = await connection.fetchval(
                "INSERT INTO accounts (user_id, display_name, type, currency_code, balance,"
                " create_request_id, create_request_hash) VALUES ($1, $2, $3, $4, 0, $5, $6)"
                " RETURNING account_id",
                owner.user_id,
                new.display_name,
                new.type.value,
                new.currency_code,
                request_id,
                fingerprint(owner, new),
            )
        finally:
            await connection.close()
        database = await Database.connect(url, min_size=1, max_size=2)
        try:
            await database.migrate()
            service = AccountService(UnitOfWork(database), today=lambda: date(2024, 1, 1))
            again = await service.create(owner, new, caller=Caller(ANONYMOUS, request_id))
            assert again.account_id == account_id
        finally:
            await database.close()
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


def _new_account() -> NewAccount:
    return NewAccount("Cash", AccountType.ASSET, "EUR")


async def _apply_up_to(connection: asyncpg.Connection, last: int) -> None:
    """Apply migrations 1 to `last` as the migration runner would have at that time."""
    await connection.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
    await connection.execute(
        "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now())"
    )
    for migration in load_migrations():
        if migration.version <= last:
            await connection.execute(migration.sql)
            await connection.execute(
                "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                migration.version,
                migration.name,
            )
    await connection.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)
