"""Accounts: where a user's money is held, owed, earned or spent."""

import uuid

import asyncpg

from service.domain.audit import SYSTEM_CALLER, Caller
from service.domain.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PreconditionViolation,
)
from service.domain.listing import ListQuery, OrderKey, Page
from service.domain.models import (
    Account,
    AccountChanges,
    AccountKey,
    AccountState,
    AccountType,
    NewAccount,
    UserKey,
    account_record,
)
from service.domain.movements import opening_balance_draft, today
from service.repositories.audit import record_event
from service.repositories.base import BaseRepository, fingerprint, maybe
from service.repositories.ledger_writes import record_transaction
from service.repositories.querying import Field, Kind, Listing

_COLUMNS = (
    "user_id, account_id, display_name, type, currency_code, balance, opening_balance,"
    " credit_limit, state, revision, create_time, update_time, pending_balance, system_role"
)

_INSERT = f"""
INSERT INTO accounts (user_id, display_name, type, currency_code, balance, opening_balance,
                      credit_limit, create_request_id, create_request_hash)
VALUES ($1, $2, $3, $4, 0, $5, $6, $7, $8)
ON CONFLICT (user_id, create_request_id) DO NOTHING
RETURNING {_COLUMNS}
"""

_BY_REQUEST_ID = (
    f"SELECT {_COLUMNS}, create_request_hash FROM accounts"
    " WHERE user_id = $1 AND create_request_id = $2"
)

_LISTING = Listing(
    fields={
        "display_name": Field("display_name", Kind.TEXT),
        "currency_code": Field("currency_code", Kind.TEXT),
        "type": Field("type", Kind.ENUM, {f"TYPE_{t.name}": t.value for t in AccountType}),
        "state": Field("state", Kind.ENUM, {f"STATE_{s.name}": s.value for s in AccountState}),
        "create_time": Field("create_time", Kind.TIMESTAMP),
        "update_time": Field("update_time", Kind.TIMESTAMP),
    },
    id_column="account_id",
    default_order=(OrderKey("create_time"),),
)


class AccountRepository(BaseRepository[Account]):
    """Reads and writes accounts."""

    table = "accounts"
    columns = _COLUMNS
    key_columns = ("user_id", "account_id")
    resource_type = "Account"
    listing = _LISTING

    def _from_row(self, row: asyncpg.Record) -> Account:
        return Account(
            user_id=row["user_id"],
            account_id=row["account_id"],
            display_name=row["display_name"],
            type=AccountType(row["type"]),
            currency_code=row["currency_code"],
            balance=row["balance"],
            opening_balance=row["opening_balance"],
            credit_limit=row["credit_limit"],
            state=AccountState(row["state"]),
            revision=row["revision"],
            create_time=row["create_time"],
            update_time=row["update_time"],
            pending_balance=row["pending_balance"],
            system_managed=row["system_role"] is not None,
        )

    def _name(self, key: tuple[str, ...]) -> str:
        return f"users/{key[0]}/accounts/{key[1]}"

    async def create(
        self,
        owner: UserKey,
        new: NewAccount,
        *,
        request_id: uuid.UUID | None = None,
        caller: Caller = SYSTEM_CALLER,
    ) -> Account:
        """Create an account; a non-zero opening balance is posted against the user's opening
        balances account in the same transaction. With a `request_id`, a retry returns the
        account first created. Raises NotFound if the owner does not exist, FailedPrecondition
        if the opening balance is past the credit limit."""
        request_hash = fingerprint(owner, new)
        async with self._db.transaction() as connection:
            try:
                row = await connection.fetchrow(
                    _INSERT,
                    owner.user_id,
                    new.display_name,
                    new.type.value,
                    new.currency_code,
                    new.opening_balance,
                    new.credit_limit,
                    request_id,
                    request_hash,
                )
            except asyncpg.ForeignKeyViolationError:
                raise NotFound("User", f"users/{owner.user_id}") from None
            if row is None:
                return await self._created(
                    connection, row, _BY_REQUEST_ID, (owner.user_id, request_id), request_hash
                )
            account = self._from_row(row)
            if new.opening_balance:
                await record_transaction(
                    connection,
                    owner.user_id,
                    str(uuid.uuid4()),
                    opening_balance_draft(account.account_id, new, today()),
                    caller,
                )
                account = await self._get(connection, (owner.user_id, account.account_id))
            await _audit(connection, "create", caller, before=None, after=account)
            return account

    async def get(self, key: AccountKey) -> Account:
        """The account of `key`. Raises NotFound."""
        async with self._db.connection() as connection:
            return await self._get(connection, (key.user_id, key.account_id))

    async def list(self, owner: UserKey, query: ListQuery) -> Page[Account]:
        """One page of the owner's accounts. Raises NotFound if the owner does not exist."""
        return await self._list_owned(owner.user_id, query)

    async def update(
        self,
        key: AccountKey,
        changes: AccountChanges,
        *,
        expected_revision: int | None = None,
        caller: Caller = SYSTEM_CALLER,
    ) -> Account:
        """Apply `changes` to an account, recording it in the audit trail. Raises NotFound, or
        EtagMismatch if its revision is not `expected_revision`."""
        assignments: dict[str, object] = {}
        if changes.display_name is not None:
            assignments["display_name"] = changes.display_name
        if changes.change_credit_limit:
            assignments["credit_limit"] = maybe(changes.credit_limit, lambda m: m.amount)
        async with self._db.transaction() as connection:
            account = await self._lock_checked(
                connection, (key.user_id, key.account_id), expected_revision
            )
            limit = changes.credit_limit
            if limit is not None and limit.currency_code != account.currency_code:
                raise InvalidArgument.single(
                    "account.credit_limit.currency_code",
                    f"must be the account's currency {account.currency_code}",
                )
            updated = await self._update(
                connection, (key.user_id, key.account_id), assignments, None
            )
            await _audit(connection, "update", caller, before=account, after=updated)
            return updated

    async def set_state(
        self,
        key: AccountKey,
        state: AccountState,
        *,
        expected_revision: int | None = None,
        caller: Caller = SYSTEM_CALLER,
    ) -> Account:
        """Archive or reactivate an account; a no-op if it is in `state` already."""
        async with self._db.transaction() as connection:
            account = await self._lock_checked(
                connection, (key.user_id, key.account_id), expected_revision
            )
            if account.state is state:
                return account
            changed = await self._update(
                connection, (key.user_id, key.account_id), {"state": state.value}, None
            )
            action = "archive" if state is AccountState.ARCHIVED else "unarchive"
            await _audit(connection, action, caller, before=account, after=changed)
            return changed

    async def delete(
        self,
        key: AccountKey,
        *,
        expected_revision: int | None = None,
        caller: Caller = SYSTEM_CALLER,
    ) -> None:
        """Delete an account with a zero balance that nothing refers to. Raises NotFound,
        EtagMismatch or FailedPrecondition."""
        name = self._name((key.user_id, key.account_id))
        async with self._db.transaction() as connection:
            account = await self._lock_checked(
                connection, (key.user_id, key.account_id), expected_revision
            )
            if account.balance != 0:
                raise FailedPrecondition(
                    PreconditionViolation(
                        "ACCOUNT_BALANCE_NOT_ZERO",
                        name,
                        "the account's balance is not zero; archive it instead",
                    )
                )
            try:
                await self._delete(connection, (key.user_id, key.account_id))
            except asyncpg.ForeignKeyViolationError:
                raise FailedPrecondition(
                    PreconditionViolation(
                        "ACCOUNT_IN_USE",
                        name,
                        "other records refer to the account; archive it instead",
                    )
                ) from None
            await _audit(connection, "delete", caller, before=account, after=None)


async def _audit(
    connection: asyncpg.Connection,
    action: str,
    caller: Caller,
    *,
    before: Account | None,
    after: Account | None,
) -> None:
    subject = after or before
    assert subject is not None
    await record_event(
        connection,
        user_id=subject.user_id,
        resource_name=f"users/{subject.user_id}/accounts/{subject.account_id}",
        action=action,
        caller=caller,
        before=None if before is None else account_record(before),
        after=None if after is None else account_record(after),
    )
