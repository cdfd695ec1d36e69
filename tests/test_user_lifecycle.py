"""Every change is audited, users included; a user is deleted once empty, or erased with
everything it has (AIP-135 `force`), leaving one audit event that says who did it."""

import grpc
import pytest
from finance.v1 import audit_service_pb2 as aupb
from finance.v1 import category_service_pb2 as cpb
from finance.v1 import exchange_rate_service_pb2 as xpb
from finance.v1 import payee_service_pb2 as ppb
from finance.v1 import transaction_service_pb2 as tpb
from finance.v1 import user_service_pb2 as upb
from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2
from google.type import decimal_pb2

from service.db.unit_of_work import UnitOfWork
from service.domain import catalog_rules
from service.domain.errors import FailedPrecondition
from service.domain.keys import UserKey
from service.services.ledger import LedgerService
from tests.builders import create_category, create_payee, day, leg, money
from tests.helpers import rpc_error, unpack

ACTOR = (("x-actor", "ops:erin"),)


async def _events(audit, user: upb.User, resource: str = "") -> list[aupb.AuditEvent]:
    request = aupb.ListAuditEventsRequest(parent=user.name, page_size=1000)
    if resource:
        request.filter = f'resource = "{resource}"'
    return list((await audit.ListAuditEvents(request)).audit_events)


class TestEveryChangeIsAudited:
    async def test_users_categories_and_payees_are_audited_as_the_api_shows_them(
        self, users, categories, payees, audit
    ):
        user = await users.CreateUser(
            upb.CreateUserRequest(user=upb.User(display_name="Dora")), metadata=ACTOR
        )
        await users.UpdateUser(
            upb.UpdateUserRequest(
                user=upb.User(name=user.name, display_name="Dora M."),
                update_mask=field_mask_pb2.FieldMask(paths=["display_name"]),
            ),
            metadata=ACTOR,
        )
        food = await create_category(categories, user.name)
        shop = await create_payee(payees, user.name, "Shop")
        await payees.DeletePayee(ppb.DeletePayeeRequest(name=shop.name), metadata=ACTOR)
        await categories.DeleteCategory(cpb.DeleteCategoryRequest(name=food.name))

        events = await _events(audit, user)
        seen = [(e.resource, e.action, e.actor_note) for e in events]
        assert seen == [
            (user.name, "create", "ops:erin"),
            (user.name, "update", "ops:erin"),
            (food.name, "create", ""),
            (shop.name, "create", ""),
            (shop.name, "delete", "ops:erin"),
            (food.name, "delete", ""),
        ]
        # Without authentication every change is the anonymous principal's.
        assert {e.actor for e in events} == {"anonymous"}
        renamed = (await _events(audit, user, user.name))[1]
        assert (renamed.before["display_name"], renamed.after["display_name"]) == (
            "Dora",
            "Dora M.",
        )
        assert renamed.after["name"] == user.name


class TestDeleteUser:
    async def test_a_user_with_only_its_history_is_deleted_and_leaves_one_event(self, users, audit):
        user = await users.CreateUser(upb.CreateUserRequest(user=upb.User(display_name="Eve")))
        await users.DeleteUser(upb.DeleteUserRequest(name=user.name), metadata=ACTOR)
        await rpc_error(
            users.GetUser(upb.GetUserRequest(name=user.name)), grpc.StatusCode.NOT_FOUND
        )
        [event] = await _events(audit, user)
        assert (event.resource, event.action, event.actor_note) == (user.name, "delete", "ops:erin")
        assert not event.HasField("before")
        assert not event.HasField("after")

    async def test_without_force_it_names_what_is_left(self, users, categories, payees, user):
        await create_category(categories, user.name)
        await create_payee(payees, user.name, "Shop")
        await create_payee(payees, user.name, "Bakery")
        error = await rpc_error(
            users.DeleteUser(upb.DeleteUserRequest(name=user.name)),
            grpc.StatusCode.FAILED_PRECONDITION,
        )
        violation = unpack(error, error_details_pb2.PreconditionFailure).violations[0]
        assert violation.type == "USER_NOT_EMPTY"
        assert violation.description.startswith("the user still has 1 category, 2 payees;")
        await users.GetUser(upb.GetUserRequest(name=user.name))

    async def test_force_erases_the_user_and_everything_it_has(
        self, users, books, categories, transactions, audit, database, exchange_rates
    ):
        food = await create_category(categories, books.user.name)
        await create_category(categories, books.user.name, "Snacks", under=food.name)
        checking = await books.account(opening_balance=money(100))
        savings = await books.account("Savings")
        moved = await books.create(leg(checking, -5), leg(savings, 5), description="rent")
        await transactions.ReverseTransaction(tpb.ReverseTransactionRequest(name=moved.name))
        await transactions.RecordExpense(
            tpb.RecordExpenseRequest(
                parent=books.user.name,
                account=checking.name,
                amount=money(1),
                category=food.name,
                booking_date=day(3),
            )
        )
        await exchange_rates.CreateExchangeRate(
            xpb.CreateExchangeRateRequest(
                parent=books.user.name,
                exchange_rate=xpb.ExchangeRate(
                    base_currency_code="EUR",
                    quote_currency_code="USD",
                    rate_date=day(3),
                    rate=decimal_pb2.Decimal(value="1.1"),
                ),
            )
        )
        await users.DeleteUser(
            upb.DeleteUserRequest(name=books.user.name, force=True), metadata=ACTOR
        )

        await rpc_error(
            users.GetUser(upb.GetUserRequest(name=books.user.name)), grpc.StatusCode.NOT_FOUND
        )
        [event] = await _events(audit, books.user)
        assert (event.action, event.actor_note) == ("erase", "ops:erin")
        assert not event.HasField("before")
        async with database.connection() as connection:
            # Every table that holds user records, as the catalog lists them: a table added
            # later is erased too.
            tables = await connection.fetch(
                "SELECT table_name FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND column_name = 'user_id'"
                " AND table_name NOT IN ('users', 'audit_events')"
            )
            assert len(tables) >= 7
            for row in tables:
                table = row["table_name"]
                left = await connection.fetchval(
                    f'SELECT count(*) FROM "{table}" WHERE user_id = $1',
                    books.user.name.removeprefix("users/"),
                )
                assert left == 0, table
        assert await LedgerService(UnitOfWork(database)).verify() == []


def test_what_is_left_is_named_in_the_singular_for_one_of_a_kind():
    with pytest.raises(FailedPrecondition) as caught:
        catalog_rules.check_user_deletable(
            UserKey("u"), {"categories": 1, "statements": 1, "exchange rates": 2, "rules": 0}
        )
    assert caught.value.violation.description.startswith(
        "the user still has 1 category, 1 statement, 2 exchange rates;"
    )
