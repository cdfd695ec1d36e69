"""Users: the tenants every other record belongs to."""

import uuid

import asyncpg

from service.domain.errors import (
    AlreadyExists,
    FailedPrecondition,
    PreconditionViolation,
)
from service.domain.listing import ListQuery, OrderKey, Page
from service.domain.models import NewUser, User, UserChanges, UserKey
from service.repositories.base import BaseRepository, fingerprint
from service.repositories.querying import Field, Kind, Listing

_COLUMNS = "user_id, display_name, email, revision, create_time, update_time"

_INSERT = f"""
INSERT INTO users (user_id, display_name, email, create_request_id, create_request_hash)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (create_request_id) DO NOTHING
RETURNING {_COLUMNS}
"""

_BY_REQUEST_ID = f"SELECT {_COLUMNS}, create_request_hash FROM users WHERE create_request_id = $1"

_HAS_ACCOUNTS = "SELECT EXISTS (SELECT 1 FROM accounts WHERE user_id = $1)"

_LISTING = Listing(
    fields={
        "display_name": Field("display_name", Kind.TEXT),
        "email": Field("email", Kind.TEXT),
        "create_time": Field("create_time", Kind.TIMESTAMP),
        "update_time": Field("update_time", Kind.TIMESTAMP),
    },
    id_column="user_id",
    default_order=(OrderKey("create_time"),),
)


class UserRepository(BaseRepository[User]):
    """Reads and writes users."""

    table = "users"
    columns = _COLUMNS
    key_columns = ("user_id",)
    resource_type = "User"
    listing = _LISTING

    def _from_row(self, row: asyncpg.Record) -> User:
        return User(
            user_id=row["user_id"],
            display_name=row["display_name"],
            email=row["email"],
            revision=row["revision"],
            create_time=row["create_time"],
            update_time=row["update_time"],
        )

    def _name(self, key: tuple[str, ...]) -> str:
        return f"users/{key[0]}"

    async def create(self, new: NewUser, *, request_id: uuid.UUID | None = None) -> User:
        """Create a user; with a `request_id`, a retry returns the user first created.

        Raises AlreadyExists if the user id is taken.
        """
        user_id = new.user_id or str(uuid.uuid4())
        request_hash = fingerprint(new)
        async with self._db.connection() as connection:
            try:
                row = await connection.fetchrow(
                    _INSERT, user_id, new.display_name, new.email, request_id, request_hash
                )
            except asyncpg.UniqueViolationError:
                raise AlreadyExists(self.resource_type, f"users/{user_id}") from None
            return await self._created(connection, row, _BY_REQUEST_ID, (request_id,), request_hash)

    async def get(self, key: UserKey) -> User:
        """The user of `key`. Raises NotFound."""
        async with self._db.connection() as connection:
            return await self._get(connection, (key.user_id,))

    async def list(self, query: ListQuery) -> Page[User]:
        """One page of users."""
        async with self._db.connection() as connection:
            return await self._list(connection, query, {})

    async def update(
        self, key: UserKey, changes: UserChanges, *, expected_revision: int | None = None
    ) -> User:
        """Apply `changes` to a user. Raises NotFound, or EtagMismatch if its revision is not
        `expected_revision`."""
        assignments = {
            column: value
            for column, value in (("display_name", changes.display_name), ("email", changes.email))
            if value is not None
        }
        async with self._db.transaction() as connection:
            return await self._update(connection, (key.user_id,), assignments, expected_revision)

    async def delete(self, key: UserKey, *, expected_revision: int | None = None) -> None:
        """Delete a user that owns no accounts. Raises NotFound, EtagMismatch or
        FailedPrecondition."""
        async with self._db.transaction() as connection:
            await self._lock_checked(connection, (key.user_id,), expected_revision)
            if await connection.fetchval(_HAS_ACCOUNTS, key.user_id):
                raise FailedPrecondition(
                    PreconditionViolation(
                        type="USER_HAS_ACCOUNTS",
                        subject=f"users/{key.user_id}",
                        description="the user still owns accounts; delete them first",
                    )
                )
            await self._delete(connection, (key.user_id,))
