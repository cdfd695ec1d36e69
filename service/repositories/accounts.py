"""Accounts: where a user's money is held, owed, earned or spent, with their running balances."""

from collections.abc import Mapping
from datetime import date

import asyncpg

from service.domain.filter_syntax import Comparison
from service.domain.keys import AccountKey, UserKey
from service.domain.ledger import SYSTEM_ACCOUNTS, SystemRole
from service.domain.ledger_rules import BalanceChange, LedgerAccount
from service.domain.listing import ListQuery, OrderKey, Page
from service.domain.models import Account, AccountState, AccountType, NewAccount
from service.repositories.querying import AddParam, Field, Kind, Listing, invalid_filter
from service.repositories.rows import RowRepository, Table

_COLUMNS = (
    "user_id, account_id, display_name, type, currency_code, balance, opening_balance,"
    " credit_limit, state, revision, create_time, update_time, pending_balance, system_role,"
    " opening_date"
)

_INSERT = f"""
INSERT INTO accounts (user_id, account_id, display_name, type, currency_code, balance,
                      opening_balance, credit_limit, opening_date)
VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $8)
RETURNING {_COLUMNS}
"""

_INSERT_SYSTEM = """
INSERT INTO accounts (user_id, display_name, type, currency_code, balance, system_role,
                      opening_date)
VALUES ($1, $2, $3, $4, 0, $5, $6)
ON CONFLICT (user_id, system_role, currency_code) WHERE system_role IS NOT NULL DO NOTHING
"""

_SYSTEM_ACCOUNT_ID = """
SELECT account_id FROM accounts
WHERE user_id = $1 AND system_role = $2 AND currency_code = $3
"""

# ORDER BY before FOR UPDATE: rows are locked in key order, the same in every transaction.
_LOCK_FOR_LEDGER = """
SELECT account_id, currency_code, state, balance, pending_outgoing, credit_limit, system_role,
       volume
FROM accounts
WHERE user_id = $1 AND account_id = ANY($2::text[])
ORDER BY account_id
FOR UPDATE
"""

_CHANGE_BALANCES = """
UPDATE accounts AS a
SET balance = a.balance + d.posted,
    pending_balance = a.pending_balance + d.pending,
    pending_outgoing = a.pending_outgoing + d.outgoing,
    volume = a.volume + d.volume,
    revision = nextval('revisions'),
    update_time = clock_timestamp()
FROM unnest($2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::numeric[])
     AS d(account_id, posted, pending, outgoing, volume)
WHERE a.user_id = $1 AND a.account_id = d.account_id
"""


def _system_managed(c: Comparison, _param: AddParam) -> str:
    """`system_managed = true` (or false): the accounts the service keeps for the user."""
    if c.op not in ("=", "!=") or c.value not in ("true", "false"):
        raise invalid_filter("'system_managed' takes = or != and true or false")
    kept = "system_role IS NOT NULL"
    return kept if (c.value == "true") == (c.op == "=") else f"NOT ({kept})"


def _account(row: asyncpg.Record) -> Account:
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
        opening_date=row["opening_date"],
    )


ACCOUNTS = Table(
    name="accounts",
    columns=_COLUMNS,
    key_columns=("user_id", "account_id"),
    listing=Listing(
        fields={
            "display_name": Field("display_name", Kind.TEXT),
            "currency_code": Field("currency_code", Kind.TEXT),
            "type": Field("type", Kind.ENUM, {f"TYPE_{t.name}": t.value for t in AccountType}),
            "state": Field("state", Kind.ENUM, {f"STATE_{s.name}": s.value for s in AccountState}),
            "create_time": Field("create_time", Kind.TIMESTAMP),
            "update_time": Field("update_time", Kind.TIMESTAMP),
            "system_managed": Field("system_role", Kind.CUSTOM, compile=_system_managed),
        },
        id_column="account_id",
        default_order=(OrderKey("create_time"),),
    ),
    from_row=_account,
)


class AccountRepository(RowRepository[Account, AccountKey]):
    """Reads and writes accounts and their balances."""

    table = ACCOUNTS

    async def insert(self, key: AccountKey, new: NewAccount, *, opening_date: date) -> Account:
        """Insert an account with a zero balance. Raises NotFound for an unknown owner."""
        return await self._insert_owned(
            _INSERT,
            UserKey(key.user_id),
            key.account_id,
            new.display_name,
            new.type.value,
            new.currency_code,
            new.opening_balance,
            new.credit_limit,
            opening_date,
        )

    async def list_owned(self, owner: UserKey, query: ListQuery) -> Page[Account]:
        """One page of the owner's accounts."""
        return await self.list(query, scope={"user_id": owner.user_id})

    async def system_account(
        self, owner: UserKey, role: SystemRole, currency: str, *, day: date
    ) -> str:
        """The id of the owner's account for `role` in `currency`. It exists after the first
        use, so it is looked up first and created (racing creators meeting on the unique
        index) only when missing."""
        args = (owner.user_id, role.value, currency)
        account_id: str | None = await self._connection.fetchval(_SYSTEM_ACCOUNT_ID, *args)
        if account_id is None:
            title, account_type = SYSTEM_ACCOUNTS[role]
            await self._connection.execute(
                _INSERT_SYSTEM,
                owner.user_id,
                f"{title} ({currency})",
                account_type,
                currency,
                role.value,
                day,
            )
            account_id = await self._connection.fetchval(_SYSTEM_ACCOUNT_ID, *args)
        assert account_id is not None
        return account_id

    async def lock_for_ledger(
        self, owner: UserKey, account_ids: set[str]
    ) -> dict[str, LedgerAccount]:
        """Lock the owner's accounts of `account_ids` for this transaction, in key order, and
        return what the ledger's rules need of each (missing ones are left out)."""
        rows = await self._connection.fetch(_LOCK_FOR_LEDGER, owner.user_id, sorted(account_ids))
        return {
            r["account_id"]: LedgerAccount(
                key=AccountKey(owner.user_id, r["account_id"]),
                currency_code=r["currency_code"],
                archived=r["state"] == AccountState.ARCHIVED.value,
                balance=r["balance"],
                pending_outgoing=r["pending_outgoing"],
                credit_limit=r["credit_limit"],
                system_role=None if r["system_role"] is None else SystemRole(r["system_role"]),
                volume=int(r["volume"]),
            )
            for r in rows
        }

    async def change_balances(self, owner: UserKey, changes: Mapping[str, BalanceChange]) -> None:
        """Apply balance changes to locked accounts, in one statement."""
        ids = sorted(changes)
        await self._connection.execute(
            _CHANGE_BALANCES,
            owner.user_id,
            ids,
            [changes[i].posted for i in ids],
            [changes[i].pending for i in ids],
            [changes[i].outgoing for i in ids],
            [changes[i].volume for i in ids],
        )
