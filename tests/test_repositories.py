"""Repositories on one connection, each test inside a transaction rolled back at its end."""

import uuid
from collections.abc import AsyncIterator
from datetime import date

import pytest

from service.db.unit_of_work import Work
from service.domain.access import ANONYMOUS
from service.domain.audit import Caller
from service.domain.categories import CategoryKind, NewCategory
from service.domain.errors import NotFound
from service.domain.keys import AccountKey, CategoryKey, PayeeKey, UserKey
from service.domain.ledger import SystemRole
from service.domain.ledger_rules import BalanceChange
from service.domain.listing import ListQuery, OrderKey
from service.domain.models import AccountType, NewAccount, NewUser
from service.domain.payees import NewPayee


@pytest.fixture
async def work(database) -> AsyncIterator[Work]:
    """Repositories on a connection whose transaction is rolled back after the test."""
    async with database.connection() as connection:
        transaction = connection.transaction()
        await transaction.start()
        try:
            yield Work(connection, Caller(ANONYMOUS))
        finally:
            await transaction.rollback()


@pytest.fixture
async def owner(work) -> UserKey:
    key = UserKey(f"repo-{uuid.uuid4().hex[:8]}")
    await work.users.insert(
        key, NewUser("Owner", ""), request_id=None, request_hash=b"", created_by="test"
    )
    return key


async def _account(work: Work, owner: UserKey, name: str = "Cash") -> AccountKey:
    key = AccountKey(owner.user_id, str(uuid.uuid4()))
    new = NewAccount(name, AccountType.ASSET, "EUR")
    account = await work.accounts.insert(key, new, opening_date=date(2024, 1, 1))
    return account.key


class TestRows:
    async def test_update_gives_a_new_revision(self, work, owner):
        before = await work.users.get(owner)
        after = await work.users.update(owner, {"email": "a@example.org"})
        assert after.revision > before.revision
        assert after.email == "a@example.org"

    async def test_missing_rows_are_not_found_by_their_key(self, work, owner):
        missing = AccountKey(owner.user_id, "missing")
        for call in (work.accounts.get(missing), work.accounts.update(missing, {})):
            with pytest.raises(NotFound) as caught:
                await call
            assert caught.value.key == missing

    async def test_another_users_row_is_not_found_under_ones_own_key(self, work, owner):
        other = UserKey(f"other-{uuid.uuid4().hex[:8]}")
        await work.users.insert(
            other, NewUser("Other", ""), request_id=None, request_hash=b"", created_by="test"
        )
        theirs = await _account(work, other)
        with pytest.raises(NotFound):
            await work.accounts.get(AccountKey(owner.user_id, theirs.account_id))

    async def test_delete_reports_a_row_still_referred_to(self, work, owner):
        await _account(work, owner)
        assert await work.users.delete(owner) is False

    async def test_pages_follow_the_cursor(self, work, owner):
        for name in ("b", "a", "c"):
            await _account(work, owner, name)
        order = (OrderKey("display_name"),)
        first = await work.accounts.list_owned(owner, ListQuery(page_size=2, order_by=order))
        assert [a.display_name for a in first.items] == ["a", "b"]
        rest = await work.accounts.list_owned(
            owner, ListQuery(page_size=2, order_by=order, after=first.next_cursor)
        )
        assert [a.display_name for a in rest.items] == ["c"]
        assert rest.next_cursor is None


class TestLedgerAccounts:
    async def test_system_account_is_created_once_per_role_and_currency(self, work, owner):
        day = date(2024, 1, 1)
        first = await work.accounts.system_account(owner, SystemRole.EXPENSE, "EUR", day=day)
        again = await work.accounts.system_account(owner, SystemRole.EXPENSE, "EUR", day=day)
        other = await work.accounts.system_account(owner, SystemRole.EXPENSE, "USD", day=day)
        assert first == again != other

    async def test_lock_for_ledger_leaves_out_other_users_accounts(self, work, owner):
        mine = await _account(work, owner)
        other = UserKey(f"other-{uuid.uuid4().hex[:8]}")
        await work.users.insert(
            other, NewUser("Other", ""), request_id=None, request_hash=b"", created_by="test"
        )
        theirs = await _account(work, other)
        locked = await work.accounts.lock_for_ledger(owner, {mine.account_id, theirs.account_id})
        assert set(locked) == {mine.account_id}

    async def test_balance_changes_apply_to_each_figure(self, work, owner):
        key = await _account(work, owner)
        change = BalanceChange(posted=5, pending=-3, outgoing=-3)
        await work.accounts.change_balances(owner, {key.account_id: change})
        account = await work.accounts.get(key)
        assert (account.balance, account.pending_balance) == (5, -3)
        assert (await work.accounts.lock_for_ledger(owner, {key.account_id}))[
            key.account_id
        ].pending_outgoing == -3


class TestReferences:
    async def test_kinds_leave_out_unknown_and_other_users_categories(self, work, owner):
        mine = await work.categories.insert(
            CategoryKey(owner.user_id, "food"), NewCategory("Food", CategoryKind.EXPENSE)
        )
        other = UserKey(f"other-{uuid.uuid4().hex[:8]}")
        await work.users.insert(
            other, NewUser("Other", ""), request_id=None, request_hash=b"", created_by="test"
        )
        await work.categories.insert(
            CategoryKey(other.user_id, "pay"), NewCategory("Pay", CategoryKind.INCOME)
        )
        kinds = await work.categories.kinds(owner, ["food", None, "pay", "nope", "food"])
        assert kinds == {mine.category_id: CategoryKind.EXPENSE}

    async def test_payee_exists_only_for_its_owner(self, work, owner):
        payee = await work.payees.insert(PayeeKey(owner.user_id, "shop"), NewPayee("Shop"))
        assert await work.payees.exists(payee.key)
        assert not await work.payees.exists(PayeeKey("someone-else", payee.payee_id))
