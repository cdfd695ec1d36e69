"""Payees: who a user's money is paid to or received from."""

import uuid

import asyncpg

from service.domain.errors import FailedPrecondition, NotFound, PreconditionViolation
from service.domain.listing import ListQuery, OrderKey, Page
from service.domain.models import UserKey
from service.domain.payees import NewPayee, Payee, PayeeChanges, PayeeKey
from service.repositories.base import BaseRepository, fingerprint
from service.repositories.querying import Field, Kind, Listing

_COLUMNS = "user_id, payee_id, display_name, revision, create_time, update_time"

_INSERT = f"""
INSERT INTO payees (user_id, display_name, create_request_id, create_request_hash)
VALUES ($1, $2, $3, $4)
ON CONFLICT (user_id, create_request_id) DO NOTHING
RETURNING {_COLUMNS}
"""

_BY_REQUEST_ID = (
    f"SELECT {_COLUMNS}, create_request_hash FROM payees"
    " WHERE user_id = $1 AND create_request_id = $2"
)

_LISTING = Listing(
    fields={
        "display_name": Field("display_name", Kind.TEXT),
        "create_time": Field("create_time", Kind.TIMESTAMP),
        "update_time": Field("update_time", Kind.TIMESTAMP),
    },
    id_column="payee_id",
    default_order=(OrderKey("create_time"),),
)


class PayeeRepository(BaseRepository[Payee]):
    """Reads and writes payees."""

    table = "payees"
    columns = _COLUMNS
    key_columns = ("user_id", "payee_id")
    resource_type = "Payee"
    listing = _LISTING

    def _from_row(self, row: asyncpg.Record) -> Payee:
        return Payee(
            user_id=row["user_id"],
            payee_id=row["payee_id"],
            display_name=row["display_name"],
            revision=row["revision"],
            create_time=row["create_time"],
            update_time=row["update_time"],
        )

    def _name(self, key: tuple[str, ...]) -> str:
        return f"users/{key[0]}/payees/{key[1]}"

    async def create(
        self, owner: UserKey, new: NewPayee, *, request_id: uuid.UUID | None = None
    ) -> Payee:
        """Create a payee; with a `request_id`, a retry returns the payee first created.
        Raises NotFound if the owner does not exist."""
        request_hash = fingerprint(owner, new)
        async with self._db.connection() as connection:
            try:
                row = await connection.fetchrow(
                    _INSERT, owner.user_id, new.display_name, request_id, request_hash
                )
            except asyncpg.ForeignKeyViolationError:
                raise NotFound("User", f"users/{owner.user_id}") from None
            return await self._created(
                connection, row, _BY_REQUEST_ID, (owner.user_id, request_id), request_hash
            )

    async def get(self, key: PayeeKey) -> Payee:
        """The payee of `key`. Raises NotFound."""
        async with self._db.connection() as connection:
            return await self._get(connection, (key.user_id, key.payee_id))

    async def list(self, owner: UserKey, query: ListQuery) -> Page[Payee]:
        """One page of the owner's payees. Raises NotFound if the owner does not exist."""
        return await self._list_owned(owner.user_id, query)

    async def update(
        self, key: PayeeKey, changes: PayeeChanges, *, expected_revision: int | None = None
    ) -> Payee:
        """Apply `changes` to a payee. Raises NotFound, or EtagMismatch if its revision is not
        `expected_revision`."""
        assignments: dict[str, object] = {}
        if changes.display_name is not None:
            assignments["display_name"] = changes.display_name
        async with self._db.transaction() as connection:
            return await self._update(
                connection, (key.user_id, key.payee_id), assignments, expected_revision
            )

    async def delete(self, key: PayeeKey, *, expected_revision: int | None = None) -> None:
        """Delete a payee no transaction refers to. Raises NotFound, EtagMismatch or
        FailedPrecondition."""
        async with self._db.transaction() as connection:
            await self._lock_checked(connection, (key.user_id, key.payee_id), expected_revision)
            try:
                await self._delete(connection, (key.user_id, key.payee_id))
            except asyncpg.ForeignKeyViolationError:
                raise FailedPrecondition(
                    PreconditionViolation(
                        "PAYEE_IN_USE",
                        self._name((key.user_id, key.payee_id)),
                        "transactions refer to the payee; change their payee first",
                    )
                ) from None
