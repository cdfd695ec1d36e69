"""Repositories straight against the database, without gRPC in between."""

import uuid

import pytest

from service.domain.errors import (
    AlreadyExists,
    EtagMismatch,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
)
from service.domain.filtering import parse_filter
from service.domain.listing import ListQuery, OrderKey
from service.domain.models import (
    AccountChanges,
    AccountKey,
    AccountState,
    AccountType,
    Money,
    NewAccount,
    NewUser,
    UserChanges,
    UserKey,
)
from service.repositories.accounts import AccountRepository
from service.repositories.users import UserRepository


@pytest.fixture
def user_repo(database):
    return UserRepository(database)


@pytest.fixture
def account_repo(database):
    return AccountRepository(database)


@pytest.fixture
async def owner(user_repo) -> UserKey:
    user = await user_repo.create(NewUser("Owner", "owner@example.org"))
    return UserKey(user.user_id)


class TestUserRepository:
    async def test_round_trips_a_user(self, user_repo):
        user_id = f"repo-{uuid.uuid4().hex[:8]}"
        created = await user_repo.create(NewUser("Repo", "", user_id))
        assert created.user_id == user_id
        assert created.revision > 0
        assert await user_repo.get(UserKey(user_id)) == created

    async def test_taken_id_raises_already_exists(self, user_repo):
        user_id = f"dup-{uuid.uuid4().hex[:8]}"
        await user_repo.create(NewUser("A", "", user_id))
        with pytest.raises(AlreadyExists):
            await user_repo.create(NewUser("B", "", user_id))

    async def test_update_changes_revision_and_checks_it(self, user_repo, owner):
        before = await user_repo.get(owner)
        updated = await user_repo.update(
            owner, UserChanges(email="x@example.org"), expected_revision=before.revision
        )
        assert updated.revision > before.revision
        assert (updated.email, updated.display_name) == ("x@example.org", "Owner")
        with pytest.raises(EtagMismatch):
            await user_repo.update(
                owner, UserChanges(email="y@example.org"), expected_revision=before.revision
            )

    async def test_a_recreated_user_does_not_match_the_old_etag(self, user_repo):
        user_id = f"again-{uuid.uuid4().hex[:8]}"
        first = await user_repo.create(NewUser("First", "", user_id))
        await user_repo.delete(UserKey(user_id), expected_revision=first.revision)
        second = await user_repo.create(NewUser("Second", "", user_id))
        assert second.revision != first.revision
        with pytest.raises(EtagMismatch):
            await user_repo.update(
                UserKey(user_id),
                UserChanges(email="z@example.org"),
                expected_revision=first.revision,
            )

    async def test_delete_missing_user_raises_not_found(self, user_repo):
        with pytest.raises(NotFound):
            await user_repo.delete(UserKey("missing-user"))


class TestAccountRepository:
    async def test_balance_starts_at_the_opening_balance(self, account_repo, owner):
        account = await account_repo.create(
            owner, NewAccount("Cash", AccountType.ASSET, "EUR", opening_balance=-250)
        )
        assert (account.balance, account.opening_balance) == (-250, -250)
        assert account.state is AccountState.ACTIVE

    async def test_request_id_returns_the_first_account_and_rejects_another_request(
        self, account_repo, owner
    ):
        request_id = uuid.uuid4()
        new = NewAccount("Cash", AccountType.ASSET, "EUR")
        first = await account_repo.create(owner, new, request_id=request_id)
        assert await account_repo.create(owner, new, request_id=request_id) == first
        with pytest.raises(InvalidArgument):
            await account_repo.create(
                owner, NewAccount("Other", AccountType.ASSET, "EUR"), request_id=request_id
            )

    async def test_same_request_id_is_independent_per_user(self, account_repo, user_repo, owner):
        other = UserKey((await user_repo.create(NewUser("Other", ""))).user_id)
        request_id = uuid.uuid4()
        new = NewAccount("Cash", AccountType.ASSET, "EUR")
        mine = await account_repo.create(owner, new, request_id=request_id)
        theirs = await account_repo.create(other, new, request_id=request_id)
        assert mine.key != theirs.key

    async def test_lists_with_filter_order_and_cursor(self, account_repo, owner):
        for name in ("b", "a", "c"):
            await account_repo.create(owner, NewAccount(name, AccountType.EXPENSE, "USD"))
        query = ListQuery(
            page_size=2,
            filter=parse_filter("type = TYPE_EXPENSE"),
            order_by=(OrderKey("display_name", descending=True),),
        )
        first = await account_repo.list(owner, query)
        assert [a.display_name for a in first.items] == ["c", "b"]
        assert first.next_cursor is not None
        rest = await account_repo.list(
            owner,
            ListQuery(
                page_size=2, filter=query.filter, order_by=query.order_by, after=first.next_cursor
            ),
        )
        assert [a.display_name for a in rest.items] == ["a"]
        assert rest.next_cursor is None

    async def test_credit_limit_must_be_in_the_account_currency(self, account_repo, owner):
        account = await account_repo.create(owner, NewAccount("Card", AccountType.LIABILITY, "EUR"))
        changes = AccountChanges(change_credit_limit=True, credit_limit=Money(100, "USD"))
        with pytest.raises(InvalidArgument):
            await account_repo.update(account.key, changes)
        updated = await account_repo.update(
            account.key, AccountChanges(change_credit_limit=True, credit_limit=Money(100, "EUR"))
        )
        assert updated.credit_limit == 100

    async def test_refuses_to_delete_an_account_with_money(self, account_repo, owner):
        account = await account_repo.create(
            owner, NewAccount("Savings", AccountType.ASSET, "EUR", opening_balance=1)
        )
        with pytest.raises(FailedPrecondition):
            await account_repo.delete(account.key)
        assert await account_repo.get(account.key) == account

    async def test_missing_account_is_not_found(self, account_repo, owner):
        with pytest.raises(NotFound):
            await account_repo.get(AccountKey(owner.user_id, "missing"))
