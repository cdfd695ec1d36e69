"""Services straight against the database, without gRPC in between."""

import uuid
from datetime import date, timedelta

import pytest

from service.api.filtering import parse_filter
from service.db.unit_of_work import UnitOfWork
from service.domain.access import ANONYMOUS
from service.domain.audit import Caller
from service.domain.errors import (
    AlreadyExists,
    EtagMismatch,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
)
from service.domain.keys import AccountKey, UserKey
from service.domain.listing import ListQuery, OrderKey
from service.domain.models import (
    AccountChanges,
    AccountState,
    AccountType,
    Money,
    NewAccount,
    NewUser,
    UserChanges,
)
from service.services.accounts import AccountService
from service.services.users import UserService

CALLER = Caller(ANONYMOUS)
DAY = date(2024, 5, 31)


@pytest.fixture
def user_service(database):
    return UserService(UnitOfWork(database))


@pytest.fixture
def account_service(database):
    return AccountService(UnitOfWork(database), today=lambda: DAY)


@pytest.fixture
async def owner(user_service) -> UserKey:
    user = await user_service.create(NewUser("Owner", "owner@example.org"), caller=CALLER)
    return UserKey(user.user_id)


class TestUserService:
    async def test_round_trips_a_user(self, user_service):
        user_id = f"repo-{uuid.uuid4().hex[:8]}"
        created = await user_service.create(NewUser("Repo", "", user_id), caller=CALLER)
        assert created.user_id == user_id
        assert created.revision > 0
        assert await user_service.get(UserKey(user_id), caller=CALLER) == created

    async def test_taken_id_raises_already_exists(self, user_service):
        user_id = f"dup-{uuid.uuid4().hex[:8]}"
        await user_service.create(NewUser("A", "", user_id), caller=CALLER)
        with pytest.raises(AlreadyExists):
            await user_service.create(NewUser("B", "", user_id), caller=CALLER)

    async def test_update_changes_revision_and_checks_it(self, user_service, owner):
        before = await user_service.get(owner, caller=CALLER)
        updated = await user_service.update(
            owner,
            UserChanges(email="x@example.org"),
            expected_revision=before.revision,
            caller=CALLER,
        )
        assert updated.revision > before.revision
        assert (updated.email, updated.display_name) == ("x@example.org", "Owner")
        with pytest.raises(EtagMismatch):
            await user_service.update(
                owner,
                UserChanges(email="y@example.org"),
                expected_revision=before.revision,
                caller=CALLER,
            )

    async def test_a_recreated_user_does_not_match_the_old_etag(self, user_service):
        user_id = f"again-{uuid.uuid4().hex[:8]}"
        first = await user_service.create(NewUser("First", "", user_id), caller=CALLER)
        await user_service.delete(
            UserKey(user_id), expected_revision=first.revision, force=False, caller=CALLER
        )
        second = await user_service.create(NewUser("Second", "", user_id), caller=CALLER)
        assert second.revision != first.revision
        with pytest.raises(EtagMismatch):
            await user_service.update(
                UserKey(user_id),
                UserChanges(email="z@example.org"),
                expected_revision=first.revision,
                caller=CALLER,
            )

    async def test_delete_missing_user_raises_not_found(self, user_service):
        with pytest.raises(NotFound):
            await user_service.delete(
                UserKey("missing-user"), expected_revision=None, force=False, caller=CALLER
            )


class TestAccountService:
    async def test_balance_starts_at_the_opening_balance(self, account_service, owner):
        account = await account_service.create(
            owner,
            NewAccount("Cash", AccountType.ASSET, "EUR", opening_balance=-250),
            caller=CALLER,
        )
        assert (account.balance, account.opening_balance) == (-250, -250)
        assert account.state is AccountState.ACTIVE

    async def test_request_id_returns_the_first_account_and_rejects_another_request(
        self, account_service, owner
    ):
        request_id = uuid.uuid4()
        new = NewAccount("Cash", AccountType.ASSET, "EUR")
        first = await account_service.create(owner, new, caller=Caller(ANONYMOUS, request_id))
        assert (
            await account_service.create(owner, new, caller=Caller(ANONYMOUS, request_id)) == first
        )
        with pytest.raises(InvalidArgument):
            await account_service.create(
                owner,
                NewAccount("Other", AccountType.ASSET, "EUR"),
                caller=Caller(ANONYMOUS, request_id),
            )

    async def test_same_request_id_is_independent_per_user(
        self, account_service, user_service, owner
    ):
        other = UserKey((await user_service.create(NewUser("Other", ""), caller=CALLER)).user_id)
        request_id = uuid.uuid4()
        new = NewAccount("Cash", AccountType.ASSET, "EUR")
        mine = await account_service.create(owner, new, caller=Caller(ANONYMOUS, request_id))
        theirs = await account_service.create(other, new, caller=Caller(ANONYMOUS, request_id))
        assert mine.key != theirs.key

    async def test_lists_with_filter_order_and_cursor(self, account_service, owner):
        for name in ("b", "a", "c"):
            await account_service.create(
                owner, NewAccount(name, AccountType.EXPENSE, "USD"), caller=CALLER
            )
        query = ListQuery(
            page_size=2,
            filter=parse_filter("type = TYPE_EXPENSE"),
            order_by=(OrderKey("display_name", descending=True),),
        )
        first = await account_service.list(owner, query, caller=CALLER)
        assert [a.display_name for a in first.items] == ["c", "b"]
        assert first.next_cursor is not None
        rest = await account_service.list(
            owner,
            ListQuery(
                page_size=2, filter=query.filter, order_by=query.order_by, after=first.next_cursor
            ),
            caller=CALLER,
        )
        assert [a.display_name for a in rest.items] == ["a"]
        assert rest.next_cursor is None

    async def test_credit_limit_must_be_in_the_account_currency(self, account_service, owner):
        account = await account_service.create(
            owner, NewAccount("Card", AccountType.LIABILITY, "EUR"), caller=CALLER
        )
        changes = AccountChanges(change_credit_limit=True, credit_limit=Money(100, "USD"))
        with pytest.raises(InvalidArgument):
            await account_service.update(
                account.key, changes, expected_revision=None, caller=CALLER
            )
        updated = await account_service.update(
            account.key,
            AccountChanges(change_credit_limit=True, credit_limit=Money(100, "EUR")),
            expected_revision=None,
            caller=CALLER,
        )
        assert updated.credit_limit == 100

    async def test_refuses_to_delete_an_account_with_money(self, account_service, owner):
        account = await account_service.create(
            owner,
            NewAccount("Savings", AccountType.ASSET, "EUR", opening_balance=1),
            caller=CALLER,
        )
        with pytest.raises(FailedPrecondition):
            await account_service.delete(account.key, expected_revision=None, caller=CALLER)
        assert await account_service.get(account.key, caller=CALLER) == account

    async def test_missing_account_is_not_found(self, account_service, owner):
        with pytest.raises(NotFound):
            await account_service.get(AccountKey(owner.user_id, "missing"), caller=CALLER)

    async def test_opening_balance_is_booked_on_the_books_current_day(self, account_service, owner):
        account = await account_service.create(
            owner,
            NewAccount("Wallet", AccountType.ASSET, "EUR", opening_balance=700),
            caller=CALLER,
        )
        _, before = await account_service.balance(
            account.key, DAY - timedelta(days=1), caller=CALLER
        )
        day, on_the_day = await account_service.balance(account.key, None, caller=CALLER)
        assert (before.amount, day, on_the_day.amount) == (0, DAY, 700)
