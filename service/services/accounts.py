"""Accounts: opening (with an opening balance booked in the ledger), reading, changing,
archiving and deleting them, and their balances over time."""

import uuid
from datetime import date

from service.db.unit_of_work import UnitOfWork, Work
from service.domain import catalog_rules
from service.domain.audit import Caller
from service.domain.clock import Today
from service.domain.keys import AccountKey, TransactionKey, UserKey, owner_of
from service.domain.listing import ListQuery, Page
from service.domain.models import (
    Account,
    AccountChanges,
    AccountState,
    Money,
    NewAccount,
)
from service.domain.movements import opening_balance_draft
from service.domain.periods import period_ends
from service.domain.revisions import check_revision
from service.services.bookkeeping import record_transaction
from service.services.owners import owned_page

# An account's balance at the end of each day (or month) of a range.
BalanceHistory = list[tuple[date, Money]]


class AccountService:
    """Use cases of accounts; `today` is the books' current day."""

    def __init__(self, uow: UnitOfWork, *, today: Today) -> None:
        self._uow = uow
        self._today = today

    async def create(self, owner: UserKey, new: NewAccount, *, caller: Caller) -> Account:
        """Open an account; a non-zero opening balance is booked on its opening date (today by
        default) against the owner's opening balances account, in the same unit of work. A
        retry with the same request_id returns the account first created. Raises NotFound for
        an unknown owner, FailedPrecondition if the opening balance is past the credit limit."""
        key = AccountKey(owner.user_id, str(uuid.uuid4()))
        opening_key = TransactionKey(owner.user_id, str(uuid.uuid4()))
        day = new.opening_date or self._today()

        async def work(w: Work) -> Account:
            earlier = await w.claim(owner, "create_account", owner, new, result_id=key.account_id)
            if earlier is not None:
                return await w.accounts.get(AccountKey(owner.user_id, earlier))
            account = await w.accounts.insert(key, new, opening_date=day)
            if new.opening_balance:
                draft = opening_balance_draft(account.account_id, new, day)
                await record_transaction(w, opening_key, draft)
                account = await w.accounts.get(account.key)
            await w.record(account.key, "create", before=None, after=account)
            return account

        return await self._uow.run(work, caller=caller, user=owner)

    async def get(self, key: AccountKey, *, caller: Caller) -> Account:
        """The account of `key`. Raises NotFound."""
        return await self._uow.read(
            lambda w: w.accounts.get(key), caller=caller, user=owner_of(key)
        )

    async def list(self, owner: UserKey, query: ListQuery, *, caller: Caller) -> Page[Account]:
        """One page of the owner's accounts. Raises NotFound for an unknown owner."""

        async def work(w: Work) -> Page[Account]:
            return await owned_page(w, owner, await w.accounts.list_owned(owner, query))

        return await self._uow.read(work, caller=caller, user=owner)

    async def update(
        self,
        key: AccountKey,
        changes: AccountChanges,
        *,
        expected_revision: int | None,
        caller: Caller,
    ) -> Account:
        """Apply `changes`, recording them in the audit trail. Raises NotFound, EtagMismatch,
        or InvalidArgument for a credit limit in another currency."""
        assignments: dict[str, object] = {}
        if changes.display_name is not None:
            assignments["display_name"] = changes.display_name
        if changes.change_credit_limit:
            limit = changes.credit_limit
            assignments["credit_limit"] = None if limit is None else limit.amount

        async def work(w: Work) -> Account:
            account = await w.accounts.get(key, lock=True)
            check_revision(key, account.revision, expected_revision)
            catalog_rules.check_changeable(account)
            catalog_rules.check_credit_limit(account, changes.credit_limit)
            updated = await w.accounts.update(key, assignments)
            await w.record(key, "update", before=account, after=updated)
            return updated

        return await self._uow.run(work, caller=caller, user=owner_of(key))

    async def set_state(
        self,
        key: AccountKey,
        state: AccountState,
        *,
        expected_revision: int | None,
        caller: Caller,
    ) -> Account:
        """Archive or reactivate an account; nothing changes if it is in `state` already."""

        async def work(w: Work) -> Account:
            account = await w.accounts.get(key, lock=True)
            check_revision(key, account.revision, expected_revision)
            catalog_rules.check_changeable(account)
            if account.state is state:
                return account
            changed = await w.accounts.update(key, {"state": state.value})
            action = "archive" if state is AccountState.ARCHIVED else "unarchive"
            await w.record(key, action, before=account, after=changed)
            return changed

        return await self._uow.run(work, caller=caller, user=owner_of(key))

    async def delete(
        self, key: AccountKey, *, expected_revision: int | None, caller: Caller
    ) -> None:
        """Delete an account with a zero balance that nothing refers to. Raises NotFound,
        EtagMismatch or FailedPrecondition."""

        async def work(w: Work) -> None:
            account = await w.accounts.get(key, lock=True)
            check_revision(key, account.revision, expected_revision)
            catalog_rules.check_changeable(account)
            catalog_rules.check_account_deletable(account)
            if not await w.accounts.delete(key):
                raise catalog_rules.account_in_use(key)
            await w.record(key, "delete", before=account, after=None)

        await self._uow.run(work, caller=caller, user=owner_of(key))

    async def balance(
        self, key: AccountKey, day: date | None, *, caller: Caller
    ) -> tuple[date, Money]:
        """The account's balance at the end of `day` (today by default). Raises NotFound."""
        as_of = day or self._today()
        return as_of, await self._uow.read(
            lambda w: w.balances.as_of(key, as_of), caller=caller, user=owner_of(key)
        )

    async def history(
        self, key: AccountKey, start: date, end: date, *, caller: Caller, monthly: bool
    ) -> "BalanceHistory":
        """The account's balance at the end of each day (or month) from `start` to `end`."""
        days = period_ends(start, end, monthly=monthly)
        return await self._uow.read(
            lambda w: w.balances.history(key, days), caller=caller, user=owner_of(key)
        )
