"""Payees: who a user's money is paid to or received from."""

import asyncpg

from service.domain.keys import PayeeKey, UserKey
from service.domain.listing import ListQuery, OrderKey, Page
from service.domain.payees import NewPayee, Payee
from service.repositories.querying import Field, Kind, Listing
from service.repositories.rows import RowRepository, Table

_COLUMNS = "user_id, payee_id, display_name, revision, create_time, update_time"

_INSERT = f"""
INSERT INTO payees (user_id, payee_id, display_name)
VALUES ($1, $2, $3)
RETURNING {_COLUMNS}
"""

_EXISTS = "SELECT EXISTS (SELECT 1 FROM payees WHERE user_id = $1 AND payee_id = $2)"


def _payee(row: asyncpg.Record) -> Payee:
    return Payee(
        user_id=row["user_id"],
        payee_id=row["payee_id"],
        display_name=row["display_name"],
        revision=row["revision"],
        create_time=row["create_time"],
        update_time=row["update_time"],
    )


PAYEES = Table(
    name="payees",
    columns=_COLUMNS,
    key_columns=("user_id", "payee_id"),
    listing=Listing(
        fields={
            "display_name": Field("display_name", Kind.TEXT),
            "create_time": Field("create_time", Kind.TIMESTAMP),
            "update_time": Field("update_time", Kind.TIMESTAMP),
        },
        id_column="payee_id",
        default_order=(OrderKey("create_time"),),
    ),
    from_row=_payee,
)


class PayeeRepository(RowRepository[Payee, PayeeKey]):
    """Reads and writes payees."""

    table = PAYEES

    async def insert(self, key: PayeeKey, new: NewPayee) -> Payee:
        """Insert a payee. Raises NotFound for an unknown owner."""
        return await self._insert_owned(
            _INSERT, UserKey(key.user_id), key.payee_id, new.display_name
        )

    async def list_owned(self, owner: UserKey, query: ListQuery) -> Page[Payee]:
        """One page of the owner's payees."""
        return await self.list(query, scope={"user_id": owner.user_id})

    async def exists(self, key: PayeeKey) -> bool:
        """Whether the payee exists."""
        found: bool = await self._connection.fetchval(_EXISTS, key.user_id, key.payee_id)
        return found
